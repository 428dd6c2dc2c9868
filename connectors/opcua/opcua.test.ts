/**
 * The OPC UA connector against a real node-opcua server on 127.0.0.1: signal payloads, connection
 * test, writes, and recovery from a server restart, a dropped subscription and a closed session.
 */
// Jest cannot require hexy (ESM-only, pulled in by node-opcua-debug); Node's own require can.

import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { StatusCodes } from 'node-opcua';
import type { ConnectorContext, InboundPayload } from '../types';
import { createOpcuaConnector, opcuaConnector, type OpcuaConfig, type OpcuaConnector, type SignalMessage } from '.';
import { freePort, nodeIdOf, startTestServer, type TestServer } from './test-server';

const dir = mkdtempSync(join(tmpdir(), 'handover-opcua-'));
const payloads: InboundPayload[] = [];
const logs: { msg: string; reason?: string }[] = [];
const context: ConnectorContext = {
  logger: pino({ level: 'info' }, { write: (line: string) => logs.push(JSON.parse(line)) }),
  emit: async (payload) => `${payloads.push(payload)}`,
  dataDir: join(dir, 'data'),
};
const signals = [
  { nodeId: nodeIdOf('Running'), equipmentId: 'FILLER-01', signal: 'running' },
  { nodeId: nodeIdOf('Counter'), equipmentId: 'FILLER-01', signal: 'count' },
  { nodeId: nodeIdOf('FaultCode'), equipmentId: 'FILLER-01', signal: 'faultCode' },
];
const config = (port: number, more: Partial<OpcuaConfig> = {}): OpcuaConfig => ({
  endpointUrl: `opc.tcp://127.0.0.1:${port}`,
  system: 'scada',
  samplingIntervalMs: 50,
  publishingIntervalMs: 100,
  signals,
  writes: [{ nodeId: nodeIdOf('Setpoint'), equipmentId: 'FILLER-01', signal: 'speedSetpoint' }],
  reconnect: { initialDelayMs: 100, maxDelayMs: 1000 },
  ...more,
});

const messages = () => payloads.map((p) => JSON.parse(p.body) as SignalMessage);
const find = (signal: string, value: unknown) => messages().find((m) => m.signal === signal && m.value === value);

async function waitFor<T>(what: string, probe: () => T | undefined | false, timeoutMs = 10000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const result = probe();
    if (result !== undefined && result !== false) return result;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

let port: number;
let server: TestServer;
let connector: OpcuaConnector;

beforeAll(async () => {
  port = await freePort();
  server = await startTestServer(port, join(dir, 'server-pki'));
});

afterAll(async () => {
  await connector?.stop();
  await server?.shutdown();
  rmSync(dir, { recursive: true, force: true });
});

it('defines the opcua kind with a documented schema', () => {
  expect(opcuaConnector.kind).toBe('opcua');
  const properties = Object.entries(opcuaConnector.configSchema.properties as Record<string, object>);
  for (const [name, field] of properties) {
    expect({ name, ...field }).toMatchObject({ name, description: expect.any(String), examples: expect.any(Array) });
  }
});

it('tests the connection by reading the server time, and fails clearly on a wrong port', async () => {
  const ok = await createOpcuaConnector(config(port), context).test();
  expect(ok).toEqual({ ok: true, detail: expect.stringMatching(/connected, server CurrentTime \d{4}-\d\d-\d\dT/) });

  const wrongPort = await freePort();
  const started = Date.now();
  const failed = await createOpcuaConnector(config(wrongPort), context).test();
  expect(failed.ok).toBe(false);
  expect(failed.detail).toContain(`opc.tcp://127.0.0.1:${wrongPort}`);
  expect(failed.detail).toMatch(/ECONNREFUSED|cannot be established/);
  expect(Date.now() - started).toBeLessThan(5000);
});

it('emits every data change as a signal payload with value, quality and timestamps', async () => {
  connector = createOpcuaConnector(config(port), context);
  await connector.start();
  expect(connector.health()).toEqual({ status: 'up', detail: expect.stringContaining('subscribed to 3 signals') });
  expect(readdirSync(join(context.dataDir, 'opcua-pki', 'own', 'certs'))).not.toHaveLength(0);

  server.set('Running', true);
  server.set('Counter', 42);
  server.set('FaultCode', 'E042');
  const running = await waitFor('running=true', () => find('running', true));
  await waitFor('count=42 and faultCode=E042', () => find('count', 42) && find('faultCode', 'E042'));

  expect(running).toEqual({
    kind: 'signal',
    equipmentId: 'FILLER-01',
    signal: 'running',
    nodeId: 'ns=1;s=Line1.Filler.Running',
    value: true,
    quality: 'good',
    statusCode: 'Good',
    sourceTimestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
    serverTimestamp: expect.stringMatching(/Z$/),
  });
  const payload = payloads.find((p) => JSON.parse(p.body).value === true)!;
  expect(payload).toMatchObject({ system: 'scada', contentType: 'json' });
  expect(payload.idempotencyKey).toBe(`ns=1;s=Line1.Filler.Running@${running.sourceTimestamp}`);

  // The server samples: a value replaced before the next sample is never seen, so one at a time.
  server.set('Counter', 43, StatusCodes.UncertainLastUsableValue);
  expect(await waitFor('uncertain 43', () => find('count', 43))).toMatchObject({
    quality: 'uncertain',
    statusCode: 'UncertainLastUsableValue',
  });
  server.set('Counter', 44, StatusCodes.BadSensorFailure);
  expect(await waitFor('bad 44', () => find('count', 44))).toMatchObject({
    quality: 'bad',
    statusCode: 'BadSensorFailure',
  });
});

it('writes listed signals only, with values of the right type', async () => {
  await connector.write('FILLER-01', 'speedSetpoint', 120.5);
  expect(server.value('Setpoint')).toBe(120.5);
  await expect(connector.write('FILLER-01', 'running', true)).rejects.toMatchObject({
    code: 'OPCUA_WRITE_NOT_ALLOWED',
    permanent: true,
    message: expect.stringContaining('FILLER-01/running; allowed: FILLER-01/speedSetpoint'),
  });
  await expect(connector.write('FILLER-01', 'speedSetpoint', 'fast')).rejects.toMatchObject({
    code: 'OPCUA_VALUE_INVALID',
    message: expect.stringContaining('is Double, got "fast"'),
  });
});

it('holds the changes the hub refuses and sends them again, in order, once it takes them', async () => {
  let refusing = true;
  const taken: InboundPayload[] = [];
  const gated = createOpcuaConnector(config(port), {
    ...context,
    emit: async (payload) => {
      if (refusing) throw new Error('Redis did not answer within 1500 ms');
      return `${taken.push(payload)}`;
    },
  });
  await gated.start();
  try {
    // Each value is held for a sample of its own (50 ms) before the next.
    for (let value = 500; value < 510; value += 1) {
      server.set('Counter', value);
      await new Promise((resolve) => setTimeout(resolve, 150));
    }
    expect(gated.health()).toEqual({
      status: 'degraded',
      detail: expect.stringMatching(/^\d+ changes held for the hub, retrying \(Redis did not answer within 1500 ms\)$/),
    });
    refusing = false;
    const counts = () =>
      taken
        .map((p) => JSON.parse(p.body) as SignalMessage)
        .filter((m) => m.signal === 'count' && Number(m.value) >= 500);
    await waitFor('every held count', () => counts().length >= 10);
    expect(counts().map((m) => m.value)).toEqual([500, 501, 502, 503, 504, 505, 506, 507, 508, 509]);
    await waitFor('health up', () => gated.health().status === 'up');
  } finally {
    await gated.stop();
  }
});

it('does not take its own stall for a dead subscription', async () => {
  const before = logs.filter(isResubscribe).length;
  // The process is busy for longer than the silence limit (about 3 s), as in a long ingest batch.
  const until = Date.now() + 4000;
  while (Date.now() < until);
  server.set('Counter', 777);
  await waitFor('count=777', () => find('count', 777));
  await new Promise((resolve) => setTimeout(resolve, 1500));
  expect(logs.filter(isResubscribe).length).toBe(before);
  expect(server.subscriptionCounts()).toEqual([1]);
});

it('reports a configured node the server does not have as degraded', async () => {
  const other = createOpcuaConnector(
    config(port, { signals: [...signals, { nodeId: nodeIdOf('Nope'), equipmentId: 'X', signal: 'y' }] }),
    context,
  );
  await other.start();
  expect(other.health()).toEqual({
    status: 'degraded',
    detail: 'cannot monitor ns=1;s=Line1.Filler.Nope (BadNodeIdUnknown)',
  });
  await other.stop();
  expect(other.health()).toEqual({ status: 'down', detail: 'stopped' });
});

it('re-subscribes by itself after the server restarts on the same port, with one session', async () => {
  await server.shutdown();
  const down = await waitFor('health down', () => connector.health().status === 'down' && connector.health());
  expect(down.detail).toMatch(/connection to opc\.tcp:\/\/127\.0\.0\.1:\d+ lost|unreachable/);
  await expect(connector.write('FILLER-01', 'speedSetpoint', 1)).rejects.toMatchObject({ code: 'OPCUA_NOT_CONNECTED' });

  server = await startTestServer(port, join(dir, 'server-pki'));
  await waitFor('health up', () => connector.health().status === 'up');
  server.set('Counter', 1001);
  await waitFor('count=1001 from the new server', () => find('count', 1001));
  expect(server.sessionCount()).toBe(1);
  expect(server.subscriptionCounts()).toEqual([1]);
});

it('re-creates a subscription the server dropped while the connection stayed up', async () => {
  server.deleteSubscriptions();
  await waitFor('subscription re-created', () => server.subscriptionCounts()[0] === 1 && logs.some(isResubscribe));
  await waitFor('health up', () => connector.health().status === 'up');
  server.set('Counter', 2002);
  await waitFor('count=2002 on the new subscription', () => find('count', 2002));
  expect(server.sessionCount()).toBe(1);
  expect(server.subscriptionCounts()).toEqual([1]);
});

it('opens a new session when the server closed its session', async () => {
  server.closeSessions();
  await waitFor('a new session', () => server.sessionCount() === 1 && server.subscriptionCounts()[0] === 1);
  await waitFor('health up', () => connector.health().status === 'up');
  server.set('Counter', 3003);
  await waitFor('count=3003 on the new session', () => find('count', 3003));
  expect(server.sessionCount()).toBe(1);
});

it('stop() closes the session on the server', async () => {
  await connector.stop();
  expect(connector.health()).toEqual({ status: 'down', detail: 'stopped' });
  await waitFor('no session left', () => server.sessionCount() === 0);
});

it('starts while the server is down, subscribes once it is up, and stops promptly during an outage', async () => {
  const laterPort = await freePort();
  const late = createOpcuaConnector(config(laterPort), context);
  const started = Date.now();
  await late.start();
  expect(Date.now() - started).toBeLessThan(5000);
  expect(late.health()).toEqual({ status: 'down', detail: expect.stringMatching(/cannot connect to .*attempt \d+/) });

  const laterServer = await startTestServer(laterPort, join(dir, 'server-pki'));
  try {
    await waitFor('health up', () => late.health().status === 'up');
    laterServer.set('FaultCode', 'E777');
    await waitFor('faultCode=E777', () => find('faultCode', 'E777'));
    expect(laterServer.sessionCount()).toBe(1);

    await laterServer.shutdown();
    await waitFor('health down', () => late.health().status === 'down');
    const stopping = Date.now();
    await late.stop();
    expect(Date.now() - stopping).toBeLessThan(2000);
  } finally {
    await late.stop();
    await laterServer.shutdown();
  }
});

function isResubscribe(line: { msg: string }): boolean {
  return line.msg === 'opcua: re-creating the subscription';
}
