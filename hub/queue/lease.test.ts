import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { Lease, processSpace } from './lease';
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

/** The pid of a process of this host that has exited, and one that is still running. */
async function deadAndLivePids(): Promise<{ dead: number; live: ChildProcess }> {
  const gone = spawn(process.execPath, ['-e', '']);
  await once(gone, 'exit');
  const live = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)']);
  return { dead: gone.pid!, live };
}

test('a holding of a process of this host that no longer exists is taken over at once; a live one is not', async () => {
  const space = processSpace();
  if (space === undefined) throw new Error('needs /proc (Linux) to tell whether a process exists');
  const { dead, live } = await deadAndLivePids();
  try {
    const name = key('dead');
    const held = (pid: number) => JSON.stringify({ holder: `killed-${pid}`, token: 't', space, pid });
    await redis.set(name, held(live.pid!), 'PX', 60000);
    const restarted = new Lease(redis, name, 'restarted', 5000);
    expect(await restarted.acquire()).toBe(false);
    // As after a kill -9: the holder is gone, its lease would block everyone until it expired.
    await redis.set(name, held(dead), 'PX', 60000);
    expect(await restarted.acquire()).toBe(true);
    expect(await restarted.currentHolder()).toBe('restarted');
    expect(await redis.pttl(name)).toBeLessThanOrEqual(5000);
    // Another host's (or PID namespace's) holding is never judged by pids seen here.
    await redis.set(name, JSON.stringify({ holder: 'elsewhere', token: 't', space: `${space}-other`, pid: dead }), 'PX', 60000); // prettier-ignore
    expect(await new Lease(redis, name, 'other', 5000).acquire()).toBe(false);
  } finally {
    live.kill();
  }
});
