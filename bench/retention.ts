/**
 * Retention on a filled store: N messages (each payload, decision, object, history, a delivered
 * delivery and three audit records) dated past the retention, then one run — rows removed per
 * second, the longest batch and the longest event-loop delay while it ran, store size before and after.
 * Run: npx tsx bench/retention.ts [messages=20000] [batchSize=500] [sqlite|postgres]
 */
import { mkdtempSync, readdirSync, statSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { wrap } from '../schemas/canonical-json';
import { examples } from '../schemas/examples';
import type { CanonicalEnvelope } from '../schemas/index';
import { DEFAULT_RETENTION, type HubConfig } from '../hub/config/schema';
import type { HubContext } from '../hub/context';
import { createMetrics } from '../hub/metrics';
import { runRetention } from '../hub/pipeline/retention';
import { applyDocument, getDelivery, openStore, recordDelivered, recordReceived, type Db } from '../hub/store/index';
import { freshSchema } from '../test/support/postgres';

const messages = Number(process.argv[2] ?? 20000);
const batchSize = Number(process.argv[3] ?? 500);
const backend = process.argv[4] ?? 'sqlite';

async function fill(db: Db, count: number): Promise<void> {
  const body = JSON.stringify(wrap('ProductionOrder', examples.ProductionOrder, 'erp'));
  const one = async (index: number) => {
    const id = `m-${index}`;
    const envelope = {
      ...wrap('ProductionOrder', { ...examples.ProductionOrder, id: `PO-${index}` }, 'erp'),
      messageId: id,
    } as CanonicalEnvelope;
    const receivedAt = new Date(Date.now() - 40 * 86_400_000 + index).toISOString();
    await recordReceived(db, {
      id,
      system: 'erp',
      receivedAt,
      receivedSeq: index,
      contentType: 'json',
      body,
      mapping: { name: 'canonical-json', documents: 1 },
    });
    await applyDocument(db, {
      messageId: id,
      docIndex: 0,
      envelope,
      receivedSeq: index,
      duplicateKey: false,
      partition: 0,
      ownership: { onNonOwnerWrite: 'reject', ProductionOrder: { owner: 'erp' } },
      plan: () => [{ routeId: 'orders-to-mes', target: 'mes', kind: 'update' }],
    });
    await recordDelivered(db, (await getDelivery(db, `${id}-0-mes`))!, 1, 200, 5);
  };
  for (let start = 0; start < count; start += 200)
    await Promise.all(Array.from({ length: Math.min(200, count - start) }, (_, i) => one(start + i)));
  await db.execute('UPDATE deliveries SET created_at = $1, delivered_at = $1', [
    new Date(Date.now() - 40 * 86_400_000).toISOString(),
  ]);
}

/** Bytes in use per message by each table and index (SQLite's dbstat), largest first. */
async function perMessage(db: Db, count: number): Promise<string> {
  const rows = await db.query<{ name: string; used: number }>(
    'SELECT name, SUM(pgsize - unused) AS used FROM dbstat GROUP BY name ORDER BY used DESC',
  );
  const total = rows.reduce((sum, row) => sum + Number(row.used), 0);
  const top = rows.slice(0, 8).map((row) => `${row.name} ${(Number(row.used) / count).toFixed(0)}`);
  return `${(total / count).toFixed(0)} B/message in use (${top.join(', ')}, …)`;
}

function sqliteBytes(dir: string): number {
  return readdirSync(dir)
    .filter((name) => name.startsWith('handover.db'))
    .reduce((sum, name) => sum + statSync(join(dir, name)).size, 0);
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'handover-retention-bench-'));
  const schema = backend === 'postgres' ? await freshSchema() : undefined;
  const db = await openStore({ dataDir, ...(schema ? { databaseUrl: schema.url } : {}) });
  const filling = performance.now();
  await fill(db, messages);
  console.log(`${backend}: ${messages} messages filled in ${((performance.now() - filling) / 1000).toFixed(1)} s`);
  const before = schema ? NaN : sqliteBytes(dataDir);
  if (!schema) console.log(`before: ${await perMessage(db, messages)}`);
  const metrics = createMetrics();
  const ctx = {
    config: { retention: { ...DEFAULT_RETENTION, batchSize } } as HubConfig,
    db,
    metrics,
    logger: pino({ level: 'silent' }),
  } as HubContext;
  const delay = monitorEventLoopDelay({ resolution: 5 });
  delay.enable();
  const started = performance.now();
  const run = await runRetention(ctx);
  const elapsed = (performance.now() - started) / 1000;
  delay.disable();
  // The smallest histogram bucket that holds every batch: an upper bound of the slowest one.
  const values = (await metrics.registry.getSingleMetric('handover_retention_batch_seconds')!.get()).values as Array<{
    metricName?: string;
    labels: Record<string, string | number>;
    value: number;
  }>;
  const slowest = (what: string) => {
    const count = values.find((v) => v.metricName?.endsWith('_count') && v.labels.what === what)?.value ?? 0;
    const les = values
      .filter((v) => v.metricName?.endsWith('_bucket') && v.labels.what === what && v.value === count)
      .map((v) => Number(v.labels.le))
      .filter((le) => Number.isFinite(le));
    return les.length ? Math.min(...les) * 1000 : Number.POSITIVE_INFINITY;
  };
  const removed = (run.payloads?.removed ?? 0) + (run.deliveries?.removed ?? 0);
  console.log(
    `removed ${run.payloads?.removed} payloads and ${run.deliveries?.removed} deliveries in ${run.batches} batches of ${batchSize}, ${elapsed.toFixed(1)} s: ${(removed / elapsed).toFixed(0)} rows/s`,
  );
  console.log(
    `slowest batch ≤ ${slowest('payload')} ms (payloads), ≤ ${slowest('delivery')} ms (deliveries); longest event-loop delay during the run ${(delay.max / 1e6).toFixed(1)} ms`,
  );
  if (!schema) console.log(`after:  ${await perMessage(db, messages)}`);
  if (!schema)
    console.log(
      `store ${(before / 1048576).toFixed(1)} MiB before, ${(sqliteBytes(dataDir) / 1048576).toFixed(1)} MiB after (SQLite keeps freed pages for reuse)`,
    );
  metrics.stop();
  await db.close();
  await schema?.drop();
}

void main();
