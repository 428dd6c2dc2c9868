/**
 * Replaying dead letters: an ingest one re-runs the stored payload, a delivery one is delivered
 * again — never over a newer revision the target already has. The replay is committed first (a
 * pending delivery, or a replay request) and queued second; the outbox sweep queues what a crash
 * left in between.
 */
import type { HubContext } from '../context';
import { partitionOf } from '../queue/queue-keys';
import {
  assignPartition,
  findDeadLetters,
  getDelivery,
  keptMappingVersion,
  markReplayed,
  recordedMapping,
  storedMessage,
  type DeadLetter,
  type DeadLetterFilter,
  type MappingPin,
  type ReplayRollBack,
} from '../store/index';
import type { InboundMessage, IngestJob } from './jobs';

/**
 * Which mapping an ingest replay translates with: the mappings loaded now (`current`, the default:
 * the fix an operator just deployed), or the version that first translated the message, kept by the
 * store (`original`). A delivery replay renders with the outbound mapping loaded now either way.
 */
export type ReplayMapping = 'original' | 'current';

export type ReplayOutcome =
  | {
      ok: true;
      deadLetter: string;
      /** The message replayed: a replay runs under the original message's id. */
      messageId: string;
      replay: number;
      queued: string;
      /** An ingest replay's mapping: `current`, or the original version it runs with. */
      mapping?: 'current' | { original: MappingPin };
    }
  | { ok: false; rollBack: ReplayRollBack }
  | { ok: false; unknownMapping: MappingPin & { deadLetter: string } };

/**
 * Replays one dead letter; `ok: false` when it would send an older revision over a newer one
 * (audited), or when `original` was asked for a mapping version the store does not keep.
 */
export async function replayDeadLetter(
  ctx: HubContext,
  letter: DeadLetter,
  by: string,
  reason?: string,
  mapping: ReplayMapping = 'current',
): Promise<ReplayOutcome> {
  let pin: MappingPin | undefined;
  if (mapping === 'original' && letter.stage === 'ingest') {
    // Only a kept mapping version can be run again as it was. A record naming a codec (or nothing)
    // may come from a store older than schema 9, which named the codec also when a mapping failed:
    // replaying it "with the original" could skip the mapping altogether, so it is refused.
    const recorded = await recordedMapping(ctx.db, letter.messageId);
    const kept =
      recorded?.digest && recorded.name.includes('@')
        ? await keptMappingVersion(ctx.db, recorded.name, recorded.digest)
        : undefined;
    if (!kept) return { ok: false, unknownMapping: { name: recorded?.name ?? 'none', deadLetter: letter.id } };
    pin = { name: recorded!.name, digest: kept.digest };
  }
  const marked = await markReplayed(ctx.db, letter, by, reason, pin);
  if (!marked.ok) return marked;
  if (marked.queue === 'deliver') {
    await queueDeliveryReplay(ctx, letter.deliveryId!, marked.jobId);
  } else {
    await queueIngestReplay(ctx, letter.messageId, marked.jobId, pin);
  }
  return {
    ok: true,
    deadLetter: letter.id,
    messageId: letter.messageId,
    replay: marked.replay,
    queued: marked.jobId,
    ...(marked.queue === 'ingest' ? { mapping: pin ? { original: pin } : 'current' } : {}),
  };
}

/** What a bulk replay did: each dead letter replayed, or skipped because it would roll a target back. */
export interface BulkReplay {
  matched: number;
  replayed: number;
  skipped: number;
  replays: Array<Extract<ReplayOutcome, { ok: true }>>;
  /** Dead letters not replayed: a newer revision delivered, or (`original`) no kept mapping version. */
  skips: Array<ReplayRollBack | (MappingPin & { deadLetter: string })>;
}

/** Replays every unreplayed dead letter matching `filter` (up to `limit`), skipping and auditing roll-backs. */
export async function replayMatching(
  ctx: HubContext,
  filter: DeadLetterFilter,
  by: string,
  reason: string,
  mapping: ReplayMapping = 'current',
  limit = 1000,
): Promise<BulkReplay> {
  const letters = await findDeadLetters(ctx.db, filter, limit);
  const result: BulkReplay = { matched: letters.length, replayed: 0, skipped: 0, replays: [], skips: [] };
  // One at a time and oldest first, so several dead revisions of one object are re-sent in order.
  for (const letter of letters) {
    const outcome = await replayDeadLetter(ctx, letter, by, reason, mapping);
    if (outcome.ok) {
      result.replayed += 1;
      result.replays.push(outcome);
    } else {
      result.skipped += 1;
      result.skips.push('rollBack' in outcome ? outcome.rollBack : outcome.unknownMapping);
    }
  }
  return result;
}

/** Queues a replayed delivery on its partition queue (a no-op when that job id is already there). */
export async function queueDeliveryReplay(ctx: HubContext, deliveryId: string, jobId: string): Promise<void> {
  const delivery = await getDelivery(ctx.db, deliveryId);
  if (!delivery) return;
  // The partition the row is kept in is the one its worker pages through.
  let partition = delivery.partition;
  if (partition === undefined) {
    partition = partitionOf(delivery.type, delivery.objectKey, ctx.config.partitions);
    await assignPartition(ctx.db, deliveryId, partition);
  }
  await ctx.queues.deliver(delivery.target, partition).add('deliver', { deliveryId }, { jobId });
}

/** Queues an ingest replay of a stored message under the replay request's job id. */
export async function queueIngestReplay(
  ctx: HubContext,
  messageId: string,
  jobId: string,
  mapping?: MappingPin,
): Promise<void> {
  const message = await storedMessage(ctx.db, messageId);
  if (!message) throw new Error(`message ${messageId} has no stored payload`);
  const job: IngestJob = {
    messages: [
      {
        messageId,
        system: message.system,
        contentType: message.contentType as InboundMessage['contentType'],
        body: message.body,
        receivedAt: message.receivedAt,
        receivedSeq: message.receivedSeq,
        replayRequest: jobId,
        ...(mapping ? { mapping } : {}),
      },
    ],
  };
  await ctx.queues.ingestFor(message.system).add('ingest', job, { jobId });
}
