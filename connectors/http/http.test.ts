import { getEventListeners, once } from 'node:events';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HttpDeliveryError, httpOutbound } from './outbound';

let seen: Array<{ method: string; headers: IncomingMessage['headers']; body: string }> = [];
let answer = 200;
let delayMs = 0;
const server = createServer((req, res) => {
  let body = '';
  req.on('data', (chunk: Buffer) => (body += chunk.toString()));
  req.on('end', () => {
    seen.push({ method: req.method!, headers: req.headers, body });
    // A delayed answer nobody waits for any more must not hold the test process open.
    setTimeout(() => res.writeHead(answer).end(), delayMs).unref();
  });
});
let url: string;

beforeAll(async () => {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/in`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});
beforeEach(() => {
  seen = [];
  answer = 200;
  delayMs = 0;
});

const document = {
  idempotencyKey: 'm1-0-mes',
  contentType: 'application/json' as const,
  body: '{"a":1}',
  type: 'ProductionOrder',
  metadata: { 'x-handover-message-id': 'm1' },
};
const signal = new AbortController().signal;

describe('http connector', () => {
  it('sends the body with method, headers, metadata, Idempotency-Key and a bearer token from the environment', async () => {
    const connector = httpOutbound(
      {
        url,
        method: 'PUT',
        headers: { 'x-plant': 'PLANT1' },
        auth: { type: 'bearer', tokenEnv: 'MES_TOKEN' },
        timeoutMs: 1000,
      },
      { MES_TOKEN: 's3cret' },
    );
    expect(await connector.send!(document, signal)).toEqual({ status: 200, body: '' });
    expect(seen[0]).toMatchObject({
      method: 'PUT',
      body: '{"a":1}',
      headers: {
        'x-plant': 'PLANT1',
        'idempotency-key': 'm1-0-mes',
        'x-handover-message-id': 'm1',
        authorization: 'Bearer s3cret',
        'content-type': 'application/json',
      },
    });
    expect(connector.health()).toMatchObject({ status: 'up' });
  });

  it('uses basic authentication and refuses to send without its credentials', async () => {
    const connector = httpOutbound(
      {
        url,
        method: 'POST',
        headers: {},
        auth: { type: 'basic', usernameEnv: 'U', passwordEnv: 'P' },
        timeoutMs: 1000,
      },
      { U: 'sap', P: 'pw' },
    );
    await connector.send!(document, signal);
    expect(seen[0]!.headers.authorization).toBe(`Basic ${Buffer.from('sap:pw').toString('base64')}`);
    const missing = httpOutbound(
      {
        url,
        method: 'POST',
        headers: {},
        auth: { type: 'basic', usernameEnv: 'U', passwordEnv: 'P' },
        timeoutMs: 1000,
      },
      {},
    );
    await expect(missing.send!(document, signal)).rejects.toMatchObject({
      permanent: true,
      message: 'U/P are not set',
    });
  });

  it('tells retryable failures from permanent ones', async () => {
    const connector = httpOutbound({ url, method: 'POST', headers: {}, timeoutMs: 200 });
    answer = 503;
    await expect(connector.send!(document, signal)).rejects.toMatchObject({ permanent: false, status: 503 });
    answer = 429;
    await expect(connector.send!(document, signal)).rejects.toMatchObject({ permanent: false, status: 429 });
    answer = 400;
    await expect(connector.send!(document, signal)).rejects.toMatchObject({ permanent: true, status: 400 });
    expect(connector.health()).toMatchObject({ status: 'degraded' });
    answer = 200;
    delayMs = 1000;
    const timeout = connector.send!(document, signal);
    await expect(timeout).rejects.toBeInstanceOf(HttpDeliveryError);
    await expect(timeout).rejects.toMatchObject({ permanent: false, message: expect.stringContaining('TimeoutError') });
  });

  it('leaves nothing on the long-lived shutdown signal after many deliveries, and still stops on it', async () => {
    const shutdown = new AbortController();
    const connector = httpOutbound({ url, method: 'POST', headers: {}, timeoutMs: 1000 });
    for (let n = 0; n < 200; n += 1) await connector.send!(document, shutdown.signal);
    // AbortSignal.any([shutdown, …]) per request adds a dependant Node 20 never drops (nodejs/node#55351).
    expect(dependants(shutdown.signal)).toBe(0);
    expect(getEventListeners(shutdown.signal, 'abort')).toHaveLength(0);
    delayMs = 5000;
    const inFlight = connector.send!(document, shutdown.signal);
    await new Promise((resolve) => setTimeout(resolve, 100));
    shutdown.abort(new Error('hub stopping'));
    await expect(inFlight).rejects.toThrow('hub stopping');
    // Nor does a send start once the hub is stopping (its abort event has fired already).
    const sent = seen.length;
    await expect(connector.send!(document, shutdown.signal)).rejects.toThrow('hub stopping');
    expect(seen.length).toBe(sent);
  });

  it('tests its connection', async () => {
    expect(await httpOutbound({ url, method: 'POST', headers: {}, timeoutMs: 1000 }).test()).toMatchObject({
      ok: true,
    });
    const closed = createServer().listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const refused = await httpOutbound({
      url: `http://127.0.0.1:${port}/x`,
      method: 'POST',
      headers: {},
      timeoutMs: 1000,
    }).test();
    expect(refused).toMatchObject({ ok: false, detail: expect.stringContaining('ECONNREFUSED') });
  });
});

/** How many signals made by AbortSignal.any() Node still keeps for `signal` (its internal set). */
function dependants(signal: AbortSignal): number {
  // Fails loudly where Node keeps them elsewhere, rather than counting nothing and passing.
  const probe = new AbortController().signal;
  AbortSignal.any([probe]);
  const key = Object.getOwnPropertySymbols(probe).find((symbol) => symbol.description === 'kDependantSignals');
  if (key === undefined) throw new Error('this Node keeps AbortSignal.any dependants where the test cannot count them');
  const set = (signal as unknown as Record<symbol, Set<unknown> | undefined>)[key];
  return set?.size ?? 0;
}
