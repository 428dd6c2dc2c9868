/**
 * Redis outages under a stream of posts, on real processes: the hub's own redis-server killed with
 * kill -9, and an operator's Redis (REDIS_URL) stopped and started again. Every request gets an
 * answer (202, or 503 QUEUE_UNAVAILABLE with Retry-After), never a hang; every 202 is delivered;
 * the log does not flood; SIGTERM stops the hub even while Redis is down.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { startHttpTarget, waitFor, type HttpTarget } from './support/http-target';
import { freePort, hubReady, orderEnvelopeJson, spawnHandover, writeOrdersConfig } from './support/hub-process';

const CONCURRENCY = 8;
const processes: ChildProcess[] = [];
const dataDirs: string[] = [];
let target: HttpTarget;

interface Hub {
  process: ChildProcess;
  url: string;
  dataDir: string;
  /** Everything the hub wrote to stdout and stderr. */
  output: () => string;
}

async function startHub(env: Record<string, string> = {}): Promise<Hub> {
  const dataDir = mkdtempSync(join(tmpdir(), 'handover-outage-'));
  dataDirs.push(dataDir);
  const port = await freePort();
  const child = spawnHandover(['start', '--config', writeOrdersConfig(dataDir, target.url), '--port', String(port)], {
    env: {
      ...process.env,
      HANDOVER_DATA_DIR: dataDir,
      HANDOVER_TOKEN_ERP: 'erp-token',
      HANDOVER_ADMIN_TOKEN: 'admin-token',
      LOG_LEVEL: 'warn',
      ...env,
    },
    stdout: 'pipe',
    stderr: 'pipe',
  });
  processes.push(child);
  let output = '';
  child.stdout!.on('data', (data) => (output += String(data)));
  child.stderr!.on('data', (data) => (output += String(data)));
  const url = `http://127.0.0.1:${port}`;
  await hubReady(url);
  return { process: child, url, dataDir, output: () => output };
}

/** A Redis of the operator's, on a fixed port and data directory so it can be stopped and started again. */
function startExternalRedis(port: number, dir: string): ChildProcess {
  mkdirSync(dir, { recursive: true });
  const server = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--appendfsync', 'always'],
    { stdio: 'ignore' },
  );
  processes.push(server);
  return server;
}

async function stopProcess(child: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill(signal);
  await exited;
}

async function redisAnswers(port: number, password?: string): Promise<boolean> {
  const client = new Redis({
    port,
    host: '127.0.0.1',
    lazyConnect: true,
    retryStrategy: () => null,
    ...(password ? { password } : {}),
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

interface Answer {
  status: number;
  ms: number;
  code?: string;
  retryAfter?: string | null;
  messageId?: string;
}

/** One POST, answered or not within 15 s (a hang is a failed answer, recorded as status 0). */
async function post(hub: Hub, index: number): Promise<Answer> {
  const started = Date.now();
  try {
    const response = await fetch(`${hub.url}/api/v1/inbound/erp`, {
      method: 'POST',
      headers: {
        authorization: 'Bearer erp-token',
        'content-type': 'application/json',
        'idempotency-key': `outage-${index}`,
      },
      body: orderEnvelopeJson(`PO-OUTAGE-${String(index).padStart(5, '0')}`, { version: index }),
      signal: AbortSignal.timeout(15_000),
    });
    const body = (await response.json()) as { messageId?: string; error?: { code: string } };
    return {
      status: response.status,
      ms: Date.now() - started,
      retryAfter: response.headers.get('retry-after'),
      ...(body.messageId ? { messageId: body.messageId } : {}),
      ...(body.error ? { code: body.error.code } : {}),
    };
  } catch {
    return { status: 0, ms: Date.now() - started };
  }
}

/**
 * Posts `total` messages from CONCURRENCY senders; a 503 is retried with the same Idempotency-Key
 * after 100 ms, as a real sender would. `during(index)` runs once when message `at` is reached.
 */
async function stream(hub: Hub, total: number, at: number, during: () => Promise<void>) {
  const answers: Answer[] = [];
  const accepted = new Map<number, string>();
  let next = 0;
  let fault: Promise<void> | undefined;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < total) {
        const index = next++;
        if (index === at) fault = during();
        for (;;) {
          const answer = await post(hub, index);
          answers.push(answer);
          if (answer.status === 202) {
            accepted.set(index, answer.messageId!);
            break;
          }
          if (answer.status !== 503) break;
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
    }),
  );
  await fault;
  return { answers, accepted };
}

function expectAnswered(answers: Answer[]): void {
  const unexpected = answers.filter((answer) => answer.status !== 202 && answer.status !== 503);
  expect(unexpected).toEqual([]);
  for (const refused of answers.filter((answer) => answer.status === 503)) {
    expect(refused).toMatchObject({ code: 'QUEUE_UNAVAILABLE', retryAfter: '2' });
    // A liveness bound with margin over the door's own 1.5 s deadline, not a speed check.
    expect(refused.ms).toBeLessThan(5000);
  }
}

async function expectDelivered(accepted: Map<number, string>, total: number, hub?: Hub): Promise<void> {
  expect(accepted.size).toBe(total);
  const missing = () => {
    const seen = new Set(target.received.map((request) => request.headers['x-handover-message-id']));
    return [...accepted.values()].filter((messageId) => !seen.has(messageId));
  };
  try {
    await waitFor(() => missing().length === 0, 120_000, 'every accepted message delivered');
  } catch (error) {
    // What a failure needs to be understood: which messages, and what the hub said meanwhile.
    const left = missing();
    const traces = hub
      ? await Promise.all(
          left.slice(0, 3).map(async (id) => {
            const response = await fetch(`${hub.url}/api/v1/messages/${id}`, {
              headers: { authorization: 'Bearer admin-token' },
            }).catch((fetchError: unknown) => ({ text: async () => String(fetchError) }));
            return response.text();
          }),
        )
      : [];
    throw new Error(
      `${(error as Error).message}: ${left.length} of ${total} not delivered (first: ${left.slice(0, 5).join(', ')}); ` +
        `their traces: ${traces.join('\n')}\nthe hub's last log lines:\n${(hub?.output() ?? '').split('\n').slice(-40).join('\n')}`,
    );
  }
}

function expectQuietLog(hub: Hub): void {
  expect(hub.output()).not.toContain('Unhandled error event');
  const errorLines = hub
    .output()
    .split('\n')
    .filter((line) => line.includes('"level":50'));
  expect(errorLines.length).toBeLessThan(20);
}

beforeAll(async () => {
  target = await startHttpTarget();
});

afterAll(async () => {
  for (const child of processes) await stopProcess(child);
  // A hub killed by a failed test leaves its own redis-server running, on purpose (the next start adopts it).
  for (const dir of dataDirs) {
    const instance = join(dir, 'redis', 'instance.json');
    if (!existsSync(instance)) continue;
    try {
      process.kill((JSON.parse(readFileSync(instance, 'utf8')) as { pid: number }).pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  await target?.close();
});

it('restarts its own redis-server after kill -9 mid-stream; every request answered, every 202 delivered', async () => {
  const hub = await startHub();
  const instanceFile = join(hub.dataDir, 'redis', 'instance.json');
  const instance = () => JSON.parse(readFileSync(instanceFile, 'utf8')) as { pid: number; port: number };
  const killed = instance();
  let backAfter = Number.POSITIVE_INFINITY;
  const { answers, accepted } = await stream(hub, 1200, 300, async () => {
    process.kill(killed.pid, 'SIGKILL');
    const started = Date.now();
    await waitFor(() => existsSync(instanceFile) && instance().pid !== killed.pid, 30_000, 'a new redis-server');
    expect(instance().port).toBe(killed.port);
    const password = readFileSync(join(hub.dataDir, 'redis', 'password'), 'utf8').trim();
    await waitFor(() => redisAnswers(killed.port, password), 30_000, 'redis-server answering');
    backAfter = Date.now() - started;
  });
  expectAnswered(answers);
  expect(backAfter).toBeLessThan(5000);
  await expectDelivered(accepted, 1200, hub);
  expectQuietLog(hub);
  await stopProcess(hub.process, 'SIGTERM');
}, 300_000);

it('rides out an operator Redis (REDIS_URL) stopped and restarted mid-stream: 503 fast while down, then 202', async () => {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'handover-external-redis-'));
  let redis = startExternalRedis(port, dir);
  await waitFor(() => redisAnswers(port), 20_000, 'external redis');
  const hub = await startHub({ REDIS_URL: `redis://127.0.0.1:${port}` });
  const down: { readyz?: { status: number; ms: number }; door?: Answer } = {};
  const { answers, accepted } = await stream(hub, 1000, 250, async () => {
    await stopProcess(redis);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const started = Date.now();
    const readyz = await fetch(`${hub.url}/readyz`, { signal: AbortSignal.timeout(15_000) });
    down.readyz = { status: readyz.status, ms: Date.now() - started };
    down.door = await post(hub, 100_000);
    await new Promise((resolve) => setTimeout(resolve, 2000));
    redis = startExternalRedis(port, dir);
  });
  expect(down.readyz).toMatchObject({ status: 503 });
  expect(down.readyz!.ms).toBeLessThan(1000);
  expect(down.door).toMatchObject({ status: 503, code: 'QUEUE_UNAVAILABLE', retryAfter: '2' });
  expect(down.door!.ms).toBeLessThan(2000);
  expectAnswered(answers);
  await expectDelivered(accepted, 1000);
  expectQuietLog(hub);
  await stopProcess(hub.process, 'SIGTERM');
}, 300_000);

it('stops on SIGTERM within 10 s while Redis is down', async () => {
  const port = await freePort();
  const redis = startExternalRedis(port, mkdtempSync(join(tmpdir(), 'handover-external-redis-')));
  await waitFor(() => redisAnswers(port), 20_000, 'external redis');
  const hub = await startHub({ REDIS_URL: `redis://127.0.0.1:${port}` });
  await stopProcess(redis);
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const started = Date.now();
  const exited = new Promise<number | null>((resolve) => hub.process.once('exit', (code) => resolve(code)));
  hub.process.kill('SIGTERM');
  const code = await Promise.race([
    exited,
    new Promise((resolve) => setTimeout(() => resolve('still running'), 20_000)),
  ]);
  expect(Date.now() - started).toBeLessThan(10_000);
  expect(code).toBe(0);
  expectQuietLog(hub);
}, 120_000);
