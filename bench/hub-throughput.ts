/**
 * End-to-end benchmark: documents/s and latency from POST /api/v1/inbound to a 2xx at a local HTTP
 * target, next to a raw BullMQ hop (add + process of the same payloads) on the same Redis, in the
 * same run. Prints the ratio. Run: npm run build && npx tsx bench/hub-throughput.ts [documents] [concurrency] [paced docs/s]
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue, Worker } from 'bullmq';
import { once } from 'node:events';
import { ensureRedis } from '../hub/queue/redis-server';
import { startHttpTarget, type HttpTarget } from '../test/support/http-target';
import { freePort, hubReady, orderEnvelopeJson, spawnHandover, writeOrdersConfig } from '../test/support/hub-process';

const documents = Number(process.argv[2] ?? 5000);
const concurrency = Number(process.argv[3] ?? 64);
const pacedRate = Number(process.argv[4] ?? 100);

function payload(index: number): string {
  return orderEnvelopeJson(`PO-BENCH-${index}`);
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function report(name: string, count: number, elapsedMs: number, latencies: number[]): number {
  const sorted = [...latencies].sort((a, b) => a - b);
  const rate = count / (elapsedMs / 1000);
  console.log(
    `${name.padEnd(34)} ${rate.toFixed(0).padStart(7)} docs/s   p50 ${percentile(sorted, 50).toFixed(1).padStart(7)} ms   p99 ${percentile(sorted, 99).toFixed(1).padStart(7)} ms`,
  );
  return rate;
}

async function pool(count: number, work: (index: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) await work(next++);
    }),
  );
}

async function rawBullmq(url: string): Promise<number> {
  const connection = { url, maxRetriesPerRequest: null };
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
      if (++done === documents) finish();
    },
    { connection, prefix: 'bench', concurrency },
  );
  const started = performance.now();
  await pool(documents, async (index) => {
    added.set(`raw-${index}`, performance.now());
    await queue.add('raw', { body: payload(index) }, { jobId: `raw-${index}`, removeOnComplete: true });
  });
  await finished;
  const rate = report('baseline: raw BullMQ add+process', documents, performance.now() - started, latencies);
  await worker.close();
  await queue.obliterate({ force: true });
  await queue.close();
  return rate;
}

/**
 * The hub runs as its own processes, as in production, so it does not share a core with the load:
 * one `handover start` (BENCH_WORKERS=0, the default), or one `--role api` and BENCH_WORKERS
 * `--role worker` processes on the same SQLite file and Redis.
 */
async function startHubProcess(redisUrl: string, targetUrl: string): Promise<{ url: string; stop(): Promise<void> }> {
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
        LOG_LEVEL: 'warn',
      },
      fromBuild: true,
      nodeOptions: process.env.BENCH_PROFILE ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_PROFILE] : [],
    });
  const children = [start(workers === 0 ? 'all' : 'api', port)];
  for (let n = 0; n < workers; n += 1) children.push(start('worker', 0));
  const url = `http://127.0.0.1:${port}`;
  await hubReady(url, 30000);
  return {
    url,
    stop: async () => {
      await Promise.all(
        children.map(async (child) => {
          child.kill('SIGTERM');
          await once(child, 'exit');
        }),
      );
    },
  };
}

async function hubEndToEnd(redisUrl: string): Promise<number> {
  const target = await startHttpTarget();
  const hub = await startHubProcess(redisUrl, target.url);
  const rate = await saturate(hub.url, target);
  await paced(hub.url, target, pacedRate, pacedRate * 10);
  await hub.stop();
  await target.close();
  return rate;
}

/** Latency below saturation: documents sent at a fixed rate, not as fast as possible. */
async function paced(url: string, target: HttpTarget, perSecond: number, count: number): Promise<void> {
  const sent = new Map<string, number>();
  const arrived = arrivals(target, count);
  const started = performance.now();
  const posts: Promise<void>[] = [];
  for (let index = 0; index < count; index += 1) {
    const due = started + (index * 1000) / perSecond;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, due - performance.now())));
    const before = performance.now();
    posts.push(
      fetch(`${url}/api/v1/inbound/erp`, {
        method: 'POST',
        headers: { authorization: 'Bearer erp-token', 'content-type': 'application/json' },
        body: payload(documents + index),
      })
        .then((response) => response.json() as Promise<{ messageId: string }>)
        .then(({ messageId }) => void sent.set(messageId, before)),
    );
  }
  await Promise.all(posts);
  const at = await arrived;
  report(`handover paced at ${perSecond}/s`, count, performance.now() - started, latenciesOf(sent, at));
}

/**
 * When each message reached the target, resolved once `count` distinct ones have. A delivery may
 * arrive before its sender has read the 202 naming its message id, so the two are joined at the end.
 */
function arrivals(target: HttpTarget, count: number): Promise<Map<string, number>> {
  const at = new Map<string, number>();
  return new Promise((resolve) => {
    target.respond = (request) => {
      const messageId = String(request.headers['x-handover-message-id']);
      if (!at.has(messageId)) at.set(messageId, performance.now());
      if (at.size === count) resolve(at);
      return 200;
    };
  });
}

function latenciesOf(sent: Map<string, number>, arrived: Map<string, number>): number[] {
  return [...sent].map(([messageId, before]) => arrived.get(messageId)! - before);
}

async function saturate(url: string, target: HttpTarget): Promise<number> {
  const hub = { url };
  const sent = new Map<string, number>();
  const arrived = arrivals(target, documents);
  const started = performance.now();
  await pool(documents, async (index) => {
    const before = performance.now();
    const response = await fetch(`${hub.url}/api/v1/inbound/erp`, {
      method: 'POST',
      headers: { authorization: 'Bearer erp-token', 'content-type': 'application/json' },
      body: payload(index),
    });
    const { messageId } = (await response.json()) as { messageId: string };
    sent.set(messageId, before);
  });
  const accepting = performance.now() - started;
  const at = await arrived;
  const rate = report('handover: inbound → target', documents, performance.now() - started, latenciesOf(sent, at));
  console.log(`  (the door accepted ${(documents / (accepting / 1000)).toFixed(0)} docs/s while the workers ran)`);
  return rate;
}

async function main(): Promise<void> {
  const redis = await ensureRedis({ dataDir: mkdtempSync(join(tmpdir(), 'handover-bench-redis-')) });
  console.log(
    `${documents} ProductionOrder documents (${Buffer.byteLength(payload(0))} B), concurrency ${concurrency}, Redis with appendfsync always, node ${process.version}, hub: ${Number(process.env.BENCH_WORKERS ?? 0) === 0 ? 'one process' : `api + ${process.env.BENCH_WORKERS} worker process(es)`}`,
  );
  const raw = await rawBullmq(redis.url);
  const hub = await hubEndToEnd(redis.url);
  console.log(`ratio handover / raw BullMQ: ${(hub / raw).toFixed(2)}`);
  await redis.stop();
}

void main();
