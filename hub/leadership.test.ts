import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import pino from 'pino';
import { waitFor } from '../test/support/http-target';
import { Leadership, type LeaseTiming } from './leadership';
import { Lease } from './queue/lease';
import { connectorLeaseKey } from './queue/queue-keys';
import { ensureRedis, type RedisHandle } from './queue/redis-server';

const TIMING: LeaseTiming = { ttlMs: 1000, renewEveryMs: 200, retryEveryMs: 100 };
const logger = pino({ level: 'silent' });

let handle: RedisHandle;
let redis: Redis;
const ended: Leadership[] = [];

beforeAll(async () => {
  handle = await ensureRedis({ dataDir: mkdtempSync(join(tmpdir(), 'handover-leadership-')) });
  redis = new Redis(handle.url);
});

afterEach(async () => {
  await Promise.all(ended.splice(0).map((leadership) => leadership.end()));
});

afterAll(async () => {
  redis?.disconnect();
  await handle?.stop();
});

/** An inbound side that records whether it runs. */
function inboundSide() {
  const side = { running: false, starts: 0, start: async () => {}, stop: async () => {} };
  side.start = async () => {
    side.running = true;
    side.starts += 1;
  };
  side.stop = async () => {
    side.running = false;
  };
  return side;
}

function contender(key: string, holder: string, client: Redis = redis) {
  const side = inboundSide();
  const leadership = new Leadership(new Lease(client, key, holder, TIMING.ttlMs), side, logger, TIMING);
  ended.push(leadership);
  return { side, leadership };
}

test('one of two contenders runs the inbound side; a clean stop hands it to the other at once', async () => {
  const key = connectorLeaseKey(`hand-over-${Date.now()}`);
  const a = contender(key, 'a');
  const b = contender(key, 'b');
  await a.leadership.begin();
  await b.leadership.begin();
  expect([a.leadership.role, b.leadership.role]).toEqual(['leader', 'standby']);
  expect([a.side.running, b.side.running]).toEqual([true, false]);
  expect(await b.leadership.leader()).toBe('a');

  await a.leadership.end();
  expect(a.side.running).toBe(false);
  // Released, not left to expire: the standby takes over on its next try.
  await waitFor(() => b.side.running, TIMING.ttlMs - 100, 'b running');
  expect(await a.leadership.leader()).toBe('b');
});

test('a leader whose lease was taken stops its inbound side at the next renewal', async () => {
  const key = connectorLeaseKey(`stolen-${Date.now()}`);
  const a = contender(key, 'a');
  await a.leadership.begin();
  expect(a.side.running).toBe(true);
  await redis.set(key, JSON.stringify({ holder: 'intruder', token: 'x' }), 'PX', 60000);
  await waitFor(() => !a.side.running, TIMING.renewEveryMs * 3, 'a stopped');
  expect(a.leadership.role).toBe('standby');
  await redis.del(key);
  await waitFor(() => a.side.running, TIMING.retryEveryMs * 10, 'a leading again');
  expect(a.side.starts).toBe(2);
});

test('a leader that cannot reach Redis stops its inbound side before the lease could expire', async () => {
  const key = connectorLeaseKey(`unreachable-${Date.now()}`);
  const client = new Redis(handle.url, { maxRetriesPerRequest: 1, commandTimeout: TIMING.renewEveryMs });
  const a = contender(key, 'a', client);
  await a.leadership.begin();
  expect(a.side.running).toBe(true);
  const lostAt = Date.now();
  client.disconnect();
  await waitFor(() => !a.side.running, TIMING.ttlMs, 'a stopped');
  expect(Date.now() - lostAt).toBeLessThan(TIMING.ttlMs);
  expect(a.leadership.role).toBe('standby');
});
