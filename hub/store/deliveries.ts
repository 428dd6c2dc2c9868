/** Delivery records: one per (message, document, target), with attempts and the final outcome. */
import type { CanonicalEnvelope } from '../../schemas/index';
import { appendAudit } from './audit-log';
import type { Db } from './db';
import { insertDeadLetter } from './dead-letters';

export interface DeliveryRow {
  id: string;
  messageId: string;
  docIndex: number;
  target: string;
  routeId: string;
  kind: 'update' | 'change-request';
  type: string;
  objectKey: string;
  objectRevision: number;
  /** The envelope as the target receives it. */
  envelope: CanonicalEnvelope;
  /** `superseded`: a replayed revision the target had meanwhile received a newer revision of; never sent. */
  status: 'pending' | 'delivered' | 'dead' | 'superseded';
  attempts: number;
  lastError?: string;
  lastStatus?: number;
  createdAt: string;
  deliveredAt?: string;
}

export async function getDelivery(db: Db, id: string): Promise<DeliveryRow | undefined> {
  const [row] = await db.query('SELECT * FROM deliveries WHERE id = $1', [id]);
  return row && toDelivery(row);
}

/** Pending deliveries of the same object to the same target that must go before `delivery`. */
export async function earlierPending(db: Db, delivery: DeliveryRow): Promise<DeliveryRow[]> {
  const rows = await db.query(
    `SELECT * FROM deliveries WHERE target = $1 AND type = $2 AND object_key = $3 AND status = 'pending'
       AND object_revision < $4 ORDER BY object_revision`,
    [delivery.target, delivery.type, delivery.objectKey, delivery.objectRevision],
  );
  return rows.map(toDelivery);
}

/**
 * The newest revision of the same object already delivered to the same target, if newer than
 * `delivery`'s: from the deliveries, and from delivered_heads for deliveries retention removed.
 */
export async function newerDelivered(
  db: Db,
  delivery: Pick<DeliveryRow, 'target' | 'type' | 'objectKey' | 'objectRevision'>,
): Promise<number | undefined> {
  const [row] = await db.query<{ revision: number | null }>(
    `SELECT MAX(revision) AS revision FROM (
       SELECT object_revision AS revision FROM deliveries
        WHERE target = $1 AND type = $2 AND object_key = $3 AND status = 'delivered' AND object_revision > $4
       UNION ALL
       SELECT revision FROM delivered_heads WHERE target = $1 AND type = $2 AND object_key = $3 AND revision > $4
     ) AS newer`,
    [delivery.target, delivery.type, delivery.objectKey, delivery.objectRevision],
  );
  return row?.revision === null || row?.revision === undefined ? undefined : Number(row.revision);
}

/**
 * A pending delivery (a replay) whose target got a newer revision of the object meanwhile is never
 * sent: it is marked superseded and audited, as a refused replay is.
 */
export async function recordSuperseded(db: Db, delivery: DeliveryRow, deliveredRevision: number): Promise<void> {
  await db.transaction(async (tx) => {
    const changed = await tx.execute(
      `UPDATE deliveries SET status = 'superseded' WHERE id = $1 AND status = 'pending'`,
      [delivery.id],
    );
    if (changed === 0) return;
    await appendAudit(tx, [
      {
        kind: 'delivery',
        messageId: delivery.messageId,
        type: delivery.type,
        objectKey: delivery.objectKey,
        target: delivery.target,
        decision: 'superseded',
        rule: 'replay.no-roll-back',
        details: {
          deliveryId: delivery.id,
          revision: delivery.objectRevision,
          deliveredRevision,
          code: 'REPLAY_WOULD_ROLL_BACK',
        },
      },
    ]);
  });
}

export async function recordAttemptFailed(
  db: Db,
  id: string,
  attempts: number,
  error: string,
  status?: number,
): Promise<void> {
  await db.execute('UPDATE deliveries SET attempts = $2, last_error = $3, last_status = $4 WHERE id = $1', [
    id,
    attempts,
    error,
    status,
  ]);
}

/** The delivery arrived: marks it and appends the outcome to the audit log. */
export async function recordDelivered(
  db: Db,
  delivery: DeliveryRow,
  attempts: number,
  status: number,
  latencyMs: number,
): Promise<void> {
  await db.transaction(async (tx) => {
    const now = new Date().toISOString();
    const changed = await tx.execute(
      `UPDATE deliveries SET status = 'delivered', attempts = $2, last_status = $3, last_error = NULL, delivered_at = $4
       WHERE id = $1 AND status = 'pending'`,
      [delivery.id, attempts, status, now],
    );
    if (changed === 0) return;
    await appendAudit(tx, [
      {
        kind: 'delivery',
        messageId: delivery.messageId,
        type: delivery.type,
        objectKey: delivery.objectKey,
        target: delivery.target,
        decision: 'delivered',
        rule: `route.${delivery.routeId}`,
        details: { deliveryId: delivery.id, attempts, status, latencyMs, kind: delivery.kind },
      },
    ]);
  });
}

/** The delivery ran out of attempts (or the target refused it for good): dead letter + audit. */
export async function recordDead(
  db: Db,
  delivery: DeliveryRow,
  attempts: number,
  code: string,
  reason: string,
): Promise<void> {
  await db.transaction(async (tx) => {
    const changed = await tx.execute(
      `UPDATE deliveries SET status = 'dead', attempts = $2, last_error = $3 WHERE id = $1 AND status = 'pending'`,
      [delivery.id, attempts, reason],
    );
    if (changed === 0) return;
    const [message] = await tx.query<{ system: string }>('SELECT system FROM messages WHERE id = $1', [
      delivery.messageId,
    ]);
    await insertDeadLetter(tx, {
      stage: 'deliver',
      messageId: delivery.messageId,
      deliveryId: delivery.id,
      system: message?.system ?? '',
      code,
      reason,
    });
    await appendAudit(tx, [
      {
        kind: 'dead-letter',
        messageId: delivery.messageId,
        type: delivery.type,
        objectKey: delivery.objectKey,
        target: delivery.target,
        decision: 'dead-letter',
        rule: `route.${delivery.routeId}`,
        details: { deliveryId: delivery.id, attempts, code, reason },
      },
    ]);
  });
}

export async function deliveriesOf(db: Db, messageId: string): Promise<DeliveryRow[]> {
  return (await db.query('SELECT * FROM deliveries WHERE message_id = $1 ORDER BY doc_index, target', [messageId])).map(
    toDelivery,
  );
}

/** Deliveries still pending, for re-enqueueing after a crash between commit and enqueue. */
export async function pendingDeliveries(db: Db, limit = 10000): Promise<DeliveryRow[]> {
  return (
    await db.query(`SELECT * FROM deliveries WHERE status = 'pending' ORDER BY created_at LIMIT $1`, [limit])
  ).map(toDelivery);
}

/**
 * Pending deliveries with every job id they may be queued under: their own id, and after a replay
 * `<id>-replay-<n>`. The outbox sweep queues the ones none of these jobs carries.
 */
export async function pendingDeliveryJobs(
  db: Db,
  limit = 1000,
): Promise<Array<{ delivery: DeliveryRow; jobIds: string[] }>> {
  const rows = await db.query(
    `SELECT d.*, (SELECT MAX(l.replay_count) FROM dead_letters l WHERE l.delivery_id = d.id) AS replays
       FROM deliveries d WHERE d.status = 'pending' ORDER BY d.created_at LIMIT $1`,
    [limit],
  );
  return rows.map((row) => {
    const delivery = toDelivery(row);
    const replays = Number(row.replays ?? 0);
    return { delivery, jobIds: replays > 0 ? [delivery.id, `${delivery.id}-replay-${replays}`] : [delivery.id] };
  });
}

function toDelivery(row: Record<string, unknown>): DeliveryRow {
  const delivery: DeliveryRow = {
    id: String(row.id),
    messageId: String(row.message_id),
    docIndex: Number(row.doc_index),
    target: String(row.target),
    routeId: String(row.route_id),
    kind: row.kind as DeliveryRow['kind'],
    type: String(row.type),
    objectKey: String(row.object_key),
    objectRevision: Number(row.object_revision),
    envelope: JSON.parse(String(row.envelope)) as CanonicalEnvelope,
    status: row.status as DeliveryRow['status'],
    attempts: Number(row.attempts),
    createdAt: String(row.created_at),
  };
  if (row.last_error) delivery.lastError = String(row.last_error);
  if (row.last_status !== null && row.last_status !== undefined) delivery.lastStatus = Number(row.last_status);
  if (row.delivered_at) delivery.deliveredAt = String(row.delivered_at);
  return delivery;
}
