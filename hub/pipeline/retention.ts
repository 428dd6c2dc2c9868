/**
 * The retention run: removes payloads and completed deliveries past `retention.payloadDays` and
 * `retention.deliveryDays` in small batches, yielding to the event loop between them, and appends
 * one audit record per run. Worker processes run it periodically, one process at a time.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { HubContext } from '../context';
import { everyIntervalUnderLock, type Periodic } from './periodic';
import { RETENTION_LOCK_KEY } from '../queue/queue-keys';
import {
  WALK_START,
  recordRetentionRun,
  removeDeliveries,
  removePayloads,
  type Db,
  type RetentionBatch,
  type RetentionCursor,
  type RetentionRunSummary,
} from '../store/index';

const DAY_MS = 86_400_000;

export interface RetentionRunOptions {
  /** The time the ages are judged from; now unless given (tests date rows in the past instead). */
  now?: Date;
  /** The run stops after this long; the next run goes on from the start. */
  budgetMs?: number;
  signal?: AbortSignal;
}

/** One run: both walks up to their cutoffs (or the budget), then the audit record. */
export async function runRetention(ctx: HubContext, options: RetentionRunOptions = {}): Promise<RetentionRunSummary> {
  const { payloadDays, deliveryDays, batchSize } = ctx.config.retention;
  const started = Date.now();
  const now = options.now ?? new Date();
  const deadline = started + (options.budgetMs ?? Number.POSITIVE_INFINITY);
  const run: RetentionRunSummary = {
    startedAt: new Date(started).toISOString(),
    complete: true,
    batches: 0,
    durationMs: 0,
  };
  const stopped = () => options.signal?.aborted === true || Date.now() > deadline;

  const walk = async (
    what: 'payload' | 'delivery',
    days: number,
    remove: (db: Db, cutoff: string, cursor: RetentionCursor, limit: number) => Promise<RetentionBatch>,
  ) => {
    const cutoff = new Date(now.getTime() - days * DAY_MS).toISOString();
    const totals = { days, cutoff, removed: 0, kept: 0, remembered: 0 };
    let cursor: RetentionCursor | undefined = WALK_START;
    while (cursor) {
      if (stopped()) {
        run.complete = false;
        break;
      }
      const batchStarted = performance.now();
      const batch: RetentionBatch = await remove(ctx.db, cutoff, cursor, batchSize);
      ctx.metrics.retentionBatch.observe({ what }, (performance.now() - batchStarted) / 1000);
      ctx.metrics.retentionRemoved.inc({ what }, batch.removed);
      run.batches += 1;
      totals.removed += batch.removed;
      totals.kept += batch.kept;
      totals.remembered += batch.remembered;
      cursor = batch.next;
      // Between batches the hub's own work goes first.
      await nextTurn();
    }
    return totals;
  };

  if (payloadDays > 0) {
    const { days, cutoff, removed, kept } = await walk('payload', payloadDays, removePayloads);
    run.payloads = { days, cutoff, removed, kept };
  }
  if (deliveryDays > 0) run.deliveries = await walk('delivery', deliveryDays, removeDeliveries);
  run.durationMs = Date.now() - started;
  await recordRetentionRun(ctx.db, run);
  ctx.metrics.retentionRuns.inc({ outcome: run.complete ? 'complete' : 'partial' });
  const removed = (run.payloads?.removed ?? 0) + (run.deliveries?.removed ?? 0);
  if (removed > 0 || !run.complete)
    ctx.logger.info({ retention: run }, 'retention removed old payloads and deliveries');
  return run;
}

/**
 * Runs retention every `intervalMs` in one process at a time (a Redis lock that lapses with the
 * interval, as the outbox sweep's); a run stops at 80 % of the interval, and a failing run is
 * logged and tried again at the next tick. Nothing runs while both retention periods are 0.
 */
export function startRetention(ctx: HubContext, intervalMs: number): Periodic {
  const { payloadDays, deliveryDays } = ctx.config.retention;
  if (payloadDays === 0 && deliveryDays === 0) return { stop: async () => undefined };
  return everyIntervalUnderLock(
    ctx,
    {
      lockKey: RETENTION_LOCK_KEY,
      intervalMs,
      lockMs: intervalMs,
      onError: (error) => {
        ctx.metrics.retentionRuns.inc({ outcome: 'failed' });
        ctx.logger.error({ err: error }, 'retention run failed');
      },
    },
    (signal) => runRetention(ctx, { budgetMs: intervalMs * 0.8, signal }),
  );
}
