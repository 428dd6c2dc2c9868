/**
 * The context engine applies one work unit's signals in the order the hub accepted them, also with
 * several worker processes: one `--role api` and two `--role worker` processes on one Redis and one
 * PostgreSQL. The capper stops and runs again many times, each change posted (and answered 202)
 * before the next, as a PLC gateway sends them; every change must be booked — none found late because
 * a later message was applied first — and every stop must be one DowntimeEvent with its own start and
 * end. A kill -9 of the worker that holds the line mid-stream hands the line to the other.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { loadConfigFile } from '../hub/config/load';
import { waitFor } from './support/http-target';
import { repoRoot } from './support/paths';
import { startTopology, type HubProcess, type Topology } from './support/topology';

const TOKENS = { HANDOVER_TOKEN_SCADA: 'scada-token', HANDOVER_TOKEN_MES: 'mes-token' };
/** Stop/run cycles of the capper; each cycle is two posts. */
const CYCLES = 60;
const START = Date.parse('2026-12-01T07:00:00Z');

let topology: Topology;
let api: HubProcess;
let workers: HubProcess[];

beforeAll(async () => {
  topology = await startTopology(TOKENS);
  const seed = loadConfigFile(join(repoRoot, 'seeds', 'packaging-line', 'handover.yaml'));
  const dir = mkdtempSync(join(tmpdir(), 'handover-context-order-'));
  const configFile = join(dir, 'handover.yaml');
  writeFileSync(
    configFile,
    stringify({
      systems: [
        { id: 'mes', name: 'MES', processOwner: 'Production', technicalOwner: 'IT' },
        { id: 'scada', name: 'SCADA', processOwner: 'Production', technicalOwner: 'Automation' },
        { id: 'line-context', name: 'Context engine', processOwner: 'Production', technicalOwner: 'IT' },
      ],
      ownership: {
        DowntimeEvent: { owner: 'line-context' },
        ProductionConfirmation: { owner: 'mes', scopes: [{ equipment: 'CAPPER-01', owner: 'line-context' }] },
        MaintenanceRequest: { owner: 'mes', scopes: [{ equipment: 'CAPPER-01', owner: 'line-context' }] },
      },
      routes: [],
      context: { ...seed.context, maintenanceRules: [] },
    }),
  );
  api = await topology.start('api', configFile);
  workers = await Promise.all([topology.start('worker', configFile), topology.start('worker', configFile)]);
}, 90000);

afterAll(async () => {
  await topology?.close();
}, 30000);

const admin = (path: string) =>
  fetch(`${api.url}${path}`, { headers: { authorization: 'Bearer admin-token' } }).then(async (response) => ({
    status: response.status,
    body: (await response.json()) as Record<string, unknown>,
  }));

/** The capper's state change at `seconds` after START, posted as scada; resolves with the message id. */
async function post(seconds: number, state: number): Promise<string> {
  const response = await fetch(`${api.url}/api/v1/inbound/scada`, {
    method: 'POST',
    headers: { authorization: 'Bearer scada-token', 'content-type': 'application/json' },
    body: JSON.stringify({
      kind: 'signal',
      equipmentId: 'CAPPER-01',
      signal: 'state',
      value: state,
      quality: 'good',
      sourceTimestamp: new Date(START + seconds * 1000).toISOString(),
    }),
  });
  expect(response.status).toBe(202);
  return ((await response.json()) as { messageId: string }).messageId;
}

/** The outcome the engine recorded for a message's one signal, once it is processed. */
async function outcomeOf(messageId: string): Promise<{ code?: string; booked: boolean }> {
  return waitFor(
    async () => {
      const trace = await admin(`/api/v1/messages/${messageId}`);
      if (trace.status !== 200 || trace.body['status'] === 'queued') return undefined;
      // The receipt is a record of its own, or folded into the first decision of what the message made.
      type Receipt = { signals?: { applied: number; outcomes?: { code: string }[] } };
      const audit = trace.body['audit'] as Array<{ kind: string; details?: Receipt & { received?: Receipt } }>;
      const received = audit
        .map((record) => (record.kind === 'received' ? record.details : record.details?.received))
        .find((details) => details?.signals);
      if (!received) return undefined;
      const { applied, outcomes } = received.signals!;
      return { booked: applied === 1, ...(outcomes?.[0] ? { code: outcomes[0].code } : {}) };
    },
    60000,
    `message ${messageId} processed`,
  );
}

it('books every stop of a unit in the order its changes were accepted, across two worker processes and a kill -9', async () => {
  const posted: string[] = [];
  posted.push(await post(0, 6));
  for (let cycle = 0; cycle < CYCLES; cycle += 1) {
    // Half-way, the worker processes are cut down to one: the line's signals go on in order.
    if (cycle === CYCLES / 2) await topology.kill(workers[0]!);
    posted.push(await post(cycle * 600 + 300, 2));
    posted.push(await post(cycle * 600 + 600, 6));
  }
  const outcomes = await Promise.all(posted.map(outcomeOf));
  const late = outcomes.filter((outcome) => outcome.code === 'SIGNAL_LATE').length;
  expect({ late, unbooked: outcomes.filter((outcome) => !outcome.booked).length }).toEqual({ late: 0, unbooked: 0 });
  for (let cycle = 0; cycle < CYCLES; cycle += 1) {
    const start = new Date(START + (cycle * 600 + 300) * 1000);
    const id = `DT-CAPPER-01-${start.toISOString().replace(/[-:]|\.\d+/g, '')}`;
    const stop = await admin(`/api/v1/objects/DowntimeEvent/${id}`);
    const data = stop.body['data'] as { endTime?: string } | undefined;
    expect({ id, status: stop.status, end: data?.endTime }).toEqual({
      id,
      status: 200,
      end: new Date(start.getTime() + 300_000).toISOString(),
    });
  }
}, 240000);
