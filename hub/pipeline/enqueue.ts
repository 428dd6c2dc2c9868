/** Putting an inbound payload on the ingest queue, for the HTTP door and for connectors alike. */
import { randomUUID } from 'node:crypto';
import type { HubContext } from '../context';
import { RECEIVED_SEQUENCE_KEY, idempotencyKey } from '../queue/queue-keys';
import { messageExists } from '../store/index';
import type { IngestJob } from './jobs';

/** How long an Idempotency-Key is remembered at the door (the store remembers it for good). */
const IDEMPOTENCY_TTL_SECONDS = 7 * 24 * 3600;

/** Thrown for an Idempotency-Key the hub cannot use. */
export class IdempotencyKeyError extends Error {}

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
  let messageId: string = randomUUID();
  if (key !== undefined) {
    if (key.length === 0 || key.length > 255)
      throw new IdempotencyKeyError('Idempotency-Key must have 1 to 255 characters');
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
