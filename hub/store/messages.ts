/** Messages as received: who sent what, when, its raw payload, and how far it got. */
import { appendAudit, type AuditEntry } from './audit-log';
import type { Db } from './db';

/** `failed`: an unexpected error on the last attempt (a PROCESSING_FAILED dead letter). */
export type MessageStatus = 'received' | 'routed' | 'invalid' | 'failed';

export interface ReceivedMessage {
  id: string;
  system: string;
  receivedAt: string;
  receivedSeq: number;
  contentType: string;
  idempotencyKey?: string;
  body: string;
  /**
   * The mapping that translated it (or failed to: a mapping's error, else the codec that failed) and
   * how many documents it made; a mapping's `digest` names the text kept in mapping_versions.
   */
  mapping: { name: string; documents: number; digest?: string };
}

/**
 * Records a translated message and its payload once (re-running after a crash is harmless), with
 * a `received` audit record, inside `tx`. Returns false when it was already recorded.
 */
export async function insertReceived(
  tx: Db,
  message: ReceivedMessage,
  status: MessageStatus,
  audit?: AuditEntry[],
): Promise<boolean> {
  const inserted = await tx.execute(
    `INSERT INTO messages (id, system, received_at, received_seq, content_type, idempotency_key, status, mapping, processed_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (id) DO NOTHING`,
    [
      message.id,
      message.system,
      message.receivedAt,
      message.receivedSeq,
      message.contentType,
      message.idempotencyKey,
      status,
      JSON.stringify(message.mapping),
      new Date().toISOString(),
    ],
  );
  if (inserted === 0) return false;
  await tx.execute('INSERT INTO payloads (message_id, content_type, body) VALUES ($1, $2, $3)', [
    message.id,
    message.contentType,
    message.body,
  ]);
  const entry: AuditEntry = {
    kind: 'received',
    messageId: message.id,
    system: message.system,
    details: {
      contentType: message.contentType,
      bytes: Buffer.byteLength(message.body),
      idempotencyKey: message.idempotencyKey,
      mapping: message.mapping.name,
      documents: message.mapping.documents,
    },
  };
  if (audit) audit.push(entry);
  else await appendAudit(tx, [entry]);
  return true;
}

/** Records a message that translated into canonical documents. */
export async function recordReceived(db: Db, message: ReceivedMessage): Promise<boolean> {
  return db.transaction(async (tx) => {
    const audit: AuditEntry[] = [];
    const first = await insertRouted(tx, message, audit);
    if (audit.length > 0) await appendAudit(tx, audit);
    return first;
  });
}

/**
 * Records a message that translated, inside `tx`, adding its audit record to `audit`; true when it
 * is recorded for the first time. A replayed dead letter that translates now is marked routed.
 */
export async function insertRouted(tx: Db, message: ReceivedMessage, audit: AuditEntry[]): Promise<boolean> {
  if (await insertReceived(tx, message, 'routed', audit)) return true;
  await tx.execute(
    `UPDATE messages SET status = 'routed', mapping = $2, error = NULL WHERE id = $1 AND status IN ('invalid', 'failed')`,
    [message.id, JSON.stringify(message.mapping)],
  );
  return false;
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

/** A recorded message with its raw payload, as needed to run it through ingest again. */
export async function storedMessage(
  db: Db,
  messageId: string,
): Promise<{ system: string; receivedAt: string; receivedSeq: number; contentType: string; body: string } | undefined> {
  const [row] = await db.query(
    `SELECT m.system, m.received_at, m.received_seq, p.content_type, p.body
       FROM messages m JOIN payloads p ON p.message_id = m.id WHERE m.id = $1`,
    [messageId],
  );
  return (
    row && {
      system: String(row.system),
      receivedAt: String(row.received_at),
      receivedSeq: Number(row.received_seq),
      contentType: String(row.content_type),
      body: String(row.body),
    }
  );
}

/** The mapping a message's record names (see ReceivedMessage.mapping), if it was recorded. */
export async function recordedMapping(
  db: Db,
  messageId: string,
): Promise<{ name: string; digest?: string } | undefined> {
  const [row] = await db.query('SELECT mapping FROM messages WHERE id = $1', [messageId]);
  if (!row?.mapping) return undefined;
  const { name, digest } = JSON.parse(String(row.mapping)) as { name: string; digest?: string };
  return digest ? { name, digest } : { name };
}

export async function messageExists(db: Db, messageId: string): Promise<boolean> {
  return (await db.query('SELECT 1 AS found FROM messages WHERE id = $1', [messageId])).length > 0;
}
