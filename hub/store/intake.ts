/**
 * Recording a batch of inbound messages in one transaction: each message as received (or invalid),
 * each of its documents decided, stored and planned for delivery, and one audit append for them all
 * (one read and one update of the chain's head per batch instead of one per record).
 */
import type { CanonicalEnvelope } from '../../schemas/index';
import type { Problem } from '../../schemas/problem';
import { appendAudit, type AuditEntry } from './audit-log';
import type { Db } from './db';
import { insertInvalid, type DeadLetter } from './dead-letters';
import { idempotencyKeyUsedBefore, insertRouted, type ReceivedMessage } from './messages';
import { applyInTx, lockObjects, type ApplyInput, type ApplyOutcome } from './objects';

/** One message of a batch, as translated. */
export type IntakeItem =
  | { message: ReceivedMessage; ok: true; envelopes: CanonicalEnvelope[] }
  | { message: ReceivedMessage; ok: false; code: string; problems: Problem[] };

/** What each document needs beyond its envelope; the caller's routing and configuration. */
export type DocumentInput = Omit<
  ApplyInput,
  'envelope' | 'messageId' | 'docIndex' | 'receivedSeq' | 'firstRun' | 'duplicateKey'
>;

export type IntakeOutcome =
  | { messageId: string; ok: true; documents: Array<{ envelope: CanonicalEnvelope; outcome: ApplyOutcome }> }
  | { messageId: string; ok: false; deadLetter: DeadLetter };

/**
 * Records `items` in one transaction, in their order (arrival order: the door numbers them so).
 * Re-running a batch after a crash changes nothing already recorded and returns the first outcomes.
 */
export async function recordBatch(
  db: Db,
  items: IntakeItem[],
  documentInput: (envelope: CanonicalEnvelope) => DocumentInput,
): Promise<IntakeOutcome[]> {
  return db.transaction(async (tx) => {
    await lockObjects(
      tx,
      items.flatMap((item) => (item.ok ? item.envelopes : [])),
    );
    const audit: AuditEntry[] = [];
    const outcomes: IntakeOutcome[] = [];
    for (const item of items) outcomes.push(await recordItem(tx, item, documentInput, audit));
    if (audit.length > 0) await appendAudit(tx, audit);
    return outcomes;
  });
}

async function recordItem(
  tx: Db,
  item: IntakeItem,
  documentInput: (envelope: CanonicalEnvelope) => DocumentInput,
  audit: AuditEntry[],
): Promise<IntakeOutcome> {
  const { message } = item;
  const from = audit.length;
  if (!item.ok) {
    const deadLetter = await insertInvalid(tx, message, item.code, item.problems, audit);
    foldReceipt(audit, from);
    return { messageId: message.id, ok: false, deadLetter };
  }
  // Recorded before its documents, so a trace never shows decisions without the message.
  const firstRun = await insertRouted(tx, message, audit);
  const duplicateKey =
    message.idempotencyKey !== undefined &&
    (await idempotencyKeyUsedBefore(tx, message.system, message.idempotencyKey, message.id));
  const documents: Array<{ envelope: CanonicalEnvelope; outcome: ApplyOutcome }> = [];
  for (const [docIndex, envelope] of item.envelopes.entries()) {
    const outcome = await applyInTx(
      tx,
      {
        ...documentInput(envelope),
        envelope,
        messageId: message.id,
        docIndex,
        receivedSeq: message.receivedSeq,
        firstRun,
        duplicateKey,
      },
      audit,
    );
    documents.push({ envelope, outcome });
  }
  foldReceipt(audit, from);
  return { messageId: message.id, ok: true, documents };
}

/**
 * One audit record per decision, as the design has it: the receipt of a message recorded from
 * `from` on (its system, size, mapping, Idempotency-Key) goes into the details of the message's
 * first decision or invalid record, as `received`, instead of a record of its own. A message that
 * made no document has no decision to carry it and keeps its `received` record.
 */
function foldReceipt(audit: AuditEntry[], from: number): void {
  const receipt = audit[from];
  if (receipt?.kind !== 'received') return;
  const first = audit
    .slice(from + 1)
    .find((entry) => entry.messageId === receipt.messageId && (entry.kind === 'decision' || entry.kind === 'invalid'));
  if (!first) return;
  first.details = { ...first.details, received: receipt.details };
  audit.splice(from, 1);
}
