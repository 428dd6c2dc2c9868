/**
 * The hub's Redis: the operator's server at REDIS_URL, or a redis-server the hub runs itself with
 * its append-only file under the data directory, adopted again if a killed hub left it running.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { accessSync, closeSync, constants, fstatSync, mkdirSync, openSync, readFileSync, readSync } from 'node:fs';
import { renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { delimiter, join, resolve } from 'node:path';
import { Redis } from 'ioredis';
import { QueueError } from './errors';

/** A Redis the hub can use, and how to let go of it. */
export interface RedisHandle {
  /** Connection URL for ioredis and BullMQ. */
  url: string;
  /** True when the hub runs this redis-server (started or adopted), so `stop()` shuts it down. */
  managed: boolean;
  /** Shuts a managed server down (its AOF fsynced); does nothing for the operator's Redis. */
  stop(): Promise<void>;
}

export interface EnsureRedisOptions {
  /** The hub's data directory; a managed server keeps its files in `<dataDir>/redis/`. */
  dataDir: string;
  /** The operator's Redis (REDIS_URL). When set (non-empty), the hub starts no server of its own. */
  redisUrl?: string;
  logger?: (msg: string) => void;
  /** The redis-server executable: a path, or a name looked up on PATH at call time. */
  redisServerBinary?: string;
}

const START_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 10_000;
const START_ATTEMPTS = 3;

/**
 * Returns a Redis that answers PING: the one at `redisUrl`, else the hub's own redis-server for
 * `dataDir` (adopted if still running, started otherwise).
 *
 * @example
 * const redis = await ensureRedis({ dataDir: 'var', redisUrl: process.env.REDIS_URL, logger: (msg) => log.info(msg) });
 * const queue = new Queue('inbound', { connection: { url: redis.url } });
 * // … on shutdown, after the workers have closed:
 * await redis.stop();
 */
export async function ensureRedis(options: EnsureRedisOptions): Promise<RedisHandle> {
  const log = options.logger ?? (() => undefined);
  if (options.redisUrl) return useExternal(options.redisUrl, log);
  const dir = resolve(options.dataDir, 'redis');
  mkdirSync(dir, { recursive: true });
  const adopted = await adopt(dir, log);
  if (adopted) return adopted;
  return start(findBinary(options.redisServerBinary ?? 'redis-server'), dir, log);
}

async function useExternal(url: string, log: (msg: string) => void): Promise<RedisHandle> {
  try {
    await withClient(url, (client) => client.ping());
  } catch (error) {
    throw new QueueError('REDIS_UNREACHABLE', `Redis at ${redact(url)} does not answer PING (${reason(error)})`);
  }
  log(`redis: using ${redact(url)}`);
  return { url, managed: false, stop: async () => undefined };
}

/** What instance.json records, so the next start finds a server a killed hub left running. */
interface Instance {
  pid: number;
  port: number;
}

async function adopt(dir: string, log: (msg: string) => void): Promise<RedisHandle | undefined> {
  const previous = readInstance(dir);
  if (!previous || !isAlive(previous.pid) || !isRedisProcess(previous.pid)) return undefined;
  // A second server on the same AOF files would corrupt them, so a live one is waited for, never replaced.
  const outcome = await waitUntilReady(previous, () => !isAlive(previous.pid));
  // Another server on that port, or ours exited meanwhile: the port and the files are free to start afresh.
  if (outcome === 'other-server' || outcome === 'gone') return undefined;
  if (outcome === 'timeout') {
    throw new QueueError(
      'REDIS_START_FAILED',
      `redis-server pid ${previous.pid} (from ${join(dir, 'instance.json')}) is running but does not answer ` +
        `on 127.0.0.1:${previous.port}; stop it, or delete instance.json if that process is not Handover's`,
    );
  }
  log(`redis: adopted redis-server pid ${previous.pid} on 127.0.0.1:${previous.port} (data in ${dir})`);
  return managedHandle(dir, previous, log);
}

async function start(binary: string, dir: string, log: (msg: string) => void): Promise<RedisHandle> {
  const logFile = join(dir, 'redis.log');
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const logOffset = fileSize(logFile);
    const started = await launch(binary, dir, port);
    if (typeof started === 'number') {
      log(`redis: started redis-server pid ${started} on 127.0.0.1:${port} (data in ${dir})`);
      return managedHandle(dir, { pid: started, port }, log);
    }
    const tail = readTail(logFile, logOffset);
    // Another process may take the port between freePort() and redis-server's bind; then we try another.
    if (tail.includes('Address already in use') && attempt < START_ATTEMPTS) continue;
    throw new QueueError(
      'REDIS_START_FAILED',
      `redis-server did not start on 127.0.0.1:${port}: ${started.failure}; ${logFile} ends with:\n${tail}`,
    );
  }
}

/** Starts redis-server on `port` and waits until it is ready: its pid, or why it is not running. */
async function launch(binary: string, dir: string, port: number): Promise<number | { failure: string }> {
  writeFileSync(join(dir, 'redis.conf'), config(dir, port));
  const child = spawnServer(binary, dir, join(dir, 'redis.log'));
  let failure: string | undefined;
  child.once('error', (error) => (failure = reason(error)));
  child.once('exit', (code, signal) => (failure ??= `redis-server exited (${signal ?? `code ${code}`})`));
  if (child.pid === undefined) {
    await new Promise((settled) => child.once('error', settled));
    return { failure: failure ?? 'redis-server could not be run' };
  }
  // Recorded before it is ready, so a hub killed while waiting leaves a server its successor can find.
  const instance = { pid: child.pid, port };
  writeInstance(dir, instance);
  if ((await waitUntilReady(instance, () => failure !== undefined)) === 'ready') {
    // The server outlives the hub on purpose: a killed hub's successor adopts it.
    child.unref();
    return instance.pid;
  }
  if (failure === undefined) child.kill('SIGKILL');
  removeInstance(dir, instance.pid);
  return { failure: failure ?? `no answer to PING within ${START_TIMEOUT_MS / 1000} s` };
}

function spawnServer(binary: string, dir: string, logFile: string): ChildProcess {
  // Errors redis-server prints before it opens its logfile (bad config) land in the same file.
  const out = openSync(logFile, 'a');
  try {
    // Its own process group, so a Ctrl-C meant for the hub does not stop Redis while the hub drains.
    return spawn(binary, [join(dir, 'redis.conf')], { cwd: dir, detached: true, stdio: ['ignore', out, out] });
  } finally {
    closeSync(out);
  }
}

/** The server's configuration, rewritten at every start. */
function config(dir: string, port: number): string {
  const quote = (value: string) => JSON.stringify(value);
  return [
    '# Written by Handover at every start of its own redis-server; edits are overwritten.',
    `port ${port}`,
    'bind 127.0.0.1',
    'protected-mode yes',
    `dir ${quote(dir)}`,
    // The hub answers 202 only once a job is in Redis, so every write is fsynced before Redis replies.
    'appendonly yes',
    'appendfsync always',
    'save ""',
    // BullMQ loses jobs if Redis evicts keys under memory pressure.
    'maxmemory-policy noeviction',
    `logfile ${quote(join(dir, 'redis.log'))}`,
    `pidfile ${quote(join(dir, 'redis.pid'))}`,
    'daemonize no',
    '',
  ].join('\n');
}

function managedHandle(dir: string, instance: Instance, log: (msg: string) => void): RedisHandle {
  return {
    url: `redis://127.0.0.1:${instance.port}`,
    managed: true,
    stop: async () => {
      if (isAlive(instance.pid)) {
        try {
          await withClient(`redis://127.0.0.1:${instance.port}`, (client) => client.call('SHUTDOWN'));
        } catch {
          // A successful SHUTDOWN closes the connection without a reply; whether it worked shows below.
        }
        if (!(await waitForExit(instance.pid, STOP_TIMEOUT_MS))) {
          // Nothing is lost: with appendfsync always, every write Redis acknowledged is already on disk.
          log(`redis: redis-server pid ${instance.pid} ignored SHUTDOWN; killing it`);
          try {
            process.kill(instance.pid, 'SIGKILL');
          } catch {
            // It exited after all.
          }
          await waitForExit(instance.pid, STOP_TIMEOUT_MS);
        }
        log(`redis: stopped redis-server pid ${instance.pid}`);
      }
      removeInstance(dir, instance.pid);
    },
  };
}

type Readiness = 'ready' | 'other-server' | 'gone' | 'timeout';

/** Waits until the server with `instance.pid` answers on its port and has loaded its data. */
async function waitUntilReady(instance: Instance, gone: () => boolean): Promise<Readiness> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (gone()) return 'gone';
    const pid = await probe(instance.port);
    if (pid === instance.pid) return 'ready';
    if (pid !== undefined) return 'other-server';
    await sleep(50);
  }
  return 'timeout';
}

/** The pid of the Redis answering on `port`, once it has loaded its data. */
async function probe(port: number): Promise<number | undefined> {
  try {
    return await withClient(`redis://127.0.0.1:${port}`, async (client) => {
      // Redis refuses PING with LOADING until the AOF is read, so an answer means the data is there.
      await client.ping();
      return Number(/^process_id:(\d+)/m.exec(await client.info('server'))?.[1]);
    });
  } catch {
    return undefined;
  }
}

/** Runs `work` on a short-lived connection that fails fast instead of reconnecting. */
async function withClient<T>(url: string, work: (client: Redis) => Promise<T>): Promise<T> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 2000,
    commandTimeout: 2000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
    enableReadyCheck: false,
  });
  // The socket's error says why (ECONNREFUSED, ENOTFOUND); the rejected promise says only "Connection is closed".
  let socketError: Error | undefined;
  client.on('error', (error: Error) => (socketError = error));
  try {
    await client.connect().catch((error: unknown) => {
      throw socketError ?? error;
    });
    return await work(client);
  } finally {
    // On a connection that is already closed, disconnect() arms a 2 s timer nothing clears (ioredis 6).
    if (client.status !== 'end') client.disconnect();
  }
}

function findBinary(name: string): string {
  const candidates = name.includes('/')
    ? [resolve(name)]
    : (process.env.PATH ?? '').split(delimiter).flatMap((dir) => (dir ? [join(dir, name)] : []));
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // Not here; try the next PATH entry.
    }
  }
  throw new QueueError(
    'REDIS_NOT_INSTALLED',
    `${name} was not found${name.includes('/') ? '' : ' on PATH'}. Install Redis (Debian/Ubuntu: ` +
      'apt-get install redis-server; macOS: brew install redis), or set REDIS_URL to a Redis the hub can use.',
  );
}

function readInstance(dir: string): Instance | undefined {
  try {
    const value = JSON.parse(readFileSync(join(dir, 'instance.json'), 'utf8')) as Partial<Instance>;
    return Number.isInteger(value.pid) && Number.isInteger(value.port) ? (value as Instance) : undefined;
  } catch {
    return undefined;
  }
}

function writeInstance(dir: string, instance: Instance): void {
  // Written whole and renamed, so a hub killed mid-write leaves the old file or the new one, never half.
  const temp = join(dir, 'instance.json.tmp');
  writeFileSync(temp, JSON.stringify(instance) + '\n');
  renameSync(temp, join(dir, 'instance.json'));
}

/** Removes instance.json only if it still names `pid`, not a server started since. */
function removeInstance(dir: string, pid: number): void {
  if (readInstance(dir)?.pid === pid) rmSync(join(dir, 'instance.json'), { force: true });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  // An exited process whose parent has not reaped it still takes signals; it is gone all the same.
  return !/^\d+ \(.*\) Z/.test(readOrEmpty(`/proc/${pid}/stat`));
}

/** Whether `pid` runs redis-server, so a pid reused after a reboot is not mistaken for our server. */
function isRedisProcess(pid: number): boolean {
  let command = readOrEmpty(`/proc/${pid}/cmdline`);
  if (!command) {
    try {
      command = execFileSync('ps', ['-p', String(pid), '-o', 'command='], { encoding: 'utf8' });
    } catch {
      // Neither /proc nor ps: assume it is ours, since starting a second server on its files is worse.
      return true;
    }
  }
  return command.includes('redis');
}

async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isAlive(pid)) {
    if (Date.now() > deadline) return false;
    await sleep(20);
  }
  return true;
}

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolvePort(port));
    });
  });
}

/** The end of the log written since `offset` (at most the last 4 KiB), for error messages. */
function readTail(file: string, offset: number): string {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return '(no log)';
  }
  try {
    const size = fstatSync(fd).size;
    const start = Math.max(offset, size - 4096);
    const buffer = Buffer.alloc(Math.max(0, size - start));
    readSync(fd, buffer, 0, buffer.length, start);
    return buffer.toString('utf8').trimEnd() || '(nothing logged)';
  } finally {
    closeSync(fd);
  }
}

function fileSize(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

function readOrEmpty(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/** The URL without its password, which must not reach logs or error messages. */
function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparsable URL)';
  }
}

function reason(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function sleep(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
}
