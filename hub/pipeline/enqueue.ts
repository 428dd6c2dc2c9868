/**
 * Putting inbound payloads on the ingest queue, for the HTTP door and for connectors alike.
 * Payloads that arrive in the same event-loop turn travel together: one Redis round trip claims
 * their Idempotency-Keys and numbers them, and one ingest job carries them all, so a busy door
 * costs Redis (and its fsync) once per batch rather than once per payload.
 */
import { randomUUID } from 'node:crypto';
import type { Queue } from 'bullmq';
import { v7 as uuidV7 } from 'uuid';
import type { HubContext } from '../context';
import { RECEIVED_SEQUENCE_KEY, idempotencyKey } from '../queue/queue-keys';
import { messageExists } from '../store/index';
import { messagesOf, type InboundMessage, type IngestJob } from './jobs';

/**
 * A message id: a UUID that starts with the time (version 7, RFC 9562). Every table and index keyed by
 * message id (messages, payloads, deliveries, the audit log's index) then takes new rows at its end
 * instead of at random pages: with random (version 4) ids the store's work per document measured
 * 135–143 → 221–229 µs of CPU (bench/store-floor.ts), each commit writing hundreds of scattered pages.
 */
export function newMessageId(): string {
  return uuidV7();
}

/** How long an Idempotency-Key is remembered at the door (the store remembers it for good). */
const IDEMPOTENCY_TTL_SECONDS = 7 * 24 * 3600;

/**
 * How long the door waits for Redis. ioredis holds commands while it reconnects, so without a bound
 * a request would hang for the whole outage.
 */
const QUEUE_DEADLINE_MS = 1500;

/** How often a deadline that fired late, after a stall of the process, starts again. */
const STALL_REARMS = 3;

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
  settled: boolean;
  resolve(messageId: string): void;
  reject(error: unknown): void;
}

/**
 * Flushes one process keeps in flight at most. While one runs, new payloads gather into the next
 * batch: the busier the door, the bigger the batches, and Redis does the same work for more payloads.
 */
const FLUSHES_IN_FLIGHT = 1;

/** Payloads waiting for a flush at most; more are refused at once (503), as when Redis is down. */
const WAITING_LIMIT = 10_000;

/** The payloads waiting for a flush, and the flushes running, per hub context. */
interface Door {
  waiting: Set<Waiting>;
  flushing: number;
  scheduled: boolean;
}

const doors = new WeakMap<HubContext, Door>();

/**
 * Queues the message and resolves with its id once it is durably queued. With an Idempotency-Key,
 * a repeat gets the first message id back; if the first request died between remembering the key
 * and queueing, the repeat queues it under that same id. Each request has its own deadline: a stalled
 * Redis answers every waiting sender 503 in QUEUE_DEADLINE_MS, however many wait.
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
    door = { waiting: new Set(), flushing: 0, scheduled: false };
    doors.set(ctx, door);
  }
  const open = door;
  if (open.waiting.size >= WAITING_LIMIT)
    throw new QueueUnavailableError(`${WAITING_LIMIT} messages are waiting for Redis already`);
  const answer = new Promise<string>((resolve, reject) => {
    const waiting: Waiting = {
      partial,
      key,
      settled: false,
      resolve: (messageId) => {
        if (waiting.settled) return;
        waiting.settled = true;
        timer.clear();
        resolve(messageId);
      },
      reject: (error) => {
        if (waiting.settled) return;
        waiting.settled = true;
        timer.clear();
        open.waiting.delete(waiting);
        reject(error);
      },
    };
    // Not yet in a flush: it is dropped from the queue. In a flush that completes later, it may still land.
    const timer = redisDeadline(() =>
      waiting.reject(new QueueUnavailableError(`Redis did not answer within ${QUEUE_DEADLINE_MS} ms`)),
    );
    open.waiting.add(waiting);
  });
  schedule(ctx, open);
  return answer;
}

/**
 * Calls `expire` once QUEUE_DEADLINE_MS have passed with the process free to flush. A timer that fires
 * late measured the process's own stall (a long batch on this event loop, a GC pause), not Redis:
 * it starts again (up to STALL_REARMS times, so a process that is always late still answers), and
 * Redis gets its time once the waiting payloads can be flushed.
 */
function redisDeadline(expire: () => void): { clear(): void } {
  let timer: NodeJS.Timeout;
  let rearms = 0;
  const arm = () => {
    const due = Date.now() + QUEUE_DEADLINE_MS;
    timer = setTimeout(() => {
      const stalled = Date.now() - due > QUEUE_DEADLINE_MS / 3;
      if (stalled && rearms < STALL_REARMS) {
        rearms += 1;
        arm();
      } else expire();
    }, QUEUE_DEADLINE_MS);
  };
  arm();
  return { clear: () => clearTimeout(timer) };
}

/** Flushes after this turn's I/O callbacks, so payloads parsed together are queued together. */
function schedule(ctx: HubContext, door: Door): void {
  if (door.scheduled || door.flushing >= FLUSHES_IN_FLIGHT || door.waiting.size === 0) return;
  door.scheduled = true;
  setImmediate(() => {
    door.scheduled = false;
    while (door.flushing < FLUSHES_IN_FLIGHT && door.waiting.size > 0) {
      const batch = [...door.waiting].slice(0, BATCH_LIMIT);
      for (const waiting of batch) door.waiting.delete(waiting);
      door.flushing += 1;
      const flush =
        ctx.redis.status === 'ready'
          ? enqueueBatch(ctx, batch)
          : Promise.reject(new QueueUnavailableError(`Redis is not connected (${ctx.redis.status})`));
      flush
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
  // One job per ingest queue the batch's systems go to (the context engine's sources have their own).
  const queues = batch.map((waiting) => ctx.queues.ingestFor(waiting.partial.system));
  const jobIds = new Map([...new Set(queues)].map((queue) => [queue, randomUUID()]));
  const ids = batch.map(() => newMessageId());
  // One round trip: every key claimed (or found taken) and the arrival numbers of the whole batch.
  // Separate commands rather than a pipeline, whose keys a Redis Cluster would need in one slot;
  // written back to back on one connection, Redis still reads them together.
  const claims = batch.map((waiting, index) =>
    waiting.key === undefined
      ? undefined
      : ctx.redis.set(
          idempotencyKey(waiting.partial.system, waiting.key),
          keyValue(ids[index]!, jobIds.get(queues[index]!)!),
          'EX',
          IDEMPOTENCY_TTL_SECONDS,
          'NX',
        ),
  );
  const [lastSeq, ...claimed] = await Promise.all([ctx.redis.incrby(RECEIVED_SEQUENCE_KEY, batch.length), ...claims]);
  const jobs = new Map<Queue, InboundMessage[]>();
  const queued: Array<{ waiting: Waiting; messageId: string }> = [];
  const repeats: Array<{ waiting: Waiting; receivedSeq: number }> = [];
  for (const [index, waiting] of batch.entries()) {
    const receivedSeq = lastSeq - batch.length + 1 + index;
    // SET … NX answers null when another request holds the key: a repeat, answered after the batch.
    if (waiting.key !== undefined && claimed[index] === null) {
      repeats.push({ waiting, receivedSeq });
      continue;
    }
    const messageId = ids[index]!;
    const messages = jobs.get(queues[index]!) ?? [];
    messages.push(inboundMessage(waiting, messageId, receivedSeq));
    jobs.set(queues[index]!, messages);
    queued.push({ waiting, messageId });
  }
  await Promise.all(
    [...jobs].map(([queue, messages]) =>
      queue.add('ingest', { messages } satisfies IngestJob, { jobId: jobIds.get(queue)! }),
    ),
  );
  for (const { waiting, messageId } of queued) waiting.resolve(messageId);
  // After the batch's senders are answered, one at a time: a repeat's lookups (Redis, the store)
  // delay no one of this batch, but the next flush waits for them.
  for (const { waiting, receivedSeq } of repeats) {
    try {
      waiting.resolve(await answerRepeat(ctx, waiting, receivedSeq));
    } catch (error) {
      waiting.reject(error);
    }
  }
}

function inboundMessage(waiting: Waiting, messageId: string, receivedSeq: number): InboundMessage {
  return {
    ...waiting.partial,
    messageId,
    receivedSeq,
    ...(waiting.key === undefined ? {} : { idempotencyKey: waiting.key }),
  };
}

/**
 * A request whose Idempotency-Key is taken gets the first message's id. If that message is neither
 * queued nor recorded (its request died before queueing), this one queues it under that id, and
 * the key names the new job so further repeats find it.
 */
async function answerRepeat(ctx: HubContext, waiting: Waiting, receivedSeq: number): Promise<string> {
  const redisKey = idempotencyKey(waiting.partial.system, waiting.key!);
  const taken = await ctx.redis.get(redisKey);
  const first = taken ? parseKeyValue(taken) : undefined;
  if (first && (await firstIsKept(ctx, waiting.partial.system, first))) return first.messageId;
  // The first died before queueing (XX: the key is rewritten), or the key expired in between (NX:
  // this request is the first now).
  const messageId = first?.messageId ?? newMessageId();
  const jobId = randomUUID();
  const value = keyValue(messageId, jobId);
  if (first) await ctx.redis.set(redisKey, value, 'EX', IDEMPOTENCY_TTL_SECONDS, 'XX');
  else await ctx.redis.set(redisKey, value, 'EX', IDEMPOTENCY_TTL_SECONDS, 'NX');
  const job: IngestJob = { messages: [inboundMessage(waiting, messageId, receivedSeq)] };
  await ctx.queues.ingestFor(waiting.partial.system).add('ingest', job, { jobId });
  return messageId;
}

/**
 * True when the first message under a key is still queued (the job the key names carries it) or
 * already recorded. A job that exists without it does not count: when Redis restarts mid-flush, a
 * batch's SET … NX can be applied, its answer lost and the command sent again, finding the key taken
 * by the same request — the batch then queued its job without that message.
 */
async function firstIsKept(
  ctx: HubContext,
  system: string,
  first: { messageId: string; jobId: string },
): Promise<boolean> {
  const job = await ctx.queues.ingestFor(system).getJob(first.jobId);
  if (job && messagesOf(job.data as IngestJob | InboundMessage).some((m) => m.messageId === first.messageId))
    return true;
  return messageExists(ctx.db, first.messageId);
}
