/**
 * The hub's Redis: the operator's server at REDIS_URL, or a password-protected redis-server the hub
 * runs and supervises itself, with its append-only file under the data directory, adopted again if
 * a killed hub left it running and restarted on the same port if it dies.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, chmodSync, closeSync, constants, fstatSync, linkSync, mkdirSync, openSync } from 'node:fs';
import { readFileSync, readSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from '../net';
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
/** How often a managed server is checked; a dead one is restarted at the next check. */
const SUPERVISE_INTERVAL_MS = 250;
/** How long a start waits for another start or restart on the same directory to finish. */
const LOCK_TIMEOUT_MS = 3 * START_TIMEOUT_MS;

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
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const binary = options.redisServerBinary ?? 'redis-server';
  // Two first starts on one directory would run two servers on the same AOF files.
  return withLock(dir, async () => {
    const password = readOrCreatePassword(dir);
    const found = (await adopt(dir, password, log)) ?? (await start(findBinary(binary), dir, password, log));
    return managedHandle(dir, found, password, binary, log);
  });
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

async function adopt(dir: string, password: string, log: (msg: string) => void): Promise<Instance | undefined> {
  const previous = readInstance(dir);
  if (!previous || !isAlive(previous.pid) || !isRedisProcess(previous.pid)) return undefined;
  // A second server on the same AOF files would corrupt them, so a live one is waited for, never replaced.
  const outcome = await waitUntilReady(previous, password, () => !isAlive(previous.pid));
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
  return previous;
}

async function start(binary: string, dir: string, password: string, log: (msg: string) => void): Promise<Instance> {
  const logFile = join(dir, 'redis.log');
  // The port of a server that died is tried first, so clients of the dead one find the new one.
  let port = readInstance(dir)?.port ?? (await freePort());
  for (let attempt = 1; ; attempt++, port = await freePort()) {
    const logOffset = fileSize(logFile);
    const started = await launch(binary, dir, port, password);
    if (typeof started === 'number') {
      log(`redis: started redis-server pid ${started} on 127.0.0.1:${port} (data in ${dir})`);
      return { pid: started, port };
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
async function launch(
  binary: string,
  dir: string,
  port: number,
  password: string,
): Promise<number | { failure: string }> {
  writeSecret(join(dir, 'redis.conf'), config(dir, port, password));
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
  if ((await waitUntilReady(instance, password, () => failure !== undefined)) === 'ready') {
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

/** The server's configuration, rewritten at every start; it holds the password, so only the hub's user reads it. */
function config(dir: string, port: number, password: string): string {
  const quote = (value: string) => JSON.stringify(value);
  return [
    '# Written by Handover at every start of its own redis-server; edits are overwritten.',
    `port ${port}`,
    'bind 127.0.0.1',
    'protected-mode yes',
    // Any local user could otherwise read or rewrite the queues, and the Idempotency-Keys with them.
    `requirepass ${password}`,
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

/**
 * A handle on the hub's own server that restarts it, on the same port and files, when it dies
 * while nobody stopped it: a graceful stop removes instance.json first, a kill -9 leaves it.
 */
function managedHandle(
  dir: string,
  first: Instance,
  password: string,
  binary: string,
  log: (msg: string) => void,
): RedisHandle {
  let instance = first;
  let stopping = false;
  let restarting: Promise<void> | undefined;
  // The port never changes (a restart reuses it), so clients reconnect to the same URL.
  const url = `redis://:${password}@127.0.0.1:${first.port}`;

  const restart = async (dead: Instance): Promise<void> => {
    log(`redis: redis-server pid ${dead.pid} exited; restarting it on 127.0.0.1:${dead.port}`);
    for (let attempt = 1; !stopping; attempt++) {
      const outcome = await withLock(dir, async () => {
        const current = readInstance(dir);
        // Stopped on purpose (by this hub or another one sharing the directory): nothing to restart.
        if (!current) return 'stopped';
        if (current.pid !== dead.pid) {
          if (current.port !== dead.port) return 'moved';
          // Another hub on this directory restarted it first.
          if (
            isAlive(current.pid) &&
            (await waitUntilReady(current, password, () => !isAlive(current.pid))) === 'ready'
          ) {
            instance = current;
            return 'running';
          }
        }
        if (stopping) return 'stopped';
        const started = await launch(findBinary(binary), dir, dead.port, password);
        if (typeof started !== 'number') return started.failure;
        instance = { pid: started, port: dead.port };
        log(`redis: restarted redis-server pid ${started} on 127.0.0.1:${dead.port} (data in ${dir})`);
        return 'running';
      }).catch((error: unknown) => reason(error));
      if (outcome === 'running' || outcome === 'stopped') return;
      if (outcome === 'moved') {
        log(`redis: redis-server for ${dir} now runs on another port; this hub cannot follow it, restart the hub`);
        return;
      }
      // Retried until it works (the port may be held for a moment); logged on the first try and then rarely.
      if (attempt === 1 || attempt % 20 === 0) log(`redis: restart attempt ${attempt} failed: ${outcome}`);
      await sleep(SUPERVISE_INTERVAL_MS);
    }
  };

  const supervisor = setInterval(() => {
    if (stopping || restarting || isAlive(instance.pid)) return;
    // No instance.json: another handle on this directory stopped the server on purpose.
    if (!readInstance(dir)) {
      clearInterval(supervisor);
      return;
    }
    restarting = restart(instance).finally(() => (restarting = undefined));
  }, SUPERVISE_INTERVAL_MS);
  supervisor.unref();

  return {
    url,
    managed: true,
    stop: async () => {
      stopping = true;
      clearInterval(supervisor);
      await restarting;
      const { pid } = instance;
      // Removed before the shutdown, so no supervisor (ours or another hub's) takes the exit for a crash.
      removeInstance(dir, pid);
      if (isAlive(pid)) {
        try {
          await withClient(url, (client) => client.call('SHUTDOWN'));
        } catch {
          // A successful SHUTDOWN closes the connection without a reply; whether it worked shows below.
        }
        if (!(await waitForExit(pid, STOP_TIMEOUT_MS))) {
          // Nothing is lost: with appendfsync always, every write Redis acknowledged is already on disk.
          log(`redis: redis-server pid ${pid} ignored SHUTDOWN; killing it`);
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // It exited after all.
          }
          await waitForExit(pid, STOP_TIMEOUT_MS);
        }
        log(`redis: stopped redis-server pid ${pid}`);
      }
    },
  };
}

type Readiness = 'ready' | 'other-server' | 'gone' | 'timeout';

/** Waits until the server with `instance.pid` answers on its port and has loaded its data. */
async function waitUntilReady(instance: Instance, password: string, gone: () => boolean): Promise<Readiness> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (gone()) return 'gone';
    const pid = await probe(instance.port, password);
    if (pid === instance.pid) return 'ready';
    if (pid !== undefined) return 'other-server';
    await sleep(50);
  }
  return 'timeout';
}

/** The pid of the Redis answering on `port`, once it has loaded its data. */
async function probe(port: number, password: string): Promise<number | undefined> {
  try {
    return await withClient(`redis://:${password}@127.0.0.1:${port}`, async (client) => {
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

/**
 * Runs `work` holding `<dir>/lock`, a file created atomically with the holder's pid: a start waits
 * for another start (in this process or another) to finish, and takes over the lock of a dead holder.
 */
async function withLock<T>(dir: string, work: () => Promise<T>): Promise<T> {
  const lock = join(dir, 'lock');
  const deadline = Date.now() + LOCK_TIMEOUT_MS;
  for (;;) {
    const temp = join(dir, `lock.${process.pid}.${randomBytes(6).toString('hex')}`);
    writeFileSync(temp, `${process.pid}\n`);
    try {
      // link() fails if the lock exists, so the lock never exists without its holder's pid.
      linkSync(temp, lock);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    } finally {
      rmSync(temp, { force: true });
    }
    const holder = Number(readOrEmpty(lock).trim());
    if (Number.isInteger(holder) && holder > 0 && !isAlive(holder)) {
      rmSync(lock, { force: true });
      continue;
    }
    if (Date.now() > deadline) {
      throw new QueueError(
        'REDIS_START_FAILED',
        `${lock} is held by pid ${holder} for more than ${LOCK_TIMEOUT_MS / 1000} s; ` +
          'if that process is not a Handover hub starting, delete the file',
      );
    }
    await sleep(50);
  }
  try {
    return await work();
  } finally {
    rmSync(lock, { force: true });
  }
}

/** The server's password: generated at the first start, then kept in `<dir>/password`, readable only by the hub's user. */
function readOrCreatePassword(dir: string): string {
  const file = join(dir, 'password');
  const existing = readOrEmpty(file).trim();
  if (existing) {
    if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
    return existing;
  }
  const password = randomBytes(32).toString('hex');
  writeSecret(file, `${password}\n`);
  return password;
}

/** Writes a file only the hub's user may read, whatever the umask and whatever mode an older file had. */
function writeSecret(file: string, content: string): void {
  writeFileSync(file, content, { mode: 0o600 });
  chmodSync(file, 0o600);
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
