import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { repoRoot } from '../../test/support/paths';
import { QueueError } from './errors';
import { ensureRedis, type RedisHandle } from './redis-server';

const dirs: string[] = [];
const handles: RedisHandle[] = [];

function dataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'handover redis-'));
  dirs.push(dir);
  return dir;
}

async function ensure(options: Parameters<typeof ensureRedis>[0]): Promise<RedisHandle> {
  const handle = await ensureRedis(options);
  handles.push(handle);
  return handle;
}

function instance(dir: string): { pid: number; port: number } {
  return JSON.parse(readFileSync(join(dir, 'redis', 'instance.json'), 'utf8')) as { pid: number; port: number };
}

/** Whether `pid` runs; an exited child not yet reaped (state Z) counts as gone. */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  return !/^\d+ \(.*\) Z/.test(existsSync(`/proc/${pid}/stat`) ? readFileSync(`/proc/${pid}/stat`, 'utf8') : '');
}

async function withRedis<T>(url: string, work: (client: Redis) => Promise<T>): Promise<T> {
  const client = new Redis(url, { maxRetriesPerRequest: 0 });
  try {
    return await work(client);
  } finally {
    client.disconnect();
  }
}

/** A real hub process's server: the hub can then be killed with SIGKILL, leaving its server orphaned. */
async function orphanedServer(dir: string): Promise<{ url: string; hub: ChildProcess }> {
  const hub = spawn(
    process.execPath,
    [
      '--require',
      'tsx/cjs',
      '--eval',
      `require(${JSON.stringify(join(repoRoot, 'hub/queue/redis-server.ts'))})` +
        `.ensureRedis({ dataDir: ${JSON.stringify(dir)} }).then((r) => console.log(r.url));` +
        'setInterval(() => undefined, 1000);',
    ],
    { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const url = await new Promise<string>((started) => hub.stdout!.once('data', (data) => started(String(data).trim())));
  return { url, hub };
}

async function refusedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
  const { port } = server.address() as AddressInfo;
  await new Promise((closed) => server.close(closed));
  return port;
}

async function expectQueueError(promise: Promise<unknown>, code: string): Promise<QueueError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(QueueError);
  expect((error as QueueError).code).toBe(code);
  return error as QueueError;
}

afterAll(async () => {
  for (const handle of handles) await handle.stop();
  // A test that failed half-way may leave a server no handle knows about.
  for (const dir of dirs) {
    if (existsSync(join(dir, 'redis', 'instance.json')) && isAlive(instance(dir).pid)) {
      process.kill(instance(dir).pid, 'SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true });
  }
});

describe('ensureRedis, managed', () => {
  it('runs a durable, local-only, non-evicting redis-server and keeps its data across a restart', async () => {
    const dir = dataDir();
    const first = await ensure({ dataDir: dir });
    expect(first.managed).toBe(true);
    expect(first.url).toMatch(/^redis:\/\/:[0-9a-f]{64}@127\.0\.0\.1:\d+$/);
    await withRedis(first.url, async (client) => {
      const settings = Object.fromEntries(
        await Promise.all(
          ['appendonly', 'appendfsync', 'maxmemory-policy', 'save', 'bind', 'protected-mode', 'dir'].map(
            async (name) => (await client.config('GET', name)) as string[],
          ),
        ),
      );
      expect(settings).toEqual({
        appendonly: 'yes',
        appendfsync: 'always',
        'maxmemory-policy': 'noeviction',
        save: '',
        bind: '127.0.0.1',
        'protected-mode': 'yes',
        dir: join(dir, 'redis'),
      });
      await client.set('handover:test', 'kept');
    });
    const { pid } = instance(dir);
    await first.stop();
    expect(isAlive(pid)).toBe(false);
    expect(existsSync(join(dir, 'redis', 'instance.json'))).toBe(false);
    expect(readFileSync(join(dir, 'redis', 'redis.log'), 'utf8')).toContain('fsync');

    const second = await ensure({ dataDir: dir });
    expect(instance(dir).pid).not.toBe(pid);
    expect(await withRedis(second.url, (client) => client.get('handover:test'))).toBe('kept');
    await second.stop();
  });

  it('loses no acknowledged write when redis-server is killed with its hub, and replaces it despite a stale instance.json', async () => {
    const dir = dataDir();
    const { url, hub } = await orphanedServer(dir);
    await withRedis(url, (client) => client.set('handover:test', 'acknowledged'));
    const { pid } = instance(dir);
    hub.kill('SIGKILL');
    await new Promise((exited) => hub.once('exit', exited));
    process.kill(pid, 'SIGKILL');
    while (isAlive(pid)) await new Promise((tick) => setTimeout(tick, 10));
    expect(instance(dir).pid).toBe(pid);

    const second = await ensure({ dataDir: dir });
    expect(instance(dir).pid).not.toBe(pid);
    expect(await withRedis(second.url, (client) => client.get('handover:test'))).toBe('acknowledged');
    await second.stop();
  }, 60_000);

  it('adopts the redis-server of a hub that was killed, instead of starting a second one on its files', async () => {
    const dir = dataDir();
    const { url: orphanUrl, hub } = await orphanedServer(dir);
    const orphan = instance(dir);
    hub.kill('SIGKILL');
    await new Promise((exited) => hub.once('exit', exited));
    expect(isAlive(orphan.pid)).toBe(true);

    const adopted = await ensure({ dataDir: dir });
    expect(adopted).toMatchObject({ url: orphanUrl, managed: true });
    expect(instance(dir)).toEqual(orphan);
    await withRedis(adopted.url, async (client) => {
      expect(await client.info('server')).toContain(`process_id:${orphan.pid}`);
    });
    await adopted.stop();
    expect(isAlive(orphan.pid)).toBe(false);
    expect(existsSync(join(dir, 'redis', 'instance.json'))).toBe(false);
  }, 60_000);

  it('adopts its own running server when called again without stop()', async () => {
    const dir = dataDir();
    const first = await ensure({ dataDir: dir });
    const again = await ensure({ dataDir: dir });
    expect(again).toMatchObject({ url: first.url, managed: true });
    await again.stop();
    await first.stop();
  });

  it('reports the log when redis-server cannot start', async () => {
    const dir = dataDir();
    // A file where Redis wants its append-only directory is a real start-up failure.
    mkdirSync(join(dir, 'redis'));
    writeFileSync(join(dir, 'redis', 'appendonlydir'), '');
    const error = await expectQueueError(ensure({ dataDir: dir }), 'REDIS_START_FAILED');
    expect(error.message).toContain('append-only dir');
    expect(existsSync(join(dir, 'redis', 'instance.json'))).toBe(false);
  });

  it('says how to install Redis when redis-server is not on PATH', async () => {
    const path = process.env.PATH;
    process.env.PATH = dataDir();
    try {
      const error = await expectQueueError(ensure({ dataDir: dataDir() }), 'REDIS_NOT_INSTALLED');
      expect(error.message).toContain('apt-get install redis-server');
      expect(error.message).toContain('brew install redis');
      expect(error.message).toContain('REDIS_URL');
    } finally {
      process.env.PATH = path;
    }
    await expectQueueError(
      ensure({ dataDir: dataDir(), redisServerBinary: '/nonexistent/redis-server' }),
      'REDIS_NOT_INSTALLED',
    );
  });
});

/** The redis-server processes working in `dir` (redis-server rewrites its title, so the cwd tells them apart). */
function serversOn(dir: string): number[] {
  return execFileSync('ps', ['-eo', 'pid=,comm='], { encoding: 'utf8' })
    .split('\n')
    .filter((line) => line.includes('redis-server'))
    .map((line) => Number(line.trim().split(/\s+/)[0]))
    .filter((pid) => {
      try {
        return realpathSync(`/proc/${pid}/cwd`) === realpathSync(join(dir, 'redis'));
      } catch {
        return false;
      }
    });
}

describe('ensureRedis, managed and guarded', () => {
  it('protects its server with a generated password kept 0600 in the data directory, and never prints it', async () => {
    const dir = dataDir();
    const logged: string[] = [];
    const first = await ensure({ dataDir: dir, logger: (msg) => logged.push(msg) });
    const passwordFile = join(dir, 'redis', 'password');
    const password = readFileSync(passwordFile, 'utf8').trim();
    expect(password).toMatch(/^[0-9a-f]{64}$/);
    expect(statSync(passwordFile).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'redis', 'redis.conf')).mode & 0o777).toBe(0o600);
    expect(first.url).toContain(password);
    const { port } = instance(dir);
    const anonymous = new Redis(`redis://127.0.0.1:${port}`, {
      maxRetriesPerRequest: 0,
      lazyConnect: true,
      retryStrategy: () => null,
    });
    const refusals: string[] = [];
    anonymous.on('error', (error: Error) => refusals.push(error.message));
    await expect(anonymous.connect().then(() => anonymous.get('handover:test'))).rejects.toThrow();
    expect(refusals.join('\n')).toMatch(/NOAUTH/);
    anonymous.disconnect();
    await first.stop();

    const second = await ensure({ dataDir: dir, logger: (msg) => logged.push(msg) });
    expect(second.url).toContain(password);
    expect(await withRedis(second.url, (client) => client.ping())).toBe('PONG');
    await second.stop();
    expect(logged.length).toBeGreaterThan(0);
    expect(logged.join('\n')).not.toContain(password);
    expect(readFileSync(join(dir, 'redis', 'redis.log'), 'utf8')).not.toContain(password);
  });

  it('starts one server when two first starts race on one fresh data directory', async () => {
    const dir = dataDir();
    const [one, two] = await Promise.all([ensure({ dataDir: dir }), ensure({ dataDir: dir })]);
    expect(two!.url).toBe(one!.url);
    expect(serversOn(dir)).toEqual([instance(dir).pid]);
    await one!.stop();
  });

  it('restarts its server within 5 s on the same port and data after a kill -9, so clients reconnect', async () => {
    const dir = dataDir();
    const logged: string[] = [];
    const handle = await ensure({ dataDir: dir, logger: (msg) => logged.push(msg) });
    await withRedis(handle.url, (client) => client.set('handover:test', 'acknowledged'));
    const killed = instance(dir);
    const client = new Redis(handle.url, { maxRetriesPerRequest: null });
    client.on('error', () => undefined);
    process.kill(killed.pid, 'SIGKILL');
    const started = Date.now();
    const back = await new Promise<{ pid: number; port: number }>((resolve, reject) => {
      const poll = setInterval(() => {
        const now = existsSync(join(dir, 'redis', 'instance.json')) ? instance(dir) : undefined;
        if (now && now.pid !== killed.pid && isAlive(now.pid)) {
          clearInterval(poll);
          resolve(now);
        } else if (Date.now() - started > 20_000) {
          clearInterval(poll);
          reject(new Error('redis-server was not restarted within 20 s'));
        }
      }, 20);
    });
    expect(back.port).toBe(killed.port);
    // The reconnecting client gets the acknowledged write back from the AOF.
    expect(await client.get('handover:test')).toBe('acknowledged');
    expect(Date.now() - started).toBeLessThan(5000);
    client.disconnect();
    expect(logged.join('\n')).toContain(`redis-server pid ${killed.pid} exited`);
    await handle.stop();
    expect(isAlive(back.pid)).toBe(false);
    expect(serversOn(dir)).toEqual([]);
  }, 30_000);
});

describe('ensureRedis, external', () => {
  it('uses the URL as given, starts nothing and stops nothing', async () => {
    const server = await ensure({ dataDir: dataDir() });
    const dir = dataDir();
    const external = await ensure({ dataDir: dir, redisUrl: server.url });
    expect(external).toMatchObject({ url: server.url, managed: false });
    expect(existsSync(join(dir, 'redis'))).toBe(false);
    await external.stop();
    expect(await withRedis(server.url, (client) => client.ping())).toBe('PONG');
    await server.stop();
  });

  it('names the URL, without its password, when nothing answers', async () => {
    const port = await refusedPort();
    const error = await expectQueueError(
      ensure({ dataDir: dataDir(), redisUrl: `redis://:s3cret@127.0.0.1:${port}` }),
      'REDIS_UNREACHABLE',
    );
    expect(error.message).toContain(`127.0.0.1:${port}`);
    expect(error.message).not.toContain('s3cret');
  });
});
