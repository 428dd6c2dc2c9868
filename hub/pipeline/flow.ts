/**
 * The flow figures of the console, shared by every process: each process adds what its own counters
 * (hub/metrics.ts) rose by to a Redis hash per 10 seconds, so an api process answers for the whole
 * hub, also for the workers' decisions and deliveries. Nothing is added on the hot paths: the counters
 * are read every FLUSH_MS. Buckets live two hours.
 */
import type { Counter, Histogram } from 'prom-client';
import type { HubContext } from '../context';

export const BUCKET_SECONDS = 10;
const FLUSH_MS = 2000;
const KEEP_SECONDS = 2 * 3600;
const bucketKey = (start: number) => `handover:flow:${start}`;

/**
 * One 10-second bucket: counts by field, `in:<system>`, `out:<target>`, `decision:<kind>`,
 * `dead:<stage>`, `error:<code>`, and the queue wait histogram's cumulative bucket counts,
 * `wait:<stage>:<lane>:<le>` (queue-stats.ts reads the p95 waits off them).
 */
export interface FlowBucket {
  /** Start of the bucket, epoch seconds. */
  at: number;
  counts: Record<string, number>;
}

/** Which counter series feed which flow field. */
function fieldsOf(
  metrics: HubContext['metrics'],
): Array<
  [Counter | Histogram, (labels: Partial<Record<string, string | number>>, series: string) => string | undefined]
> {
  return [
    [metrics.inbound, (l) => (l['outcome'] === 'accepted' ? `in:${l['system']}` : `error:${l['outcome']}`)],
    [metrics.decisions, (l) => `decision:${l['decision']}`],
    [
      metrics.deliveries,
      (l) =>
        l['outcome'] === 'delivered' ? `out:${l['target']}` : l['outcome'] === 'dead' ? `dead:deliver` : undefined,
    ],
    [metrics.deadLetters, (l) => (l['stage'] === 'ingest' ? 'dead:ingest' : undefined)],
    [metrics.signals, () => 'signals'],
    [
      metrics.queueWait,
      (l, series) => (series.endsWith('_bucket') ? `wait:${l['stage']}:${l['lane']}:${l['le']}` : undefined),
    ],
  ];
}

/** Starts adding this process's counts to the shared buckets; `stop` flushes what is left. */
export function startFlowRecorder(ctx: Pick<HubContext, 'metrics' | 'redis' | 'logger'>): { stop(): Promise<void> } {
  const sent = new Map<string, number>();
  let failing = false;
  const flush = async () => {
    const totals = new Map<string, number>();
    for (const [counter, field] of fieldsOf(ctx.metrics))
      for (const value of (await counter.get()).values) {
        const name = field(value.labels, (value as { metricName?: string }).metricName ?? '');
        if (name) totals.set(name, (totals.get(name) ?? 0) + value.value);
      }
    const rises = [...totals].filter(([name, total]) => total > (sent.get(name) ?? 0));
    if (rises.length === 0) return;
    const key = bucketKey(Math.floor(Date.now() / 1000 / BUCKET_SECONDS) * BUCKET_SECONDS);
    const batch = ctx.redis.multi();
    for (const [name, total] of rises) batch.hincrby(key, name, total - (sent.get(name) ?? 0));
    batch.expire(key, KEEP_SECONDS);
    try {
      await batch.exec();
      for (const [name, total] of rises) sent.set(name, total);
      failing = false;
    } catch (error) {
      // Kept for the next flush: the rise is still there.
      if (!failing) ctx.logger.warn({ err: error }, 'flow figures could not be written to Redis');
      failing = true;
    }
  };
  let running = Promise.resolve();
  const timer = setInterval(() => {
    running = running.then(flush).catch(() => undefined);
  }, FLUSH_MS);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
      await flush().catch(() => undefined);
    },
  };
}

/** The buckets of the last `seconds`, oldest first (empty ones included, so a chart has every step). */
export async function readFlow(
  ctx: Pick<HubContext, 'redis'>,
  seconds: number,
  now = Date.now(),
): Promise<FlowBucket[]> {
  const last = Math.floor(now / 1000 / BUCKET_SECONDS) * BUCKET_SECONDS;
  const starts: number[] = [];
  for (let at = last - Math.ceil(seconds / BUCKET_SECONDS - 1) * BUCKET_SECONDS; at <= last; at += BUCKET_SECONDS)
    starts.push(at);
  const hashes = await Promise.all(starts.map((at) => ctx.redis.hgetall(bucketKey(at))));
  return starts.map((at, index) => ({
    at,
    counts: Object.fromEntries(Object.entries(hashes[index] ?? {}).map(([name, value]) => [name, Number(value)])),
  }));
}
