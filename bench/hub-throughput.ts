/**
 * End-to-end benchmark: documents/s and latency from POST /api/v1/inbound to a 2xx at a local HTTP
 * target, next to a raw BullMQ hop (add + process of the same payloads) on the same Redis, in the
 * same run. Prints the ratio. Run: npm run build && npx tsx bench/hub-throughput.ts [documents] [concurrency] [paced docs/s]
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureRedis } from '../hub/queue/redis-server';
import { startHttpTarget, type HttpTarget } from '../test/support/http-target';
import {
  ArrivalTracker,
  CpuMeter,
  hubPaced,
  hubShape,
  payload,
  pool,
  postOrder,
  rawBullmq,
  redisPid,
  report,
  startHubProcess,
} from './support';

const documents = Number(process.argv[2] ?? 5000);
const concurrency = Number(process.argv[3] ?? 64);
const pacedRate = Number(process.argv[4] ?? 100);

async function hubEndToEnd(redisUrl: string, redis: number): Promise<number> {
  const target = await startHttpTarget();
  const hub = await startHubProcess(redisUrl, target.url);
  // With the roles, the api and the workers each get a figure: which of them bounds the run.
  const [api, ...workers] = hub.pids;
  const hubGroups: Record<string, number[]> = workers.length > 0 ? { api: [api!], workers } : { hub: hub.pids };
  const meter = new CpuMeter({ ...hubGroups, redis: [redis], 'generator + target': [process.pid] });
  meter.start();
  const rate = await saturate(hub.url, target);
  meter.report(documents);
  await hubPaced(hub.url, target, pacedRate, pacedRate * 10, { firstIndex: documents });
  await hub.stop();
  await target.close();
  return rate;
}

async function saturate(url: string, target: HttpTarget): Promise<number> {
  const tracker = new ArrivalTracker();
  target.respond = (request) => {
    tracker.receive(request);
    return 200;
  };
  const started = performance.now();
  await pool(documents, concurrency, async (index) => {
    const before = performance.now();
    const { messageId } = await postOrder(url, payload(index));
    if (messageId !== undefined) tracker.sent(messageId, before);
  });
  const accepting = performance.now() - started;
  await tracker.waitFor(documents, 600_000);
  const { rate } = report('handover: inbound → target', documents, tracker.lastArrival - started, tracker.latencies);
  console.log(`  (the door accepted ${(documents / (accepting / 1000)).toFixed(0)} docs/s while the workers ran)`);
  return rate;
}

async function main(): Promise<void> {
  const redisDir = mkdtempSync(join(tmpdir(), 'handover-bench-redis-'));
  const redis = await ensureRedis({ dataDir: redisDir });
  console.log(
    `${documents} ProductionOrder documents (${Buffer.byteLength(payload(0))} B), concurrency ${concurrency}, Redis with appendfsync always, node ${process.version}, hub: ${hubShape()}`,
  );
  const redisProcess = redisPid(redisDir);
  const raw = await rawBullmq(redis.url, { count: documents, concurrency, redisPid: redisProcess });
  const hub = await hubEndToEnd(redis.url, redisProcess);
  console.log(`ratio handover / raw BullMQ: ${(hub / raw.rate).toFixed(2)}`);
  await redis.stop();
}

void main();
