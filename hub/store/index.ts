/**
 * The hub's stores — messages, object store, deliveries, dead letters and the audit log — on
 * SQLite (default, a file under the data directory) or PostgreSQL (DATABASE_URL).
 */
import { join } from 'node:path';
import { openDb, type Db } from './db';
import { queryAudit } from './audit-log';
import { deliveriesOf } from './deliveries';
import { migrate } from './migrations';
import { retentionOfMessage } from './retention';

export * from './audit-log';
export * from './dead-letters';
export * from './deliveries';
export * from './intake';
export * from './mapping-versions';
export * from './messages';
export * from './objects';
export * from './replay-requests';
export * from './retention';
export type { Db, Dialect } from './db';

/** Opens (and migrates) the store: PostgreSQL when `databaseUrl` is set, else `<dataDir>/handover.db`. */
export async function openStore(options: { dataDir: string; databaseUrl?: string }): Promise<Db> {
  const db = openDb({
    sqliteFile: join(options.dataDir, 'handover.db'),
    ...(options.databaseUrl ? { databaseUrl: options.databaseUrl } : {}),
  });
  await migrate(db);
  return db;
}

/** Everything known about one message: stages, decisions with their rules, deliveries and attempts. */
export async function messageTrace(db: Db, messageId: string) {
  const [message] = await db.query('SELECT * FROM messages WHERE id = $1', [messageId]);
  if (!message) return undefined;
  const decisions = await db.query('SELECT * FROM decisions WHERE message_id = $1 ORDER BY doc_index', [messageId]);
  return {
    messageId,
    system: String(message.system),
    receivedAt: String(message.received_at),
    contentType: String(message.content_type),
    idempotencyKey: message.idempotency_key ?? undefined,
    status: String(message.status),
    mapping: message.mapping ? JSON.parse(String(message.mapping)) : undefined,
    error: message.error ? JSON.parse(String(message.error)) : undefined,
    processedAt: message.processed_at ?? undefined,
    // Said so, since the payload and completed deliveries are then missing on purpose.
    retention: retentionOfMessage(message),
    decisions: decisions.map((row) => ({
      docIndex: Number(row.doc_index),
      type: String(row.type),
      objectKey: String(row.object_key),
      version: row.version === null ? undefined : Number(row.version),
      occurredAt: String(row.occurred_at),
      decision: String(row.decision),
      rule: String(row.rule),
      reason: String(row.reason),
      ...(row.ignored_fields ? { ignoredFields: JSON.parse(String(row.ignored_fields)) as string[] } : {}),
      decidedAt: String(row.decided_at),
    })),
    deliveries: await deliveriesOf(db, messageId),
    audit: await queryAudit(db, { messageId }),
  };
}
