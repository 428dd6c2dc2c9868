/**
 * Where a document's time goes below saturation: documents offered at a fixed rate to a hub process
 * (api + BENCH_WORKERS workers, or one process), then each one's path read back from the hub's own
 * store — sent → recorded by the door's ingest (messages.received_at is the door's clock) → decided
 * (the ingest transaction) → at the target → outcome recorded — as p50 / p90 / p99 per stage.
 * Run: npm run build && npx tsx bench/latency-stages.ts [docs/s=100] [seconds=20]
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { ensureRedis } from '../hub/queue/redis-server';
import { startHttpTarget } from '../test/support/http-target';
import { hubShape, paced, payload, percentile, postOrder, startHubProcess } from './support';

const rate = Number(process.argv[2] ?? 100);
const seconds = Number(process.argv[3] ?? 20);
const WARM_UP = Math.min(500, rate * 2);

interface Path {
  sent: number;
  arrived?: number;
}

async function main(): Promise<void> {
  const redis = await ensureRedis({ dataDir: mkdtempSync(join(tmpdir(), 'handover-bench-redis-')) });
  const target = await startHttpTarget();
  const hub = await startHubProcess(redis.url, target.url);
  const paths = new Map<string, Path>();
  const early = new Map<string, number>();
  target.respond = (request) => {
    const messageId = String(request.headers['x-handover-message-id']);
    const path = paths.get(messageId);
    if (path) path.arrived ??= Date.now();
    else early.set(messageId, Date.now());
    return 200;
  };
  // Warm-up, not counted: the first documents pay for compilation and the store's first pages.
  await paced(rate, WARM_UP, async (index) => void (await postOrder(hub.url, payload(index))));
  paths.clear();
  await paced(rate, rate * seconds, async (index) => {
    const sent = Date.now();
    const { messageId } = await postOrder(hub.url, payload(WARM_UP + index));
    if (messageId === undefined) return;
    paths.set(messageId, { sent, ...(early.has(messageId) ? { arrived: early.get(messageId)! } : {}) });
  });
  const deadline = Date.now() + 120_000;
  while ([...paths.values()].some((path) => path.arrived === undefined) && Date.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, 100));
  await hub.stop();
  await target.close();
  await redis.stop();

  const db = new Database(join(hub.dataDir, 'handover.db'), { readonly: true });
  const rows = db
    .prepare(
      `SELECT m.id, m.received_at, d.decided_at, v.delivered_at
         FROM messages m JOIN decisions d ON d.message_id = m.id JOIN deliveries v ON v.message_id = m.id`,
    )
    .all() as Array<{ id: string; received_at: string; decided_at: string; delivered_at: string }>;
  db.close();
  const stages: Record<string, number[]> = {
    'sent → received (door)': [],
    'received → decided (ingest)': [],
    'decided → at the target': [],
    'at the target → outcome recorded': [],
    'sent → at the target (end to end)': [],
  };
  for (const row of rows) {
    const path = paths.get(row.id);
    if (!path?.arrived) continue;
    const received = Date.parse(row.received_at);
    const decided = Date.parse(row.decided_at);
    stages['sent → received (door)']!.push(received - path.sent);
    stages['received → decided (ingest)']!.push(decided - received);
    stages['decided → at the target']!.push(path.arrived - decided);
    stages['at the target → outcome recorded']!.push(Date.parse(row.delivered_at) - path.arrived);
    stages['sent → at the target (end to end)']!.push(path.arrived - path.sent);
  }
  console.log(
    `${rows.length} documents at ${rate}/s for ${seconds} s (after ${WARM_UP} not counted), hub: ${hubShape()}, node ${process.version}`,
  );
  console.log(`${'stage'.padEnd(36)}     p50     p90     p99  (ms)`);
  for (const [stage, values] of Object.entries(stages)) {
    const sorted = values.sort((a, b) => a - b);
    const cell = (p: number) => percentile(sorted, p).toFixed(0).padStart(7);
    console.log(`${stage.padEnd(36)} ${cell(50)} ${cell(90)} ${cell(99)}`);
  }
}

void main();
