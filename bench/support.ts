/**
 * What the hub benchmarks share: the payload, a hub process of its own, load at a fixed rate or
 * from a pool of senders, the raw BullMQ hop they compare with, and latency figures.
 */
import type { ChildProcess, ChildProcessByStdio } from 'node:child_process';
import { once } from 'node:events';
import { Agent, request } from 'node:http';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { Queue, Worker } from 'bullmq';
import { ensureRedis } from '../hub/queue/redis-server';
import { startHttpTarget, type HttpTarget, type Received } from '../test/support/http-target';
import { freePort, hubReady, orderEnvelopeJson, spawnHandover, writeOrdersConfig } from '../test/support/hub-process';

/** The document every benchmark sends: a 1.3 KB canonical ProductionOrder envelope from `erp`. */
export function payload(index: number): string {
  return orderEnvelopeJson(`PO-BENCH-${index}`);
}

export function percentile(sorted: number[], p: number): number {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export interface Figures {
  count: number;
  /** Documents per second over the run, from the first send to the last arrival. */
  rate: number;
  p50: number;
  p99: number;
}

export function figures(count: number, elapsedMs: number, latencies: number[]): Figures {
  const sorted = Float64Array.from(latencies).sort();
  return {
    count,
    rate: count / (elapsedMs / 1000),
    p50: percentile(Array.from(sorted), 50),
    p99: percentile(Array.from(sorted), 99),
  };
}

/** Prints one result line and returns its figures. */
export function report(name: string, count: number, elapsedMs: number, latencies: number[]): Figures {
  const result = figures(count, elapsedMs, latencies);
  console.log(
    `${name.padEnd(34)} ${result.rate.toFixed(0).padStart(7)} docs/s   p50 ${result.p50.toFixed(1).padStart(7)} ms   p99 ${result.p99.toFixed(1).padStart(7)} ms`,
  );
  return result;
}

/** Runs `work(0…count-1)` with `concurrency` workers, each taking the next index when done. */
export async function pool(count: number, concurrency: number, work: (index: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) await work(next++);
    }),
  );
}

/**
 * Starts `send(index)` at `perSecond` for `count` documents (or until `until()` says stop), without
 * waiting for earlier sends: an open-loop load, as many concurrent as it takes, at most `maxInFlight`.
 * Resolves once every send has settled, with how many were started and how often the limit held one back.
 */
export async function paced(
  perSecond: number,
  count: number,
  send: (index: number) => Promise<void>,
  options: { maxInFlight?: number; until?: () => boolean } = {},
): Promise<{ started: number; heldBack: number }> {
  const maxInFlight = options.maxInFlight ?? 1024;
  const started = performance.now();
  let issued = 0;
  let inFlight = 0;
  let heldBack = 0;
  let drained!: () => void;
  const allSettled = new Promise<void>((resolve) => (drained = resolve));
  const settle = () => {
    inFlight -= 1;
    if (inFlight === 0 && issued >= count) drained();
  };
  while (issued < count && !options.until?.()) {
    const due = Math.min(count, Math.floor(((performance.now() - started) / 1000) * perSecond) + 1);
    while (issued < due) {
      if (inFlight >= maxInFlight) {
        heldBack += 1;
        break;
      }
      inFlight += 1;
      send(issued++).then(settle, settle);
    }
    // Ticks of 5 ms: one timer per document would cost more than the sending.
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  count = issued;
  if (inFlight > 0) await allSettled;
  return { started: issued, heldBack };
}

/**
 * Latency from a send to its arrival at the target, matched by message id in whichever order the
 * two are seen (a delivery can reach the target before the sender has read its 202).
 */
export class ArrivalTracker {
  readonly latencies: number[] = [];
  /** Message ids that reached the target, each counted once. */
  readonly arrived = new Set<string>();
  duplicates = 0;
  lastArrival = 0;
  private readonly sentAt = new Map<string, number>();
  private readonly arrivedAt = new Map<string, number>();

  sent(messageId: string, at: number): void {
    const arrival = this.arrivedAt.get(messageId);
    if (arrival === undefined) this.sentAt.set(messageId, at);
    else {
      this.arrivedAt.delete(messageId);
      this.latencies.push(arrival - at);
    }
  }

  /** Use as (or inside) the target's `respond`. */
  receive(request: Received, at = performance.now()): void {
    const messageId = String(request.headers['x-handover-message-id']);
    if (this.arrived.has(messageId)) {
      this.duplicates += 1;
      return;
    }
    this.arrived.add(messageId);
    this.lastArrival = at;
    const sent = this.sentAt.get(messageId);
    if (sent === undefined) this.arrivedAt.set(messageId, at);
    else {
      this.sentAt.delete(messageId);
      this.latencies.push(at - sent);
    }
  }

  /** Messages answered 202 that have not reached the target (yet). */
  get waiting(): number {
    return this.sentAt.size;
  }

  /** Messages that reached the target although their sender saw no 202 (its request failed after the hub took it). */
  get unannounced(): number {
    return this.arrivedAt.size;
  }

  /** Resolves once `count` distinct messages arrived, or rejects after `timeoutMs`. */
  async waitFor(count: number, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.arrived.size < count) {
      if (Date.now() > deadline)
        throw new Error(`${this.arrived.size} of ${count} documents arrived in ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

/** Keep-alive connections for the load generator (node:http costs the sender far less CPU than fetch). */
const senderAgent = new Agent({ keepAlive: true });
const SEND_TIMEOUT_MS = 10_000;

/** Posts one document to the hub's door as `erp`: the message id of a 202, or the status and error code of a refusal. */
export async function postOrder(
  url: string,
  body: string,
): Promise<{ messageId: string } | { messageId?: undefined; status: number; code?: string }> {
  const { status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
    const sent = request(
      `${url}/api/v1/inbound/erp`,
      {
        method: 'POST',
        agent: senderAgent,
        headers: {
          authorization: 'Bearer erp-token',
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
        },
      },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, text }));
        response.on('error', reject);
      },
    );
    sent.on('error', reject);
    // fetch gave up on a connection after 10 s; so does the sender, instead of waiting for ever.
    sent.setTimeout(SEND_TIMEOUT_MS, () => sent.destroy(new Error(`no answer within ${SEND_TIMEOUT_MS} ms`)));
    sent.end(body);
  });
  const answer = JSON.parse(text) as { messageId?: string; error?: { code?: string } };
  if (status === 202 && answer.messageId) return { messageId: answer.messageId };
  return { status, ...(answer.error?.code ? { code: answer.error.code } : {}) };
}

/**
 * POSTs `body` to `url` over `agent` without waiting for the answer: what the baselines' bare
 * forwarders do (a failed send is left to the target's count of arrivals).
 */
export function postAndForget(agent: Agent, url: URL, body: string | Buffer, headers: Record<string, string>): void {
  const options = { hostname: url.hostname, port: url.port, path: url.pathname, method: 'POST', agent };
  request({ ...options, headers: { ...headers, 'content-length': Buffer.byteLength(body) } }, (res) => res.resume())
    .on('error', () => undefined)
    .end(body);
}

export interface HubProcess {
  url: string;
  pid: number;
  /** Every process of the hub (api first). */
  pids: number[];
  dataDir: string;
  stop(): Promise<void>;
}

/**
 * The hub as its own processes from the build (`npm run build` first), as in production, so it does
 * not share a core with the load: SQLite in a fresh data directory, the given Redis, one route to
 * `targetUrl`. One `handover start` (BENCH_WORKERS unset or 0), or one `--role api` and BENCH_WORKERS
 * `--role worker` processes on the same store and Redis; `pid` is the api's.
 */
export async function startHubProcess(redisUrl: string, targetUrl: string): Promise<HubProcess> {
  const dataDir = mkdtempSync(join(tmpdir(), 'handover-bench-'));
  const configFile = writeOrdersConfig(dataDir, targetUrl);
  const port = await freePort();
  const workers = Number(process.env.BENCH_WORKERS ?? 0);
  const start = (role: string, listen: number) =>
    spawnHandover(['start', '--config', configFile, '--port', String(listen), '--role', role], {
      env: {
        ...process.env,
        HANDOVER_DATA_DIR: dataDir,
        REDIS_URL: redisUrl,
        HANDOVER_TOKEN_ERP: 'erp-token',
        HANDOVER_ADMIN_TOKEN: 'bench-admin',
        LOG_LEVEL: 'warn',
      },
      fromBuild: true,
      nodeOptions: process.env.BENCH_PROFILE ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_PROFILE] : [],
    });
  const children = [start(workers > 0 ? 'api' : 'all', port)];
  for (let n = 0; n < workers; n += 1) children.push(start('worker', 0));
  const url = `http://127.0.0.1:${port}`;
  await hubReady(url, 30000);
  return {
    url,
    pid: children[0]!.pid!,
    pids: children.map((child) => child.pid!),
    dataDir,
    stop: async () => {
      await Promise.all(
        children.map(async (child) => {
          if (child.exitCode !== null) return;
          child.kill('SIGTERM');
          await once(child, 'exit');
        }),
      );
    },
  };
}

/** The hub's shape as the benchmarks print it. */
export function hubShape(): string {
  const workers = Number(process.env.BENCH_WORKERS ?? 0);
  const shape = workers > 0 ? `api + ${workers} worker process(es)` : 'one process';
  return process.env.BENCH_STANDBY === '1' ? `${shape}, and a standby api process` : shape;
}

/**
 * The baseline: `count` raw BullMQ jobs of the same payloads on the same Redis, `Queue.add` and a
 * `Worker` (concurrency `concurrency`) that does nothing — all at once, or offered at `perSecond`.
 */
export async function rawBullmq(
  redisUrl: string,
  options: { count: number; concurrency: number; perSecond?: number; name?: string; redisPid?: number },
): Promise<Figures> {
  const meter = new CpuMeter({
    'generator + queue + worker': [process.pid],
    ...(options.redisPid ? { redis: [options.redisPid] } : {}),
  });
  const connection = { url: redisUrl, maxRetriesPerRequest: null };
  const queue = new Queue('bench-raw', { connection, prefix: 'bench' });
  await queue.obliterate({ force: true });
  const added = new Map<string, number>();
  const latencies: number[] = [];
  let done = 0;
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const worker = new Worker(
    'bench-raw',
    async (job) => {
      latencies.push(performance.now() - added.get(job.id!)!);
      if (++done === options.count) finish();
    },
    { connection, prefix: 'bench', concurrency: options.concurrency },
  );
  const add = async (index: number) => {
    added.set(`raw-${index}`, performance.now());
    await queue.add('raw', { body: payload(index) }, { jobId: `raw-${index}`, removeOnComplete: true });
  };
  const started = performance.now();
  meter.start();
  if (options.perSecond === undefined) await pool(options.count, options.concurrency, add);
  else await paced(options.perSecond, options.count, add);
  await finished;
  const result = report(
    options.name ?? 'baseline: raw BullMQ add+process',
    options.count,
    performance.now() - started,
    latencies,
  );
  if (options.perSecond === undefined) meter.report(options.count);
  await worker.close();
  await queue.obliterate({ force: true });
  await queue.close();
  return result;
}

/**
 * Offers `count` documents to the hub at `perSecond` and waits for all of them at `target`:
 * throughput from the first send to the last arrival, latency from each send to its arrival.
 */
export async function hubPaced(
  url: string,
  target: HttpTarget,
  perSecond: number,
  count: number,
  options: { firstIndex?: number; name?: string; drainTimeoutMs?: number } = {},
): Promise<Figures & { accepted: number }> {
  const tracker = new ArrivalTracker();
  target.respond = (request) => {
    tracker.receive(request);
    return 200;
  };
  const started = performance.now();
  let accepted = 0;
  await paced(perSecond, count, async (index) => {
    const before = performance.now();
    const { messageId } = await postOrder(url, payload((options.firstIndex ?? 0) + index));
    if (messageId === undefined) return;
    accepted += 1;
    tracker.sent(messageId, before);
  });
  await tracker.waitFor(accepted, options.drainTimeoutMs ?? 600_000);
  const result = report(
    options.name ?? `handover paced at ${perSecond}/s`,
    accepted,
    tracker.lastArrival - started,
    tracker.latencies,
  );
  return { ...result, accepted };
}

/** CPU time of a process so far, in microseconds, from /proc (Linux); this process's own from Node. */
function cpuMicros(pid: number): number {
  if (pid === process.pid) {
    const usage = process.cpuUsage();
    return usage.user + usage.system;
  }
  // Fields 14 and 15 of /proc/<pid>/stat (after the command in parentheses): utime and stime in ticks.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1_000_000) / TICKS_PER_SECOND;
}

/** Linux's USER_HZ, the unit of /proc/<pid>/stat's times on every mainstream kernel. */
const TICKS_PER_SECOND = 100;

/** The pid of the redis-server a benchmark started in `dataDir` (ensureRedis writes it down). */
export function redisPid(dataDir: string): number {
  return (JSON.parse(readFileSync(join(dataDir, 'redis', 'instance.json'), 'utf8')) as { pid: number }).pid;
}

/**
 * CPU spent per document by each named group of processes between `start()` and `report(count)`:
 * where a run's cores went, so a figure says what bounds it (2 cores = 2 000 000 µs per second).
 */
export class CpuMeter {
  private readonly before = new Map<string, number>();
  private startedAt = 0;

  constructor(private readonly groups: Record<string, number[]>) {}

  start(): void {
    this.startedAt = performance.now();
    for (const [name, pids] of Object.entries(this.groups)) this.before.set(name, sum(pids.map(cpuMicros)));
  }

  /** Prints µs of CPU per document per group and the cores each used on average. */
  report(count: number): Record<string, number> {
    const seconds = (performance.now() - this.startedAt) / 1000;
    const perDocument: Record<string, number> = {};
    const parts: string[] = [];
    for (const [name, pids] of Object.entries(this.groups)) {
      const used = sum(pids.map(cpuMicros)) - this.before.get(name)!;
      perDocument[name] = used / count;
      parts.push(`${name} ${(used / count).toFixed(0)} µs (${(used / 1e6 / seconds).toFixed(2)} cores)`);
    }
    const total = sum(Object.values(perDocument));
    console.log(`  CPU per document: ${parts.join(', ')}; total ${total.toFixed(0)} µs`);
    return perDocument;
  }
}

function sum(values: number[]): number {
  return values.reduce((total, value) => total + value, 0);
}

/** The processes of a floor: the door, which prints its port first, and what it measures (process ids by name). */
export interface FloorProcesses {
  door: ChildProcessByStdio<null, Readable, null>;
  others: ChildProcess[];
  /** Resolves once every process but the door is ready. */
  ready: Promise<unknown>;
  groups: Record<string, number[]>;
}

/**
 * A floor benchmark: the raw BullMQ hop, then `start`'s processes under the load of
 * bench/hub-throughput.ts (`documents` orders from `concurrency` senders to the same HTTP target)
 * until all have arrived; prints the figures, the CPU per document of each group and the ratio.
 */
export async function floorBenchmark(options: {
  documents: number;
  concurrency: number;
  name: string;
  ratio: string;
  timeoutMs: number;
  start(redisUrl: string, targetUrl: string, redisPid: number): FloorProcesses;
}): Promise<void> {
  const { documents, concurrency } = options;
  const redisDir = mkdtempSync(join(tmpdir(), 'handover-bench-redis-'));
  const redis = await ensureRedis({ dataDir: redisDir });
  console.log(`${documents} ProductionOrder documents, concurrency ${concurrency}, node ${process.version}`);
  const raw = await rawBullmq(redis.url, { count: documents, concurrency, redisPid: redisPid(redisDir) });
  const target = await startHttpTarget();
  const processes = options.start(redis.url, target.url, redisPid(redisDir));
  try {
    const [port] = (await once(processes.door.stdout, 'data')) as [Buffer];
    await processes.ready;
    const meter = new CpuMeter({ ...processes.groups, 'generator + target': [process.pid] });
    const tracker = new ArrivalTracker();
    target.respond = (received) => {
      tracker.receive(received);
      return 200;
    };
    const url = `http://127.0.0.1:${String(port).trim()}`;
    const started = performance.now();
    meter.start();
    await pool(documents, concurrency, async (index) => {
      const before = performance.now();
      const { messageId } = await postOrder(url, payload(index));
      if (messageId !== undefined) tracker.sent(messageId, before);
    });
    await tracker.waitFor(documents, options.timeoutMs);
    const floor = report(options.name, documents, tracker.lastArrival - started, tracker.latencies);
    meter.report(documents);
    console.log(`${options.ratio}: ${(floor.rate / raw.rate).toFixed(2)}`);
  } finally {
    for (const child of [processes.door, ...processes.others]) child.kill();
    await target.close();
    await redis.stop();
  }
}

/** A line's order, Running since `at`, as ERP sends it to the door (the context benches). */
export function runningOrder(line: string, at: string): string {
  return JSON.stringify({
    messageId: `bench-${line}`,
    sourceSystem: 'erp',
    receivedAt: at,
    occurredAt: at,
    type: 'ProductionOrder',
    objectKey: `PO-${line}`,
    document: {
      id: `PO-${line}`,
      state: 'Running',
      hierarchyScope: { equipmentId: line, equipmentLevel: 'WorkCenter' },
      segments: [
        {
          id: '0010',
          processSegmentId: 'PACK',
          operationsDefinitionId: 'PACK',
          operationsSegmentId: '0010',
          equipment: [],
          materials: [{ id: 'out', materialDefinitionId: 'FG-500', use: 'Produced' }],
        },
      ],
    },
  });
}
