/** Messages as received: who sent what, when, its raw payload, and how far it got. */
import { appendAudit } from './audit-log';
import type { Db } from './db';

export type MessageStatus = 'received' | 'routed' | 'invalid';

export interface ReceivedMessage {
  id: string;
  system: string;
  receivedAt: string;
  receivedSeq: number;
  contentType: string;
  idempotencyKey?: string;
  body: string;
}

/**
 * Records a message and its payload once (re-running after a crash is harmless), with a
 * `received` audit record. Returns false when it was already recorded.
 */
export async function recordReceived(db: Db, message: ReceivedMessage): Promise<boolean> {
  return db.transaction(async (tx) => {
    const inserted = await tx.execute(
      `INSERT INTO messages (id, system, received_at, received_seq, content_type, idempotency_key, status)
       VALUES ($1, $2, $3, $4, $5, $6, 'received') ON CONFLICT (id) DO NOTHING`,
      [
        message.id,
        message.system,
        message.receivedAt,
        message.receivedSeq,
        message.contentType,
        message.idempotencyKey,
      ],
    );
    if (inserted === 0) return false;
    await tx.execute('INSERT INTO payloads (message_id, content_type, body) VALUES ($1, $2, $3)', [
      message.id,
      message.contentType,
      message.body,
    ]);
    await appendAudit(tx, [
      {
        kind: 'received',
        messageId: message.id,
        system: message.system,
        details: {
          contentType: message.contentType,
          bytes: Buffer.byteLength(message.body),
          idempotencyKey: message.idempotencyKey,
        },
      },
    ]);
    return true;
  });
}

/** True when `system` sent an earlier message (other than `messageId`) with the same Idempotency-Key. */
export async function idempotencyKeyUsedBefore(
  db: Db,
  system: string,
  key: string,
  messageId: string,
): Promise<boolean> {
  const rows = await db.query(
    'SELECT id FROM messages WHERE system = $1 AND idempotency_key = $2 AND id <> $3 LIMIT 1',
    [system, key, messageId],
  );
  return rows.length > 0;
}

export async function markRouted(db: Db, messageId: string, mapping: string, documents: number): Promise<void> {
  await db.execute(
    `UPDATE messages SET status = 'routed', mapping = $2, processed_at = $3, error = NULL WHERE id = $1`,
    [messageId, JSON.stringify({ name: mapping, documents }), new Date().toISOString()],
  );
}

export async function payloadOf(db: Db, messageId: string): Promise<{ contentType: string; body: string } | undefined> {
  const [row] = await db.query<{ content_type: string; body: string }>(
    'SELECT content_type, body FROM payloads WHERE message_id = $1',
    [messageId],
  );
  return row && { contentType: row.content_type, body: row.body };
}

export async function messageExists(db: Db, messageId: string): Promise<boolean> {
  return (await db.query('SELECT 1 AS found FROM messages WHERE id = $1', [messageId])).length > 0;
}
