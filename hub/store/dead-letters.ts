/** Dead letters: messages that could not be processed and deliveries that ran out of attempts. */
import { randomUUID } from 'node:crypto';
import { appendAudit, type AuditEntry } from './audit-log';
import type { Db } from './db';
import { newerDelivered } from './deliveries';
import { insertReceived, type ReceivedMessage } from './messages';
import { insertReplayRequest, type MappingPin } from './replay-requests';

export type DeadLetterStage = 'ingest' | 'deliver';

export interface DeadLetter {
  id: string;
  stage: DeadLetterStage;
  messageId: string;
  deliveryId?: string;
  system: string;
  code: string;
  reason: string;
  createdAt: string;
  replayedAt?: string;
  /** Set when a replay was refused because the target already has a newer revision: nothing is left to do. */
  supersededAt?: string;
  /** Set when an operator discarded it, with a reason (audited): it stays, but is no longer open. */
  discardedAt?: string;
  replayCount: number;
}

/** Records a message that did not translate: invalid, an ingest dead letter and the audit, in one transaction. */
export async function recordInvalid(
  db: Db,
  message: ReceivedMessage,
  code: string,
  problems: Array<{ path: string; reason: string }>,
): Promise<DeadLetter> {
  return db.transaction(async (tx) => {
    const audit: AuditEntry[] = [];
    const letter = await insertInvalid(tx, message, code, problems, audit);
    if (audit.length > 0) await appendAudit(tx, audit);
    return letter;
  });
}

/** Records an invalid message and its dead letter inside `tx`, adding the audit records to `audit`. */
export async function insertInvalid(
  tx: Db,
  message: ReceivedMessage,
  code: string,
  problems: Array<{ path: string; reason: string }>,
  audit: AuditEntry[],
): Promise<DeadLetter> {
  const first = await insertReceived(tx, message, 'invalid', audit);
  if (!first) {
    // The same job run again (a stalled or retried ingest, a repeated replay job): one dead letter is enough.
    const [open] = await tx.query(
      `SELECT * FROM dead_letters WHERE message_id = $1 AND stage = 'ingest' AND replayed_at IS NULL
         AND discarded_at IS NULL AND delivery_id IS NULL ORDER BY created_at DESC LIMIT 1`,
      [message.id],
    );
    if (open) return toDeadLetter(open);
  }
  const reason = problems.map((problem) => `${problem.path}: ${problem.reason}`).join('\n');
  await tx.execute(`UPDATE messages SET status = 'invalid', error = $2, processed_at = $3 WHERE id = $1`, [
    message.id,
    JSON.stringify({ code, problems }),
    new Date().toISOString(),
  ]);
  const letter = await insertDeadLetter(tx, {
    stage: 'ingest',
    messageId: message.id,
    system: message.system,
    code,
    reason,
  });
  audit.push({
    kind: 'invalid',
    messageId: message.id,
    system: message.system,
    decision: 'invalid',
    rule: 'schema',
    details: { code, problems },
  });
  return letter;
}

/**
 * Records a job that failed on its last attempt with an unexpected error: a PROCESSING_FAILED
 * dead letter and its audit record in one transaction. With `message` (an ingest job that never
 * got as far as recording its message), the message and its payload are recorded too, as
 * `failed`, so the dead letter can be replayed once the cause is fixed.
 */
export async function recordProcessingFailed(
  db: Db,
  failure: {
    messageId: string;
    system: string;
    reason: string;
    details: Record<string, unknown>;
    message?: ReceivedMessage;
  },
): Promise<DeadLetter> {
  const code = 'PROCESSING_FAILED';
  return db.transaction(async (tx) => {
    if (failure.message) {
      await insertReceived(tx, failure.message, 'failed');
      await tx.execute(
        `UPDATE messages SET status = 'failed', error = $2, processed_at = $3 WHERE id = $1 AND status <> 'routed'`,
        [
          failure.messageId,
          JSON.stringify({ code, problems: [{ path: '/', reason: failure.reason }] }),
          new Date().toISOString(),
        ],
      );
    }
    const letter = await insertDeadLetter(tx, {
      stage: 'ingest',
      messageId: failure.messageId,
      system: failure.system,
      code,
      reason: failure.reason,
    });
    await appendAudit(tx, [
      {
        kind: 'dead-letter',
        messageId: failure.messageId,
        system: failure.system,
        decision: 'dead-letter',
        rule: 'processing',
        details: { ...failure.details, code, reason: failure.reason, deadLetter: letter.id },
      },
    ]);
    return letter;
  });
}

export async function insertDeadLetter(
  tx: Db,
  letter: Omit<DeadLetter, 'id' | 'createdAt' | 'replayCount'>,
): Promise<DeadLetter> {
  const full: DeadLetter = { ...letter, id: randomUUID(), createdAt: new Date().toISOString(), replayCount: 0 };
  await tx.execute(
    `INSERT INTO dead_letters (id, stage, message_id, delivery_id, system, code, reason, created_at, replay_count)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0)`,
    [full.id, full.stage, full.messageId, full.deliveryId, full.system, full.code, full.reason, full.createdAt],
  );
  return full;
}

export async function listDeadLetters(
  db: Db,
  options: { includeReplayed?: boolean; limit?: number } = {},
): Promise<DeadLetter[]> {
  const rows = await db.query(
    `SELECT * FROM dead_letters ${options.includeReplayed ? '' : 'WHERE replayed_at IS NULL AND superseded_at IS NULL AND discarded_at IS NULL'} ORDER BY created_at LIMIT $1`,
    [options.limit ?? 500],
  );
  return rows.map(toDeadLetter);
}

export async function getDeadLetter(db: Db, id: string): Promise<DeadLetter | undefined> {
  const [row] = await db.query('SELECT * FROM dead_letters WHERE id = $1', [id]);
  return row && toDeadLetter(row);
}

/** A replay refused because the target already holds a newer revision of the object. */
export interface ReplayRollBack {
  deadLetter: string;
  deliveryId: string;
  target: string;
  type: string;
  objectKey: string;
  /** The revision the dead letter would send. */
  revision: number;
  /** The newest revision the target already received. */
  deliveredRevision: number;
}

export type ReplayMark =
  { ok: true; replay: number; jobId: string; queue: 'deliver' | 'ingest' } | { ok: false; rollBack: ReplayRollBack };

/**
 * Marks a dead letter replayed and audits who asked (and why), in one transaction that also
 * records what must be queued: a delivery reset to pending, or an ingest replay request (both
 * swept into their queue if the caller dies before queueing). A delivery whose target already
 * received a newer revision of the object is not replayed: the refusal is audited instead.
 */
export async function markReplayed(
  db: Db,
  letter: DeadLetter,
  by: string,
  reason?: string,
  mapping?: MappingPin,
): Promise<ReplayMark> {
  return db.transaction(async (tx): Promise<ReplayMark> => {
    const replay = letter.replayCount + 1;
    const now = new Date().toISOString();
    const [delivery] = letter.deliveryId
      ? await tx.query('SELECT id, target, type, object_key, object_revision FROM deliveries WHERE id = $1', [
          letter.deliveryId,
        ])
      : [];
    if (delivery) {
      const newer = await newerDelivered(tx, {
        target: String(delivery.target),
        type: String(delivery.type),
        objectKey: String(delivery.object_key),
        objectRevision: Number(delivery.object_revision),
      });
      if (newer !== undefined) {
        const rollBack: ReplayRollBack = {
          deadLetter: letter.id,
          deliveryId: String(delivery.id),
          target: String(delivery.target),
          type: String(delivery.type),
          objectKey: String(delivery.object_key),
          revision: Number(delivery.object_revision),
          deliveredRevision: newer,
        };
        // Nothing is left to do for it: it leaves the open dead letters, so bulk replays move on.
        await tx.execute('UPDATE dead_letters SET superseded_at = $2 WHERE id = $1', [letter.id, now]);
        await appendAudit(tx, [
          {
            kind: 'replay',
            messageId: letter.messageId,
            system: letter.system,
            type: rollBack.type,
            objectKey: rollBack.objectKey,
            target: rollBack.target,
            decision: 'skipped',
            rule: 'replay.no-roll-back',
            details: { ...rollBack, code: 'REPLAY_WOULD_ROLL_BACK', by, ...(reason ? { reason } : {}) },
          },
        ]);
        return { ok: false, rollBack };
      }
    }
    await tx.execute('UPDATE dead_letters SET replayed_at = $2, replay_count = $3 WHERE id = $1', [
      letter.id,
      now,
      replay,
    ]);
    let jobId: string;
    if (delivery) {
      jobId = `${String(delivery.id)}-replay-${replay}`;
      // A fresh start: its attempts, and the drains that ended without its outcome (a delivery
      // dead-lettered for killing its worker would otherwise be filed again without being sent).
      await tx.execute(`UPDATE deliveries SET status = 'pending', attempts = 0, claims = 0 WHERE id = $1`, [
        delivery.id,
      ]);
    } else {
      jobId = `${letter.messageId}-replay-${replay}`;
      await insertReplayRequest(tx, {
        id: jobId,
        deadLetterId: letter.id,
        messageId: letter.messageId,
        requestedBy: by,
        requestedAt: now,
        ...(mapping ? { mapping } : {}),
      });
    }
    await appendAudit(tx, [
      {
        kind: 'replay',
        messageId: letter.messageId,
        system: letter.system,
        details: {
          deadLetter: letter.id,
          stage: letter.stage,
          deliveryId: letter.deliveryId,
          by,
          ...(reason ? { reason } : {}),
          ...(delivery ? {} : { mapping: mapping ? { original: mapping } : 'current' }),
        },
      },
    ]);
    return { ok: true, replay, jobId, queue: delivery ? 'deliver' : 'ingest' };
  });
}

/** Which dead letters a bulk replay takes; every field narrows the selection. */
export interface DeadLetterFilter {
  stage?: DeadLetterStage;
  code?: string;
  system?: string;
  target?: string;
  /** Created at or after (RFC 3339). */
  from?: string;
  /** Created before (RFC 3339). */
  to?: string;
}

/** Dead letters not replayed yet that match `filter`, oldest first. */
export async function findDeadLetters(db: Db, filter: DeadLetterFilter, limit = 1000): Promise<DeadLetter[]> {
  const where = ['replayed_at IS NULL', 'superseded_at IS NULL', 'discarded_at IS NULL'];
  const params: unknown[] = [];
  const add = (clause: string, value: unknown) => {
    params.push(value);
    where.push(clause.replace('?', `$${params.length}`));
  };
  if (filter.stage) add('stage = ?', filter.stage);
  if (filter.code) add('code = ?', filter.code);
  if (filter.system) add('system = ?', filter.system);
  if (filter.target) add('delivery_id IN (SELECT id FROM deliveries WHERE target = ?)', filter.target);
  if (filter.from) add('created_at >= ?', filter.from);
  if (filter.to) add('created_at < ?', filter.to);
  params.push(limit);
  const rows = await db.query(
    `SELECT * FROM dead_letters WHERE ${where.join(' AND ')} ORDER BY created_at, id LIMIT $${params.length}`,
    params,
  );
  return rows.map(toDeadLetter);
}

function toDeadLetter(row: Record<string, unknown>): DeadLetter {
  const letter: DeadLetter = {
    id: String(row.id),
    stage: row.stage as DeadLetterStage,
    messageId: String(row.message_id),
    system: String(row.system),
    code: String(row.code),
    reason: String(row.reason),
    createdAt: String(row.created_at),
    replayCount: Number(row.replay_count),
  };
  if (row.delivery_id) letter.deliveryId = String(row.delivery_id);
  if (row.replayed_at) letter.replayedAt = String(row.replayed_at);
  if (row.superseded_at) letter.supersededAt = String(row.superseded_at);
  if (row.discarded_at) letter.discardedAt = String(row.discarded_at);
  return letter;
}

/**
 * Discards an open dead letter: it is kept (with its payload and trace) but leaves the open ones, and
 * the audit log says who discarded it and why. False when it was not open (replayed, superseded or
 * discarded already).
 */
export async function discardDeadLetter(db: Db, letter: DeadLetter, by: string, reason: string): Promise<boolean> {
  return db.transaction(async (tx) => {
    const now = new Date().toISOString();
    // One conditional update: of two discards (or a discard and a replay) at once, one wins.
    const changed = await tx.execute(
      `UPDATE dead_letters SET discarded_at = $2
        WHERE id = $1 AND replayed_at IS NULL AND superseded_at IS NULL AND discarded_at IS NULL`,
      [letter.id, now],
    );
    if (changed === 0) return false;
    await appendAudit(tx, [
      {
        kind: 'operation',
        messageId: letter.messageId,
        system: letter.system,
        decision: 'discarded',
        rule: 'operator.discard',
        details: { deadLetter: letter.id, stage: letter.stage, code: letter.code, by, reason },
      },
    ]);
    return true;
  });
}
