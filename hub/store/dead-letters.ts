/** Dead letters: messages that could not be processed and deliveries that ran out of attempts. */
import { randomUUID } from 'node:crypto';
import { appendAudit } from './audit-log';
import type { Db } from './db';
import { insertReceived, type ReceivedMessage } from './messages';

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
    await insertReceived(tx, message, 'invalid');
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
    await appendAudit(tx, [
      {
        kind: 'invalid',
        messageId: message.id,
        system: message.system,
        decision: 'invalid',
        rule: 'schema',
        details: { code, problems },
      },
    ]);
    return letter;
  });
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
    `SELECT * FROM dead_letters ${options.includeReplayed ? '' : 'WHERE replayed_at IS NULL'} ORDER BY created_at LIMIT $1`,
    [options.limit ?? 500],
  );
  return rows.map(toDeadLetter);
}

export async function getDeadLetter(db: Db, id: string): Promise<DeadLetter | undefined> {
  const [row] = await db.query('SELECT * FROM dead_letters WHERE id = $1', [id]);
  return row && toDeadLetter(row);
}

/** Marks a dead letter replayed (and audits who asked), returning the new replay count. */
export async function markReplayed(db: Db, letter: DeadLetter, by: string): Promise<number> {
  return db.transaction(async (tx) => {
    await tx.execute('UPDATE dead_letters SET replayed_at = $2, replay_count = replay_count + 1 WHERE id = $1', [
      letter.id,
      new Date().toISOString(),
    ]);
    if (letter.deliveryId) {
      await tx.execute(`UPDATE deliveries SET status = 'pending', attempts = 0 WHERE id = $1`, [letter.deliveryId]);
    }
    await appendAudit(tx, [
      {
        kind: 'replay',
        messageId: letter.messageId,
        system: letter.system,
        details: { deadLetter: letter.id, stage: letter.stage, deliveryId: letter.deliveryId, by },
      },
    ]);
    return letter.replayCount + 1;
  });
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
  return letter;
}
