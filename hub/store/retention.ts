/**
 * Retention in the store: raw payloads and completed deliveries past their age are removed in small
 * batches, each its own transaction. Kept whatever their age: messages and their decisions, objects
 * and their history, dead letters and every payload and delivery one names, pending and dead
 * deliveries, and the audit log. Each message notes when retention took its payload or deliveries.
 */
import { appendAudit, type AuditRecord } from './audit-log';
import { jsonStrings, type Db, type Row } from './db';

/** Where a walk through old rows has got to: rows are taken in (time, id) order. */
export interface RetentionCursor {
  at: string;
  id: string;
}

/** The start of a walk. */
export const WALK_START: RetentionCursor = { at: '', id: '' };

export interface RetentionBatch {
  /** Rows past the cutoff looked at in this batch. */
  scanned: number;
  removed: number;
  /** Rows past the cutoff kept because something still needs them (a dead letter names them). */
  kept: number;
  /** Delivered revisions remembered in delivered_heads for the roll-back check (deliveries only). */
  remembered: number;
  /** Where the next batch starts; undefined when the walk reached the cutoff. */
  next?: RetentionCursor;
}

/**
 * Removes the payloads of up to `limit` messages received before `cutoff`, from `cursor` on. A
 * payload an ingest dead letter's message needs for a replay is kept, whatever state that dead
 * letter is in (a replayed one can be replayed again).
 */
export async function removePayloads(
  db: Db,
  cutoff: string,
  cursor: RetentionCursor,
  limit: number,
  now = new Date().toISOString(),
): Promise<RetentionBatch> {
  return db.transaction(async (tx) => {
    const rows = await tx.query<{ id: string; received_at: string }>(
      `SELECT id, received_at FROM messages
        WHERE payload_removed_at IS NULL AND received_at < $1 AND received_at >= $2 AND (received_at > $2 OR id > $3)
        ORDER BY received_at, id LIMIT $4`,
      [cutoff, cursor.at, cursor.id, limit],
    );
    if (rows.length === 0) return { scanned: 0, removed: 0, kept: 0, remembered: 0 };
    const ids = JSON.stringify(rows.map((row) => row.id));
    const kept = new Set(
      (
        await tx.query<{ message_id: string }>(
          `SELECT DISTINCT message_id FROM dead_letters WHERE stage = 'ingest' AND message_id IN ${jsonStrings(tx, 1)}`,
          [ids],
        )
      ).map((row) => row.message_id),
    );
    const removable = JSON.stringify(rows.map((row) => row.id).filter((id) => !kept.has(id)));
    const removed = await tx.execute(`DELETE FROM payloads WHERE message_id IN ${jsonStrings(tx, 1)}`, [removable]);
    await tx.execute(`UPDATE messages SET payload_removed_at = $1 WHERE id IN ${jsonStrings(tx, 2)}`, [now, removable]);
    return { scanned: rows.length, removed, kept: kept.size, remembered: 0, ...nextOf(rows, limit, 'received_at') };
  });
}

/**
 * Removes up to `limit` delivered or superseded deliveries created (and delivered) before `cutoff`,
 * from `cursor` on; a delivery a dead letter names is kept. The replay roll-back check asks for the
 * newest revision each target received (deliveries.ts, newerDelivered): where an older revision of
 * the same object to the same target is still pending or dead, the removed revision is remembered
 * in delivered_heads, so that check answers as before.
 */
export async function removeDeliveries(
  db: Db,
  cutoff: string,
  cursor: RetentionCursor,
  limit: number,
  now = new Date().toISOString(),
): Promise<RetentionBatch> {
  return db.transaction(async (tx) => {
    const rows = await tx.query<{ id: string; message_id: string; created_at: string; delivered_at: string | null }>(
      `SELECT id, message_id, created_at, delivered_at FROM deliveries
        WHERE status IN ('delivered', 'superseded') AND created_at < $1 AND created_at >= $2 AND (created_at > $2 OR id > $3)
        ORDER BY created_at, id LIMIT $4`,
      [cutoff, cursor.at, cursor.id, limit],
    );
    if (rows.length === 0) return { scanned: 0, removed: 0, kept: 0, remembered: 0 };
    const named = new Set(
      (
        await tx.query<{ delivery_id: string }>(
          `SELECT DISTINCT delivery_id FROM dead_letters WHERE delivery_id IN ${jsonStrings(tx, 1)}`,
          [JSON.stringify(rows.map((row) => row.id))],
        )
      ).map((row) => row.delivery_id),
    );
    // Delivered again recently (a replay) counts from then.
    const removable = rows.filter((row) => !named.has(row.id) && (row.delivered_at ?? '') < cutoff);
    const ids = JSON.stringify(removable.map((row) => row.id));
    const remembered = await tx.execute(
      `INSERT INTO delivered_heads (target, type, object_key, revision)
       SELECT d.target, d.type, d.object_key, MAX(d.object_revision) FROM deliveries d
        WHERE d.id IN ${jsonStrings(tx, 1)} AND d.status = 'delivered' AND EXISTS (
          SELECT 1 FROM deliveries o WHERE o.target = d.target AND o.type = d.type AND o.object_key = d.object_key
             AND o.status IN ('pending', 'dead') AND o.object_revision < d.object_revision)
        GROUP BY d.target, d.type, d.object_key
       ON CONFLICT (target, type, object_key) DO UPDATE SET revision =
         CASE WHEN excluded.revision > delivered_heads.revision THEN excluded.revision ELSE delivered_heads.revision END`,
      [ids],
    );
    const removed = await tx.execute(
      `DELETE FROM deliveries WHERE id IN ${jsonStrings(tx, 1)} AND status IN ('delivered', 'superseded')`,
      [ids],
    );
    await tx.execute(`UPDATE messages SET deliveries_removed_at = $1 WHERE id IN ${jsonStrings(tx, 2)}`, [
      now,
      JSON.stringify([...new Set(removable.map((row) => row.message_id))]),
    ]);
    return {
      scanned: rows.length,
      removed,
      kept: rows.length - removable.length,
      remembered,
      ...nextOf(rows, limit, 'created_at'),
    };
  });
}

/** What one retention run did, as its audit record says. */
export interface RetentionRunSummary {
  startedAt: string;
  /** False when the run stopped at its time budget or at shutdown; the next run goes on. */
  complete: boolean;
  payloads?: { days: number; cutoff: string; removed: number; kept: number };
  deliveries?: { days: number; cutoff: string; removed: number; kept: number; remembered: number };
  batches: number;
  durationMs: number;
}

/** Appends the run's audit record (kind `retention`): the cutoffs and what was removed and kept. */
export async function recordRetentionRun(db: Db, run: RetentionRunSummary): Promise<AuditRecord> {
  return db.transaction(async (tx) => {
    const [record] = await appendAudit(tx, [
      { kind: 'retention', decision: 'removed', rule: 'retention', details: { ...run } },
    ]);
    return record!;
  });
}

/** What a message's trace says about retention: when its payload and completed deliveries were removed. */
export function retentionOfMessage(row: Row): { payloadRemovedAt?: string; deliveriesRemovedAt?: string } | undefined {
  if (!row.payload_removed_at && !row.deliveries_removed_at) return undefined;
  return {
    ...(row.payload_removed_at ? { payloadRemovedAt: String(row.payload_removed_at) } : {}),
    ...(row.deliveries_removed_at ? { deliveriesRemovedAt: String(row.deliveries_removed_at) } : {}),
  };
}

/** `IN` over a JSON array of ids in parameter `$n`: one statement text whatever the batch's size. */
function nextOf<T extends { id: string }>(
  rows: T[],
  limit: number,
  column: keyof T & string,
): { next?: RetentionCursor } {
  const last = rows[rows.length - 1];
  return rows.length < limit || !last ? {} : { next: { at: String(last[column]), id: last.id } };
}
