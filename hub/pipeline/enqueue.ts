/** Putting an inbound payload on the ingest queue, for the HTTP door and for connectors alike. */
import { randomUUID } from 'node:crypto';
import type { HubContext } from '../context';
import { withDeadline } from '../deadline';
import { RECEIVED_SEQUENCE_KEY, idempotencyKey } from '../queue/queue-keys';
import { messageExists } from '../store/index';
import type { IngestJob } from './jobs';

/** How long an Idempotency-Key is remembered at the door (the store remembers it for good). */
const IDEMPOTENCY_TTL_SECONDS = 7 * 24 * 3600;

/**
 * How long the door waits for Redis. ioredis holds commands while it reconnects, so without a bound
 * a request would hang for the whole outage.
 */
const QUEUE_DEADLINE_MS = 1500;

/** Thrown for an Idempotency-Key the hub cannot use. */
export class IdempotencyKeyError extends Error {}

/**
 * Thrown when Redis is unreachable or too slow to answer: the sender should retry later. The message
 * may still land (a timed-out add can complete afterwards); a retry with the same Idempotency-Key
 * then gets that message's id back, and without a key the sender may cause a duplicate.
 */
export class QueueUnavailableError extends Error {}

/**
 * Queues the message and returns its id. With an Idempotency-Key, a repeat gets the first
 * message id back; if the first request died between remembering the key and queueing, the
 * repeat queues it under that same id.
 */
export async function enqueueInbound(
  ctx: HubContext,
  partial: Omit<IngestJob, 'messageId' | 'receivedSeq'>,
  key: string | undefined,
): Promise<string> {
  if (key !== undefined && (key.length === 0 || key.length > 255))
    throw new IdempotencyKeyError('Idempotency-Key must have 1 to 255 characters');
  // Known to be down: answer at once rather than pile commands up in ioredis' offline queue.
  if (ctx.redis.status !== 'ready') throw new QueueUnavailableError(`Redis is not connected (${ctx.redis.status})`);
  return withDeadline(
    enqueue(ctx, partial, key),
    QUEUE_DEADLINE_MS,
    () => new QueueUnavailableError(`Redis did not answer within ${QUEUE_DEADLINE_MS} ms`),
  );
}

async function enqueue(
  ctx: HubContext,
  partial: Omit<IngestJob, 'messageId' | 'receivedSeq'>,
  key: string | undefined,
): Promise<string> {
  let messageId: string = randomUUID();
  if (key !== undefined) {
    const redisKey = idempotencyKey(partial.system, key);
    const claimed = await ctx.redis.set(redisKey, messageId, 'EX', IDEMPOTENCY_TTL_SECONDS, 'NX');
    if (claimed === null) {
      const first = await ctx.redis.get(redisKey);
      if (first) {
        if ((await ctx.queues.ingest.getJob(first)) || (await messageExists(ctx.db, first))) return first;
        messageId = first;
      }
    }
  }
  const receivedSeq = await ctx.redis.incr(RECEIVED_SEQUENCE_KEY);
  const job: IngestJob = { ...partial, messageId, receivedSeq, ...(key === undefined ? {} : { idempotencyKey: key }) };
  await ctx.queues.ingest.add('ingest', job, { jobId: messageId });
  return messageId;
}
