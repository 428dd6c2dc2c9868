import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { Lease } from './lease';
import { connectorLeaseKey } from './queue-keys';
import { ensureRedis, type RedisHandle } from './redis-server';

let handle: RedisHandle;
let redis: Redis;

beforeAll(async () => {
  handle = await ensureRedis({ dataDir: mkdtempSync(join(tmpdir(), 'handover-lease-')) });
  redis = new Redis(handle.url);
});

afterAll(async () => {
  redis?.disconnect();
  await handle?.stop();
});

const key = (name: string) => connectorLeaseKey(`test-${name}-${Date.now()}`);

test('one holder at a time; only the holder renews or releases', async () => {
  const name = key('one');
  const a = new Lease(redis, name, 'process-a', 5000);
  const b = new Lease(redis, name, 'process-b', 5000);
  expect(await a.acquire()).toBe(true);
  expect(await b.acquire()).toBe(false);
  expect(await b.renew()).toBe(false);
  await b.release();
  expect(await a.currentHolder()).toBe('process-a');
  expect(await a.renew()).toBe(true);
  expect(await redis.pttl(name)).toBeGreaterThan(4000);
  await a.release();
  expect(await b.currentHolder()).toBeUndefined();
  expect(await b.acquire()).toBe(true);
  expect(await b.currentHolder()).toBe('process-b');
});

test('a holding that expired and was taken by another is not renewed or released by the old holder', async () => {
  const name = key('expired');
  const a = new Lease(redis, name, 'process-a', 100);
  const b = new Lease(redis, name, 'process-b', 5000);
  expect(await a.acquire()).toBe(true);
  await new Promise((resolve) => setTimeout(resolve, 200));
  expect(await b.acquire()).toBe(true);
  expect(await a.renew()).toBe(false);
  await a.release();
  expect(await b.currentHolder()).toBe('process-b');
});

test('the same holder name taking the lease again gets a new token: an old holding cannot renew it', async () => {
  const name = key('token');
  const first = new Lease(redis, name, 'process-a', 100);
  expect(await first.acquire()).toBe(true);
  await new Promise((resolve) => setTimeout(resolve, 200));
  const second = new Lease(redis, name, 'process-a', 5000);
  expect(await second.acquire()).toBe(true);
  expect(await first.renew()).toBe(false);
  expect(await second.renew()).toBe(true);
});
