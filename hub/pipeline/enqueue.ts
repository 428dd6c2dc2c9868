/**
 * Putting inbound payloads on the ingest queue, for the HTTP door and for connectors alike.
 * Payloads that arrive in the same event-loop turn travel together: one Redis round trip claims
 * their Idempotency-Keys and numbers them, and one ingest job carries them all, so a busy door
 * costs Redis (and its fsync) once per batch rather than once per payload.
 */
import { randomUUID } from 'node:crypto';
import type { HubContext } from '../context';
import { withDeadline } from '../deadline';
import { RECEIVED_SEQUENCE_KEY, idempotencyKey } from '../queue/queue-keys';
import { messageExists } from '../store/index';
import type { InboundMessage, IngestJob } from './jobs';

/** How long an Idempotency-Key is remembered at the door (the store remembers it for good). */
const IDEMPOTENCY_TTL_SECONDS = 7 * 24 * 3600;

/**
 * How long the door waits for Redis. ioredis holds commands while it reconnects, so without a bound
 * a request would hang for the whole outage.
 */
const QUEUE_DEADLINE_MS = 1500;

/** Payloads one ingest job carries at most; more arriving in one turn make several jobs. */
export const BATCH_LIMIT = 256;

/** Thrown for an Idempotency-Key the hub cannot use. */
export class IdempotencyKeyError extends Error {}

/**
 * Thrown when Redis is unreachable or too slow to answer: the sender should retry later. The message
 * may still land (a timed-out add can complete afterwards); a retry with the same Idempotency-Key
 * then gets that message's id back, and without a key the sender may cause a duplicate.
 */
export class QueueUnavailableError extends Error {}

export type InboundPartial = Omit<InboundMessage, 'messageId' | 'receivedSeq'>;

interface Waiting {
  partial: InboundPartial;
  key: string | undefined;
  resolve(messageId: string): void;
  reject(error: unknown): void;
}

/**
 * Flushes one process keeps in flight at most. While one runs, new payloads gather into the next
 * batch: the busier the door, the bigger the batches, and Redis does the same work for more payloads.
 */
const FLUSHES_IN_FLIGHT = 1;

/** The payloads waiting for a flush, and the flushes running, per hub context. */
interface Door {
  waiting: Waiting[];
  flushing: number;
  scheduled: boolean;
}

const doors = new WeakMap<HubContext, Door>();

/**
 * Queues the message and resolves with its id once it is durably queued. With an Idempotency-Key,
 * a repeat gets the first message id back; if the first request died between remembering the key
 * and queueing, the repeat queues it under that same id.
 */
export async function enqueueInbound(
  ctx: HubContext,
  partial: InboundPartial,
  key: string | undefined,
): Promise<string> {
  if (key !== undefined && (key.length === 0 || key.length > 255))
    throw new IdempotencyKeyError('Idempotency-Key must have 1 to 255 characters');
  // Known to be down: answer at once rather than pile commands up in ioredis' offline queue.
  if (ctx.redis.status !== 'ready') throw new QueueUnavailableError(`Redis is not connected (${ctx.redis.status})`);
  let door = doors.get(ctx);
  if (!door) {
    door = { waiting: [], flushing: 0, scheduled: false };
    doors.set(ctx, door);
  }
  const answer = new Promise<string>((resolve, reject) => door.waiting.push({ partial, key, resolve, reject }));
  schedule(ctx, door);
  return answer;
}

/** Flushes after this turn's I/O callbacks, so payloads parsed together are queued together. */
function schedule(ctx: HubContext, door: Door): void {
  if (door.scheduled || door.flushing >= FLUSHES_IN_FLIGHT || door.waiting.length === 0) return;
  door.scheduled = true;
  setImmediate(() => {
    door.scheduled = false;
    while (door.flushing < FLUSHES_IN_FLIGHT && door.waiting.length > 0) {
      const batch = door.waiting.splice(0, BATCH_LIMIT);
      door.flushing += 1;
      withDeadline(
        enqueueBatch(ctx, batch),
        QUEUE_DEADLINE_MS,
        () => new QueueUnavailableError(`Redis did not answer within ${QUEUE_DEADLINE_MS} ms`),
      )
        .catch((error: unknown) => {
          for (const waiting of batch) waiting.reject(error);
        })
        .finally(() => {
          door.flushing -= 1;
          schedule(ctx, door);
        });
    }
  });
}

/**
 * The value an Idempotency-Key maps to: the message id and the ingest job carrying it. A value
 * written before batches existed is the bare message id, which was also its job's id.
 */
function keyValue(messageId: string, jobId: string): string {
  return `${messageId} ${jobId}`;
}

function parseKeyValue(value: string): { messageId: string; jobId: string } {
  const [messageId, jobId] = value.split(' ');
  return { messageId: messageId!, jobId: jobId ?? messageId! };
}

async function enqueueBatch(ctx: HubContext, batch: Waiting[]): Promise<void> {
  const jobId = randomUUID();
  const ids = batch.map(() => randomUUID());
  // One round trip: every key claimed (or found taken) and the arrival numbers of the whole batch.
  // Separate commands rather than a pipeline, whose keys a Redis Cluster would need in one slot;
  // written back to back on one connection, Redis still reads them together.
  const claims = batch.map((waiting, index) =>
    waiting.key === undefined
      ? undefined
      : ctx.redis.set(
          idempotencyKey(waiting.partial.system, waiting.key),
          keyValue(ids[index]!, jobId),
          'EX',
          IDEMPOTENCY_TTL_SECONDS,
          'NX',
        ),
  );
  const [lastSeq, ...claimed] = await Promise.all([ctx.redis.incrby(RECEIVED_SEQUENCE_KEY, batch.length), ...claims]);
  const messages: InboundMessage[] = [];
  const answers: Array<() => void> = [];
  for (const [index, waiting] of batch.entries()) {
    let messageId: string = ids[index]!;
    if (waiting.key !== undefined) {
      // SET … NX answers null when another request holds the key (a repeat: rare, so its GET is separate).
      const taken =
        claimed[index] === null ? await ctx.redis.get(idempotencyKey(waiting.partial.system, waiting.key)) : null;
      if (taken) {
        const first = parseKeyValue(taken);
        if (first.jobId === jobId || (await firstIsKept(ctx, first))) {
          answers.push(() => waiting.resolve(first.messageId));
          continue;
        }
        // The first request died before its message was queued: this one queues it under that id.
        messageId = first.messageId;
      }
    }
    messages.push({
      ...waiting.partial,
      messageId,
      receivedSeq: lastSeq - batch.length + 1 + index,
      ...(waiting.key === undefined ? {} : { idempotencyKey: waiting.key }),
    });
    answers.push(() => waiting.resolve(messageId));
  }
  if (messages.length > 0) {
    const job: IngestJob = { messages };
    await ctx.queues.ingest.add('ingest', job, { jobId });
  }
  for (const answer of answers) answer();
}

/** True when the first message under a key is still queued or already recorded. */
async function firstIsKept(ctx: HubContext, first: { messageId: string; jobId: string }): Promise<boolean> {
  return Boolean(await ctx.queues.ingest.getJob(first.jobId)) || (await messageExists(ctx.db, first.messageId));
}
