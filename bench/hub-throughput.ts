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

/** The hub runs as its own process, as in production, so it does not share a core with the load. */
async function startHubProcess(redisUrl: string, targetUrl: string): Promise<{ url: string; stop(): Promise<void> }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'handover-bench-'));
  const configFile = writeOrdersConfig(dataDir, targetUrl);
  const port = await freePort();
  const child = spawnHandover(['start', '--config', configFile, '--port', String(port)], {
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
  const url = `http://127.0.0.1:${port}`;
  await hubReady(url, 30000);
  return {
    url,
    stop: async () => {
      child.kill('SIGTERM');
      await once(child, 'exit');
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
  const latencies: number[] = [];
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  target.respond = (request) => {
    const at = sent.get(String(request.headers['x-handover-message-id']));
    if (at !== undefined) latencies.push(performance.now() - at);
    if (latencies.length === count) finish();
    return 200;
  };
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
  await finished;
  report(`handover paced at ${perSecond}/s`, count, performance.now() - started, latencies);
}

async function saturate(url: string, target: HttpTarget): Promise<number> {
  const hub = { url };
  const sent = new Map<string, number>();
  const latencies: number[] = [];
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const respond = target.respond;
  target.respond = (request) => {
    const at = sent.get(String(request.headers['x-handover-message-id']));
    if (at !== undefined) latencies.push(performance.now() - at);
    if (latencies.length === documents) finish();
    return respond(request);
  };
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
  await finished;
  const rate = report('handover: inbound → target', documents, performance.now() - started, latencies);
  console.log(`  (the door accepted ${(documents / (accepting / 1000)).toFixed(0)} docs/s while the workers ran)`);
  return rate;
}

async function main(): Promise<void> {
  const redis = await ensureRedis({ dataDir: mkdtempSync(join(tmpdir(), 'handover-bench-redis-')) });
  console.log(
    `${documents} ProductionOrder documents (${Buffer.byteLength(payload(0))} B), concurrency ${concurrency}, Redis with appendfsync always, node ${process.version}`,
  );
  const raw = await rawBullmq(redis.url);
  const hub = await hubEndToEnd(redis.url);
  console.log(`ratio handover / raw BullMQ: ${(hub / raw).toFixed(2)}`);
  await redis.stop();
}

void main();
