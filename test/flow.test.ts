/**
 * The console's flow figures, from separate processes: an api process takes the posts and a worker
 * process decides and delivers them, yet the api answers for both (GET /api/v1/flow and the
 * server-sent events of GET /api/v1/events), because each process adds its counts to shared buckets
 * in Redis.
 *
 * Why it can fail: figures read from the answering process's own counters would show the posts
 * (counted at the api's door) but no decision or delivery (counted in the worker).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { orderEnvelopeJson, writeOrdersConfig } from './support/hub-process';
import { startHttpTarget, waitFor, type HttpTarget } from './support/http-target';
import { startTopology, type HubProcess, type Topology } from './support/topology';

let topology: Topology;
let api: HubProcess;
let target: HttpTarget;

beforeAll(async () => {
  target = await startHttpTarget();
  topology = await startTopology();
  const configFile = writeOrdersConfig(mkdtempSync(join(tmpdir(), 'handover-flow-')), target.url);
  api = await topology.start('api', configFile);
  await topology.start('worker', configFile);
}, 90000);

afterAll(async () => {
  await topology?.close();
  await target?.close();
}, 30000);

const admin = { authorization: 'Bearer admin-token' };
type Bucket = { at: number; counts: Record<string, number> };
const total = (buckets: Bucket[], field: string) =>
  buckets.reduce((sum, bucket) => sum + (bucket.counts[field] ?? 0), 0);

it('shows the posts, the decisions and the deliveries of every process, also as a live stream', async () => {
  // The stream is open before the posts: its later events must carry them.
  const stream = await fetch(`${api.url}/api/v1/events`, { headers: admin });
  expect(stream.status).toBe(200);
  expect(stream.headers.get('content-type')).toMatch(/^text\/event-stream/);
  const events: Bucket[][] = [];
  const reader = stream.body!.getReader();
  const reading = (async () => {
    let text = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      text += Buffer.from(value).toString('utf8');
      for (let end = text.indexOf('\n\n'); end >= 0; end = text.indexOf('\n\n')) {
        const block = text.slice(0, end);
        text = text.slice(end + 2);
        const data = block.split('\n').find((line) => line.startsWith('data: '));
        if (block.startsWith('event: flow') && data)
          events.push((JSON.parse(data.slice(6)) as { buckets: Bucket[] }).buckets);
      }
    }
  })();

  for (let index = 0; index < 20; index += 1) {
    const answer = await fetch(`${api.url}/api/v1/inbound/erp`, {
      method: 'POST',
      headers: { authorization: 'Bearer erp-token', 'content-type': 'application/json' },
      body: orderEnvelopeJson(`PO-FLOW-${index}`),
    });
    expect(answer.status).toBe(202);
  }
  const flow = await waitFor(
    async () => {
      const answer = await fetch(`${api.url}/api/v1/flow?minutes=5`, { headers: admin });
      const body = (await answer.json()) as { bucketSeconds: number; buckets: Bucket[] };
      const { buckets } = body;
      return total(buckets, 'in:erp') === 20 &&
        total(buckets, 'decision:accepted') === 20 &&
        total(buckets, 'out:mes') === 20
        ? body
        : undefined;
    },
    30000,
    'the flow figures of both processes',
  );
  expect(flow.bucketSeconds).toBe(10);
  expect(flow.buckets).toHaveLength(30);

  await waitFor(
    async () => events.some((buckets) => total(buckets, 'decision:accepted') > 0) || undefined,
    15000,
    'a streamed event with the decisions',
  );
  await reader.cancel();
  await reading.catch(() => undefined);
}, 90000);

it('refuses the stream without a token, and to a role that may not see the flow', async () => {
  expect((await fetch(`${api.url}/api/v1/events`)).status).toBe(401);
  expect((await fetch(`${api.url}/api/v1/flow`, { headers: { authorization: 'Bearer erp-token' } })).status).toBe(403);
});

it('ends a stream with a closed event once its user is removed', async () => {
  const json = { ...admin, 'content-type': 'application/json' };
  const added = await fetch(`${api.url}/api/v1/users`, {
    method: 'POST',
    headers: json,
    body: JSON.stringify({ name: 'stream-watcher', role: 'viewer' }),
  });
  expect(added.status).toBe(201);
  const { token } = (await added.json()) as { token: string };
  const stream = await fetch(`${api.url}/api/v1/events`, { headers: { authorization: `Bearer ${token}` } });
  expect(stream.status).toBe(200);
  const reader = stream.body!.getReader();
  let text = '';
  const ended = (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return text;
      text += Buffer.from(value).toString('utf8');
    }
  })();
  await waitFor(async () => text.includes('event: flow') || undefined, 10000, 'the first flow event');
  const removed = await fetch(`${api.url}/api/v1/users/stream-watcher`, { method: 'DELETE', headers: admin });
  expect(removed.status).toBe(204);
  // The next push (every 2 s) finds the token is nobody's and ends the stream.
  const all = await Promise.race([
    ended,
    new Promise<string>((_, reject) => setTimeout(() => reject(new Error('the stream stayed open')), 10000)),
  ]);
  expect(all).toMatch(/event: closed\ndata: {"code":"AUTH_INVALID"}\n\n$/);
}, 30000);
