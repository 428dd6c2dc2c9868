/**
 * Ingest worker: one job carries the payloads the door accepted together. Each is translated,
 * then all are recorded, decided, stored and planned for delivery in one transaction (per-object
 * order: the door numbered them in arrival order and they are applied in it), and one delivery job
 * per target partition they touched wakes that partition up.
 */
import type { Job } from 'bullmq';
import type { CanonicalEnvelope } from '../../schemas/index';
import { coalesced } from '../coalesce';
import type { HubContext } from '../context';
import { keepLoadedVersions, pinnedRegistry } from '../mappings/kept';
import { partitionOf } from '../queue/queue-keys';
import {
  markReplayStarted,
  messageExists,
  recordBatch,
  type DocumentInput,
  type IntakeItem,
  type IntakeOutcome,
  type ReceivedMessage,
} from '../store/index';
import { newMessageId } from './enqueue';
import { messagesOf, type InboundMessage, type IngestJob } from './jobs';
import { changeRequestRoute, routesFor } from './route';
import { translate } from './translate';

/** Thrown when some messages of a batch could not be recorded; the others are. The job is retried for them. */
export class BatchPartlyFailed extends Error {
  constructor(
    readonly failed: string[],
    cause: unknown,
  ) {
    super(
      `${failed.length} message(s) of the batch failed: ${cause instanceof Error ? cause.message : String(cause)}`,
      {
        cause,
      },
    );
    if (cause instanceof Error) {
      this.name = cause.name;
      this.stack = cause.stack ?? this.stack;
    }
  }
}

export function ingestProcessor(ctx: HubContext) {
  return async (job: Job<IngestJob | InboundMessage>): Promise<void> => {
    const messages = messagesOf(job.data);
    // From here BullMQ holds the job until it ends, so the outbox sweep must not queue a replay again.
    for (const message of messages) if (message.replayRequest) await markReplayStarted(ctx.db, message.replayRequest);
    // A message whose translation throws (a bug, not an invalid payload) must not hold its batch back.
    const translated = await Promise.allSettled(messages.map((message) => intakeItem(ctx, message)));
    const items: IntakeItem[] = [];
    const failed: string[] = [];
    let cause: unknown;
    translated.forEach((result, index) => {
      if (result.status === 'fulfilled') items.push(result.value);
      else {
        failed.push(messages[index]!.messageId);
        cause ??= result.reason;
      }
    });
    const documentInput = documentInputOf(ctx);
    const engine = ctx.engine ? { engine: ctx.engine, newMessageId } : undefined;
    let outcomes: IntakeOutcome[] = [];
    try {
      if (items.length > 0) outcomes = await recordBatch(ctx.db, items, documentInput, engine);
    } catch (error) {
      if (items.length === 1 && failed.length === 0) throw error;
      // One message that cannot be recorded must not hold its batch back: each in its own transaction.
      for (const item of items) {
        try {
          outcomes.push(...(await recordBatch(ctx.db, [item], documentInput, engine)));
        } catch (itemError) {
          failed.push(item.message.id);
          cause ??= itemError;
        }
      }
    }
    report(ctx, items, outcomes);
    await wakeDeliveries(ctx, outcomes);
    if (failed.length === 0) return;
    if (failed.length === messages.length && messages.length === 1) throw cause;
    throw new BatchPartlyFailed(failed, cause);
  };
}

/**
 * How long a job of the context engine's ingest queue is retried in place before it fails to
 * BullMQ's backoff: BullMQ would move a failed job behind the ones queued after it, and the engine
 * would then find that job's signals late. A store outage shorter than this keeps the order.
 */
export const IN_PLACE_RETRY_MS = 60_000;

/**
 * The context queue's processor: a failed attempt (the store or Redis away) is tried again here,
 * with a backoff doubling from 200 ms to 5 s, while the queue's next job waits (global concurrency
 * 1). Messages recorded by an earlier attempt are not applied again. Past IN_PLACE_RETRY_MS, or at
 * shutdown, the failure goes to BullMQ (retried later, dead-lettered at the last attempt).
 */
export function inOrder<T>(
  processor: (job: Job<T>) => Promise<void>,
  signal: AbortSignal,
  retryForMs = IN_PLACE_RETRY_MS,
): (job: Job<T>) => Promise<void> {
  return async (job) => {
    const deadline = Date.now() + retryForMs;
    for (let delay = 200; ; delay = Math.min(delay * 2, 5000)) {
      try {
        await processor(job);
        return;
      } catch (error) {
        if (signal.aborted || Date.now() + delay > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  };
}

async function intakeItem(ctx: HubContext, message: InboundMessage): Promise<IntakeItem> {
  // Signal messages of the systems that feed the context engine go to it, not through a mapping, as
  // do the reason corrections the API queues as messages of the engine's own system.
  const signals = ctx.engine?.signalsOf(message);
  const correction = signals ? undefined : ctx.engine?.correctionOf(message);
  if (signals || correction) {
    const received = receivedMessage(message, { name: 'context-engine', documents: 0 });
    if (signals && 'problems' in signals)
      return { message: received, ok: false, code: 'SIGNAL_INVALID', problems: signals.problems };
    return { message: received, ok: true, envelopes: [], ...(signals ? { signals: signals.signals } : { correction }) };
  }
  if (!message.mapping) await keepLoadedVersions(ctx);
  const registry = message.mapping ? await pinnedRegistry(ctx, message.mapping) : ctx.mappings;
  const translation = await translate(message, registry);
  if (!translation.ok) {
    const received = receivedMessage(message, {
      ...(translation.mapping ?? { name: message.contentType === 'xml' ? 'b2mml' : 'canonical-json' }),
      documents: 0,
    });
    return { message: received, ok: false, code: translation.code, problems: translation.problems };
  }
  const received = receivedMessage(message, { ...translation.mapping, documents: translation.envelopes.length });
  return { message: received, ok: true, envelopes: translation.envelopes };
}

/** Routing and ownership for each document: the configuration's, and the object's delivery partition. */
export function documentInputOf(ctx: HubContext): (envelope: CanonicalEnvelope) => DocumentInput {
  return (envelope) => ({
    ownership: ctx.config.ownership,
    partition: partitionOf(envelope.type, envelope.objectKey, ctx.config.partitions),
    plan: (decision, document, owner) => {
      if (decision === 'proposed') {
        const route = changeRequestRoute(ctx.config.routes, envelope.type, owner);
        return route ? [route] : [];
      }
      return routesFor(ctx.config.routes, envelope.type, document, envelope.sourceSystem);
    },
  });
}

/** Metrics and logs of what a batch decided (not again for a batch run a second time). */
export function report(ctx: HubContext, items: IntakeItem[], outcomes: IntakeOutcome[]): void {
  const systems = new Map(items.map((item) => [item.message.id, item.message.system]));
  for (const outcome of outcomes) {
    if (!outcome.ok) {
      const system = systems.get(outcome.messageId) ?? '';
      ctx.metrics.deadLetters.inc({ stage: 'ingest' });
      ctx.metrics.decisions.inc({ system, type: 'unknown', decision: 'invalid' });
      ctx.logger.warn({ messageId: outcome.messageId, system, code: outcome.deadLetter.code }, 'invalid message');
      continue;
    }
    for (const { equipmentId, signal, outcome: taken } of outcome.signals ?? []) {
      ctx.metrics.signals.inc({ outcome: taken.code ?? 'booked' });
      if (taken.code)
        ctx.logger[taken.booked ? 'info' : 'warn'](
          { messageId: outcome.messageId, equipmentId, signal, code: taken.code, detail: taken.detail },
          taken.booked ? 'signal booked with a remark' : 'signal not booked',
        );
    }
    for (const [docIndex, { envelope, outcome: applied }] of outcome.documents.entries()) {
      if (applied.replayed) continue;
      ctx.metrics.decisions.inc({ system: envelope.sourceSystem, type: envelope.type, decision: applied.decision });
      ctx.logger.debug(
        {
          messageId: outcome.messageId,
          docIndex,
          type: envelope.type,
          key: envelope.objectKey,
          decision: applied.decision,
          rule: applied.rule,
        },
        'decision',
      );
    }
  }
}

/**
 * Wakes every target partition that has new pending deliveries. A partition has at most one waiting
 * wake-up (BullMQ deduplication by partition): a busy hub adds one job per partition and drain, not
 * one per batch. The drain releases the deduplication as it starts (hub/pipeline/deliver.ts), so a
 * commit made while it runs wakes the partition again. Resolves once every wake-up is on Redis.
 */
export function wakeDeliveries(ctx: HubContext, outcomes: IntakeOutcome[]): Promise<void> {
  const partitions = new Map<string, { target: string; partition: number }>();
  for (const outcome of outcomes) {
    if (!outcome.ok) continue;
    for (const delivery of outcome.documents.flatMap(({ outcome: applied }) => applied.deliveries))
      if (delivery.status === 'pending') partitions.set(`${delivery.target}-${delivery.partition}`, delivery);
  }
  return partitions.size === 0 ? Promise.resolve() : wakerOf(ctx)(partitions);
}

type Partitions = Map<string, { target: string; partition: number }>;

/**
 * The wake-ups of the ingest jobs that finish together (a group commit resolves them in one turn)
 * go to Redis together, once per partition: sixteen jobs that touched the same sixteen partitions
 * add sixteen jobs, not 256. A failed add fails every job that waited for it, which is retried.
 */
const wakers = new WeakMap<HubContext, (partitions: Partitions) => Promise<void>>();

function wakerOf(ctx: HubContext): (partitions: Partitions) => Promise<void> {
  let waker = wakers.get(ctx);
  if (!waker) {
    waker = coalesced(
      async (batches: Partitions[]) => {
        const partitions: Partitions = new Map(batches.flatMap((batch) => [...batch]));
        await Promise.all(
          [...partitions].map(([name, { target, partition }]) =>
            ctx.queues.deliver(target, partition).add('deliver', {}, { deduplication: { id: `wake-${name}` } }),
          ),
        );
      },
      { afterTurn: true },
    );
    wakers.set(ctx, waker);
  }
  return waker;
}

/** The message as the store records it, from its ingest job and what translated it. */
export function receivedMessage(message: InboundMessage, mapping: ReceivedMessage['mapping']): ReceivedMessage {
  return {
    id: message.messageId,
    system: message.system,
    receivedAt: message.receivedAt,
    receivedSeq: message.receivedSeq,
    contentType: message.contentType,
    // A corrupt job may lack it; its dead letter is still filed.
    body: message.body ?? '',
    mapping,
    ...(message.idempotencyKey === undefined ? {} : { idempotencyKey: message.idempotencyKey }),
  };
}

/**
 * The messages of an ingest job that failed for good and still need a dead letter: those not
 * recorded at all, and a replay's (its message is recorded from its first run).
 */
export async function unfinishedMessages(ctx: HubContext, job: IngestJob | InboundMessage): Promise<InboundMessage[]> {
  const unfinished: InboundMessage[] = [];
  for (const message of messagesOf(job))
    if (message.replayRequest || !(await messageExists(ctx.db, message.messageId))) unfinished.push(message);
  return unfinished;
}
