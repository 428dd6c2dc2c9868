/**
 * The outbox sweep: state the store committed but no queue holds (a crash between commit and
 * queue) is queued again — a partition with pending deliveries and no job to deliver them, ingest
 * replays never queued — and
 * jobs that failed for good (a stall limit, a dead letter that could not be written) are filed as
 * dead letters. Runs at start-up and then periodically; job ids make every re-add idempotent, and
 * processors do nothing for work that is no longer pending.
 */
import type { HubContext } from '../context';
import { SWEEP_LOCK_KEY, parkedJobKey } from '../queue/queue-keys';
import { pendingPartitions, unstartedReplayRequests } from '../store/index';
import { parkFailed } from './failures';
import { everyIntervalUnderLock, type Periodic } from './periodic';
import { queueIngestReplay } from './replay';

/** How often the sweep runs unless configured otherwise. */
export const SWEEP_INTERVAL_MS = 30000;

/** How many rows of each kind one sweep looks at: it stays cheap, the next sweep takes the rest. */
const BATCH = 1000;

export interface SweepResult {
  deliveries: number;
  replays: number;
  parked: number;
}

/** One sweep; returns what it queued again and how many failed jobs it filed. */
export async function sweepOutbox(ctx: HubContext): Promise<SweepResult> {
  const result: SweepResult = { deliveries: 0, replays: 0, parked: 0 };
  for (const { target, partition, pending } of await pendingPartitions(ctx.db)) {
    // Rows no configured partition holds are realigned when delivery workers start (realignPartitions).
    if (partition === null || partition >= ctx.config.partitions) continue;
    const queue = ctx.queues.deliver(target, partition);
    // A waiting, delayed or running job delivers everything pending in its partition.
    const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
    if (Object.values(counts).some((count) => count > 0)) continue;
    await queue.add('deliver', {}, { jobId: `sweep-${Date.now()}-${target}-${partition}` });
    result.deliveries += pending;
  }
  for (const request of await unstartedReplayRequests(ctx.db, BATCH)) {
    const queues = [ctx.queues.ingest, ...(ctx.queues.contextIngest ? [ctx.queues.contextIngest] : [])];
    if ((await Promise.all(queues.map((queue) => queue.getJob(request.id)))).some(Boolean)) continue;
    await queueIngestReplay(ctx, request.messageId, request.id, request.mapping);
    result.replays += 1;
  }
  for (const queue of ctx.queues.all()) {
    for (const job of await queue.getFailed(0, 99)) {
      if (!job?.id) continue;
      // Several processes may sweep; only the one that claims the job files its dead letter.
      const claimed = await ctx.redis.set(parkedJobKey(queue.name, job.id), '1', 'EX', 86400, 'NX');
      if (claimed === null) continue;
      try {
        await parkFailed(ctx, queue.name, job, job.failedReason ?? 'failed for good', job.attemptsStarted);
        await job.remove();
      } catch (error) {
        await ctx.redis.del(parkedJobKey(queue.name, job.id));
        throw error;
      }
      result.parked += 1;
    }
  }
  if (result.deliveries + result.replays + result.parked > 0) ctx.logger.warn(result, 'outbox sweep queued lost work');
  return result;
}

/**
 * Runs the sweep every `intervalMs` in one process at a time (a Redis lock that expires with the
 * interval); a failing sweep is logged and tried again at the next tick.
 */
export function startOutboxSweeper(ctx: HubContext, intervalMs = SWEEP_INTERVAL_MS): Periodic {
  return everyIntervalUnderLock(
    ctx,
    {
      lockKey: SWEEP_LOCK_KEY,
      intervalMs,
      lockMs: Math.max(intervalMs - 100, 100),
      onError: (error) => ctx.logger.error({ err: error }, 'outbox sweep failed'),
    },
    () => sweepOutbox(ctx),
  );
}
