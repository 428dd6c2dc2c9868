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
  markReplayed,
  storedMessage,
  type DeadLetter,
  type DeadLetterFilter,
  type ReplayRollBack,
} from '../store/index';
import type { InboundMessage, IngestJob } from './jobs';

export type ReplayOutcome =
  { ok: true; deadLetter: string; replay: number; queued: string } | { ok: false; rollBack: ReplayRollBack };

/** Replays one dead letter; `ok: false` (audited) when it would send an older revision over a newer one. */
export async function replayDeadLetter(
  ctx: HubContext,
  letter: DeadLetter,
  by: string,
  reason?: string,
): Promise<ReplayOutcome> {
  const marked = await markReplayed(ctx.db, letter, by, reason);
  if (!marked.ok) return marked;
  if (marked.queue === 'deliver') {
    await queueDeliveryReplay(ctx, letter.deliveryId!, marked.jobId);
  } else {
    await queueIngestReplay(ctx, letter.messageId, marked.jobId);
  }
  return { ok: true, deadLetter: letter.id, replay: marked.replay, queued: marked.jobId };
}

/** What a bulk replay did: each dead letter replayed, or skipped because it would roll a target back. */
export interface BulkReplay {
  matched: number;
  replayed: number;
  skipped: number;
  replays: Array<{ deadLetter: string; replay: number; queued: string }>;
  skips: ReplayRollBack[];
}

/** Replays every unreplayed dead letter matching `filter` (up to `limit`), skipping and auditing roll-backs. */
export async function replayMatching(
  ctx: HubContext,
  filter: DeadLetterFilter,
  by: string,
  reason: string,
  limit = 1000,
): Promise<BulkReplay> {
  const letters = await findDeadLetters(ctx.db, filter, limit);
  const result: BulkReplay = { matched: letters.length, replayed: 0, skipped: 0, replays: [], skips: [] };
  // One at a time and oldest first, so several dead revisions of one object are re-sent in order.
  for (const letter of letters) {
    const outcome = await replayDeadLetter(ctx, letter, by, reason);
    if (outcome.ok) {
      result.replayed += 1;
      result.replays.push({ deadLetter: outcome.deadLetter, replay: outcome.replay, queued: outcome.queued });
    } else {
      result.skipped += 1;
      result.skips.push(outcome.rollBack);
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
export async function queueIngestReplay(ctx: HubContext, messageId: string, jobId: string): Promise<void> {
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
      },
    ],
  };
  await ctx.queues.ingestFor(message.system).add('ingest', job, { jobId });
}
