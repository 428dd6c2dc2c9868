/**
 * Jobs that keep failing: every failed attempt is logged, and the last one becomes a dead letter
 * (PROCESSING_FAILED) with an audit record, so no job is retried forever or parked in silence.
 */
import type { Job, Worker } from 'bullmq';
import type { HubContext } from '../context';
import { isIngestQueue } from '../queue/queue-keys';
import { getDelivery, recordDead, recordProcessingFailed } from '../store/index';
import { DeliveryFailed } from './deliver';
import { laneOf } from './queue-stats';
import type { IngestJob } from './jobs';
import { BatchPartlyFailed, receivedMessage, unfinishedMessages } from './ingest';

/**
 * The first line of an error and the first frame of its stack: enough to find the bug, short
 * enough for a dead letter's reason and a log line.
 * @example firstLine(new TypeError('x is undefined')) // 'TypeError: x is undefined (at applyDocument (…/objects.ts:80:11))'
 */
export function firstLine(error: unknown): string {
  if (!(error instanceof Error)) return String(error).split('\n')[0]!;
  const head = `${error.name}: ${error.message.split('\n')[0]}`;
  const frame = error.stack
    ?.split('\n')
    .map((line) => line.trim())
    .find((line) => line.startsWith('at '));
  return frame ? `${head} (${frame})` : head;
}

/** True when a job that fails now will not be tried again. */
function lastAttempt(job: Job): boolean {
  return job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
}

/**
 * Wraps a processor: an exception on the job's last attempt files a dead letter instead of
 * leaving a failed job in Redis that nobody looks at. A shutdown is not a failure: it rethrows.
 */
export function guarded<T>(
  ctx: HubContext,
  queue: string,
  processor: (job: Job<T>) => Promise<void>,
  signal?: AbortSignal,
): (job: Job<T>) => Promise<void> {
  const lane = laneOf(queue);
  return async (job) => {
    // The wait before the first start; a retry's wait is its backoff, not the queue's.
    if (job.attemptsMade === 0 && job.timestamp > 0)
      ctx.metrics.queueWait.observe(lane, Math.max(0, Date.now() - job.timestamp) / 1000);
    try {
      await processor(job);
    } catch (error) {
      if (signal?.aborted || !lastAttempt(job)) throw error;
      await parkFailed(ctx, queue, job, firstLine(error), job.attemptsMade + 1, error);
    }
  };
}

/** Logs every failed attempt of a worker's jobs, and every stall, with what an operator needs to find it. */
export function logFailures(ctx: HubContext, worker: Worker): void {
  worker.on('failed', (job, error) => {
    ctx.logger.warn(
      {
        jobId: job?.id,
        queue: worker.name,
        attempt: job?.attemptsMade,
        attempts: job?.opts.attempts,
        error: firstLine(error),
      },
      'job failed',
    );
  });
  worker.on('stalled', (jobId) => ctx.logger.warn({ jobId, queue: worker.name }, 'job stalled'));
}

/**
 * Files the dead letter for a job that will not run again: the messages of an ingest job it did
 * not record, or the delivery a deliver job failed on (named by `error`, by a replay's job, or else
 * the oldest pending delivery of its partition, which held the partition up), each
 * PROCESSING_FAILED with `reason`, audited in the same transaction.
 */
export async function parkFailed(
  ctx: HubContext,
  queue: string,
  job: Job,
  reason: string,
  attempts = job.attemptsMade + 1,
  error?: unknown,
): Promise<void> {
  const detail = `${queue} job ${job.id} failed on attempt ${attempts} of ${job.opts.attempts ?? 1}: ${reason}`;
  const ingest = isIngestQueue(queue);
  ctx.metrics.deadLetters.inc({ stage: ingest ? 'ingest' : 'deliver' });
  ctx.logger.error({ jobId: job.id, queue, attempts, error: reason }, 'job dead-lettered');
  if (ingest) {
    const failed = error instanceof BatchPartlyFailed ? new Set(error.failed) : undefined;
    for (const message of await unfinishedMessages(ctx, job.data as IngestJob)) {
      if (failed && !failed.has(message.messageId)) continue;
      await recordProcessingFailed(ctx.db, {
        messageId: message.messageId,
        system: message.system,
        reason: detail,
        details: { queue, jobId: job.id, attempts },
        message: receivedMessage(message, { name: 'none', documents: 0 }),
      });
    }
    return;
  }
  // A drain that failed without naming its delivery (a stall, a store error) files none: its
  // deliveries stay pending for the next drain, and one that keeps killing its worker is filed by
  // its claims (hub/pipeline/deliver.ts).
  if (!(error instanceof DeliveryFailed)) return;
  const delivery = await getDelivery(ctx.db, error.deliveryId);
  if (delivery?.status === 'pending')
    await recordDead(ctx.db, delivery, delivery.attempts, 'PROCESSING_FAILED', detail);
}
