/**
 * Recording a batch of inbound messages in one transaction: each message as received (or invalid),
 * each of its documents decided, stored and planned for delivery, and one audit append for them all
 * (one read and one update of the chain's head per batch instead of one per record).
 */
import type { CanonicalEnvelope } from '../../schemas/index';
import type { Derived, Provenance, Signal } from '../context-engine/engine';
import type { ContextEngine, ReasonCorrection, SignalReport } from '../context-engine/stage';
import type { Problem } from '../../schemas/problem';
import { appendAudit, type AuditEntry } from './audit-log';
import type { Db } from './db';
import { insertInvalid, type DeadLetter } from './dead-letters';
import { idempotencyKeyUsedBefore, insertRouted, type ReceivedMessage } from './messages';
import { applyInTx, lockObjects, objectData, type ApplyInput, type ApplyOutcome } from './objects';

/** One message of a batch, as translated. */
export type IntakeItem =
  | {
      message: ReceivedMessage;
      ok: true;
      envelopes: CanonicalEnvelope[];
      signals?: Signal[];
      /** A reason assigned or corrected through the API, for the engine. */
      correction?: ReasonCorrection;
      /** For the engine's own messages: the signals each document came from, kept in its decision's audit record. */
      derivedFrom?: Provenance[][];
    }
  | { message: ReceivedMessage; ok: false; code: string; problems: Problem[] };

/** What each document needs beyond its envelope; the caller's routing and configuration. */
export type DocumentInput = Omit<
  ApplyInput,
  'envelope' | 'messageId' | 'docIndex' | 'receivedSeq' | 'firstRun' | 'duplicateKey'
>;

export type IntakeOutcome =
  | {
      messageId: string;
      ok: true;
      documents: Array<{ envelope: CanonicalEnvelope; outcome: ApplyOutcome }>;
      /** What the context engine made of the message's signals (first run only). */
      signals?: SignalReport[];
    }
  | { messageId: string; ok: false; deadLetter: DeadLetter };

/** The context engine and how it names the messages it publishes. */
export interface EngineInput {
  engine: ContextEngine;
  newMessageId: () => string;
}

/**
 * Records `items` in one transaction, in their order (arrival order: the door numbers them so).
 * Re-running a batch after a crash changes nothing already recorded and returns the first outcomes.
 */
export async function recordBatch(
  db: Db,
  items: IntakeItem[],
  documentInput: (envelope: CanonicalEnvelope) => DocumentInput,
  engine?: EngineInput,
): Promise<IntakeOutcome[]> {
  return db.transaction(async (tx) => {
    await lockObjects(
      tx,
      items.flatMap((item) => (item.ok ? item.envelopes : [])),
    );
    const audit: AuditEntry[] = [];
    const outcomes: IntakeOutcome[] = [];
    for (const item of items) outcomes.push(...(await recordItem(tx, item, documentInput, audit, engine)));
    if (audit.length > 0) await appendAudit(tx, audit);
    return outcomes;
  });
}

async function recordItem(
  tx: Db,
  item: IntakeItem,
  documentInput: (envelope: CanonicalEnvelope) => DocumentInput,
  audit: AuditEntry[],
  engine: EngineInput | undefined,
): Promise<IntakeOutcome[]> {
  const { message } = item;
  const from = audit.length;
  if (!item.ok) {
    const deadLetter = await insertInvalid(tx, message, item.code, item.problems, audit);
    foldReceipt(audit, from);
    return [{ messageId: message.id, ok: false, deadLetter }];
  }
  // Recorded before its documents, so a trace never shows decisions without the message.
  const firstRun = await insertRouted(tx, message, audit);
  const duplicateKey =
    message.idempotencyKey !== undefined &&
    (await idempotencyKeyUsedBefore(tx, message.system, message.idempotencyKey, message.id));
  const documents: Array<{ envelope: CanonicalEnvelope; outcome: ApplyOutcome }> = [];
  for (const [docIndex, envelope] of item.envelopes.entries()) {
    const before = audit.length;
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
    const derivedFrom = item.derivedFrom?.[docIndex];
    if (derivedFrom)
      for (const entry of audit.slice(before))
        if (entry.kind === 'decision') entry.details = { ...entry.details, derivedFrom };
    documents.push({ envelope, outcome });
  }
  const outcome: IntakeOutcome & { ok: true } = { messageId: message.id, ok: true, documents };
  // The engine runs once per message: a batch run again finds the message recorded and its state applied.
  const derived: Derived[] = [];
  if (engine && firstRun) {
    if (item.signals) {
      const applied = await engine.engine.applySignals(tx, item.signals);
      derived.push(...applied.derived);
      outcome.signals = applied.signals;
      noteSignals(audit, from, applied.signals);
    }
    if (item.correction) {
      const { downtimeId, reasonCode, comment, by } = item.correction;
      noteOnReceipt(audit, from, 'correction', { downtimeId, reasonCode, by, ...(comment ? { comment } : {}) });
      derived.push(
        ...(await engine.engine.correct(tx, item.correction, message.receivedAt, {
          messageId: message.id,
          signal: 'reason-correction',
          sourceTimestamp: message.receivedAt,
        })),
      );
    }
    for (const { envelope, outcome: applied } of documents)
      if (applied.decision === 'accepted' && engine.engine.follows(envelope.type)) {
        const stored = await objectData(tx, envelope.type, envelope.objectKey);
        if (stored)
          derived.push(
            ...(await engine.engine.accepted(tx, envelope.type, stored.data, envelope.occurredAt, {
              messageId: message.id,
              signal: envelope.type,
              sourceTimestamp: envelope.occurredAt,
            })),
          );
      }
  }
  foldReceipt(audit, from);
  if (derived.length === 0) return [outcome];
  return [outcome, ...(await recordItem(tx, derivedItem(engine!, message, derived), documentInput, audit, engine))];
}

/**
 * The engine's clock (hub/pipeline/context-clock.ts): silent lines' event time moves on, and what that
 * completes (a stop split at a shift's end, counts at their period end, a persists rule) is recorded
 * as a message of the engine's system, in one transaction with the state.
 */
export async function recordClockTick(
  db: Db,
  engine: EngineInput,
  documentInput: (envelope: CanonicalEnvelope) => DocumentInput,
  now: number,
): Promise<IntakeOutcome[]> {
  return db.transaction(async (tx) => {
    const derived = await engine.engine.tick(tx, now);
    if (derived.length === 0) return [];
    const receivedAt = new Date(now).toISOString();
    const cause = { id: '', receivedAt, receivedSeq: 0 };
    const audit: AuditEntry[] = [];
    const outcomes = await recordItem(tx, derivedItem(engine, cause, derived), documentInput, audit, undefined);
    await appendAudit(tx, audit);
    return outcomes;
  });
}

/**
 * The documents the engine derived from a message, as a message of the engine's own system: its
 * payload names its cause and the documents with how many signals each came from; each document's
 * decision in the audit log lists those signals (a minute of counts is hundreds, written once).
 */
function derivedItem(
  engine: EngineInput,
  cause: Pick<ReceivedMessage, 'id' | 'receivedAt' | 'receivedSeq'>,
  derived: Derived[],
): IntakeItem {
  const id = engine.newMessageId();
  const system = engine.engine.system;
  const body = JSON.stringify({
    kind: 'context',
    ...(cause.id ? { causationId: cause.id } : { clock: true }),
    documents: derived.map(({ type, objectKey, version, derivedFrom }) => ({
      type,
      objectKey,
      version,
      signals: derivedFrom.length,
    })),
  });
  return {
    message: {
      id,
      system,
      receivedAt: cause.receivedAt,
      receivedSeq: cause.receivedSeq,
      contentType: 'json',
      body,
      mapping: { name: 'context-engine', documents: derived.length },
    },
    ok: true,
    derivedFrom: derived.map((document) => document.derivedFrom),
    envelopes: derived.map(
      (document) =>
        ({
          messageId: id,
          type: document.type,
          objectKey: document.objectKey,
          version: document.version,
          sourceSystem: system,
          occurredAt: document.occurredAt,
          receivedAt: cause.receivedAt,
          ...(cause.id ? { causationId: cause.id } : {}),
          document: document.document,
        }) as CanonicalEnvelope,
    ),
  };
}

/** Adds what the engine made of a message to its receipt's audit record. */
function noteOnReceipt(audit: AuditEntry[], from: number, key: string, value: unknown): void {
  const receipt = audit[from];
  if (receipt?.kind === 'received') receipt.details = { ...receipt.details, [key]: value };
}

/** What the engine made of a message's signals goes into its receipt's audit record. */
function noteSignals(audit: AuditEntry[], from: number, reports: SignalReport[]): void {
  const refused = reports.filter((report) => report.outcome.code !== undefined);
  noteOnReceipt(audit, from, 'signals', {
    applied: reports.filter((report) => report.outcome.booked).length,
    notBooked: reports.filter((report) => !report.outcome.booked).length,
    ...(refused.length > 0
      ? {
          outcomes: refused.map(({ equipmentId, signal, outcome }) => ({
            equipmentId,
            signal,
            code: outcome.code,
            booked: outcome.booked,
            ...(outcome.detail ? { detail: outcome.detail } : {}),
          })),
        }
      : {}),
  });
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
