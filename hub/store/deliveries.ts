/** Delivery records: one per (message, document, target), with attempts and the final outcome. */
import type { CanonicalEnvelope } from '../../schemas/index';
import { appendAudit, type AuditEntry } from './audit-log';
import { jsonStrings, type Db } from './db';
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
  /** The delivery partition its target's worker finds it in (unset on rows of store schema 2). */
  partition?: number;
  /** Drains that took it up and ended without an outcome or a failed attempt (crashed or stalled). */
  claims: number;
}

/**
 * A delivery row with the document its envelope leaves out: an accepted revision's deliveries keep
 * the envelope without its document, which is the revision's row in object_history (stored once
 * however many targets receive it). Proposals and rows of earlier releases carry their document.
 */
function selectDeliveries(extraColumns = ''): string {
  return `SELECT d.*, h.data AS stored_document${extraColumns}
       FROM deliveries d LEFT JOIN object_history h
         ON h.type = d.type AND h.object_key = d.object_key AND h.revision = d.object_revision`;
}

export async function getDelivery(db: Db, id: string): Promise<DeliveryRow | undefined> {
  const [row] = await db.query(`${selectDeliveries()} WHERE d.id = $1`, [id]);
  return row && toDelivery(row);
}

/** A pending delivery with the newest revision of its object the target already has, if any. */
export interface PendingDelivery extends DeliveryRow {
  deliveredRevision?: number;
}

/** A page of a partition's pending deliveries: whole objects, and whether more may be waiting. */
export interface PendingPage {
  /** Each object's pending deliveries in revision order, with what the target already has of it. */
  chains: PendingDelivery[][];
  /** The page reached a limit: more deliveries may be pending (none are when false). */
  more: boolean;
}

/**
 * The next deliveries of a target's partition: up to `objects` objects, those waiting longest among
 * the first `rows` pending deliveries (read off the pending index in order, so finding them costs
 * the same however long the backlog is), each with every one of its pending deliveries. Whole
 * objects, so a page never holds a revision without the older ones still pending (also when clocks
 * of several workers disagree); objects, not rows, so one object's long backlog does not keep the
 * others from going side by side. All of an object's pending deliveries share its partition
 * (realignPartitions keeps them so when the partition count changes).
 */
export async function pendingPage(
  db: Db,
  target: string,
  partition: number,
  objects: number,
  rows = objects * 4,
): Promise<PendingPage> {
  const found = await db.query(
    `WITH head AS (
            SELECT type, object_key, created_at FROM deliveries
             WHERE target = $1 AND delivery_partition = $2 AND status = 'pending'
             ORDER BY created_at LIMIT $3),
          page AS (
            SELECT type, object_key FROM head GROUP BY type, object_key ORDER BY MIN(created_at) LIMIT $4)
     ${selectDeliveries(`, ${newestReceived('d.target', 'd.type', 'd.object_key')} AS delivered_revision`)}
      WHERE d.target = $1 AND d.delivery_partition = $2 AND d.status = 'pending'
        AND (d.type, d.object_key) IN (SELECT type, object_key FROM page)
      ORDER BY d.type, d.object_key, d.object_revision, d.created_at`,
    [target, partition, rows, objects],
  );
  const chains = new Map<string, PendingDelivery[]>();
  for (const row of found) {
    const delivery: PendingDelivery = toDelivery(row);
    if (row.delivered_revision !== null && row.delivered_revision !== undefined)
      delivery.deliveredRevision = Number(row.delivered_revision);
    const key = `${delivery.type}\u0000${delivery.objectKey}`;
    const chain = chains.get(key);
    if (chain) chain.push(delivery);
    else chains.set(key, [delivery]);
  }
  // Fewer objects than the limit and fewer deliveries than the scan's: the scan saw every pending
  // delivery, and the page holds them all. (A full scan whose objects all fit returns at least `rows`.)
  return { chains: [...chains.values()], more: chains.size >= objects || found.length >= rows };
}

/**
 * SQL for the newest revision of an object a target received: its delivered deliveries, and those
 * retention removed (remembered in delivered_heads). One expression for every roll-back check.
 */
function newestReceived(target: string, type: string, objectKey: string): string {
  return `(SELECT MAX(revision) FROM (
      SELECT object_revision AS revision FROM deliveries
       WHERE target = ${target} AND type = ${type} AND object_key = ${objectKey} AND status = 'delivered'
      UNION ALL
      SELECT revision FROM delivered_heads WHERE target = ${target} AND type = ${type} AND object_key = ${objectKey}
    ) AS received)`;
}

/** The newest revision of the same object already delivered to the same target, if newer than `delivery`'s. */
export async function newerDelivered(
  db: Db,
  delivery: Pick<DeliveryRow, 'target' | 'type' | 'objectKey' | 'objectRevision'>,
): Promise<number | undefined> {
  const [row] = await db.query<{ revision: number | null }>(`SELECT ${newestReceived('$1', '$2', '$3')} AS revision`, [
    delivery.target,
    delivery.type,
    delivery.objectKey,
  ]);
  const revision = row?.revision === null || row?.revision === undefined ? undefined : Number(row.revision);
  return revision !== undefined && revision > delivery.objectRevision ? revision : undefined;
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

/**
 * What a partition's drain has in flight: the deliveries it took up and has no outcome of yet. One
 * row per partition (BullMQ's global concurrency 1 lets one drain work a partition at a time),
 * rewritten in the transactions that take deliveries up and settle them, so a delivery costs no row
 * update of its own to be taken up.
 */
export interface InFlight {
  target: string;
  partition: number;
  ids: string[];
}

async function writeInFlight(tx: Db, inFlight: InFlight): Promise<void> {
  if (inFlight.ids.length === 0) {
    await tx.execute('DELETE FROM in_flight WHERE target = $1 AND delivery_partition = $2', [
      inFlight.target,
      inFlight.partition,
    ]);
    return;
  }
  await tx.execute(
    `INSERT INTO in_flight (target, delivery_partition, delivery_ids) VALUES ($1, $2, $3)
       ON CONFLICT (target, delivery_partition) DO UPDATE SET delivery_ids = excluded.delivery_ids`,
    [inFlight.target, inFlight.partition, JSON.stringify(inFlight.ids)],
  );
}

/**
 * Run as a drain starts: what the partition's last drain still had in flight, it took up and ended
 * without an outcome (its worker crashed, stalled or stopped), so each of those still pending counts
 * one claim more; a delivery that kills its worker every time is found by its count. Returns how many
 * were counted.
 */
export async function settleClaims(db: Db, target: string, partition: number): Promise<number> {
  return db.transaction(async (tx) => {
    // Taken and cleared in one statement: two drains that raced (a stalled one waking up) cannot both count it.
    const [row] = await tx.query<{ delivery_ids: string }>(
      'DELETE FROM in_flight WHERE target = $1 AND delivery_partition = $2 RETURNING delivery_ids',
      [target, partition],
    );
    if (!row) return 0;
    return tx.execute(
      `UPDATE deliveries SET claims = claims + 1 WHERE id IN ${jsonStrings(tx, 1)} AND status = 'pending'`,
      [row.delivery_ids],
    );
  });
}

/**
 * A failed attempt: its number, the error and the target's status, if it answered. It also shows
 * the worker lived through sending it: its claims start again.
 */
export interface FailedAttempt {
  id: string;
  attempts: number;
  error: string;
  status?: number;
}

/**
 * What a drain reports in one transaction: failed attempts, deliveries that arrived (marked and
 * audited, one append to the audit chain) and what it has in flight after them, in which the
 * deliveries it takes up next are written down before any of them is sent (see settleClaims). A
 * drain's reports are written one after another, so its in-flight row is never overwritten by an
 * older one.
 */
export async function recordDrainSteps(
  db: Db,
  outcomes: DeliveredOutcome[],
  failed: FailedAttempt[],
  inFlight?: InFlight,
): Promise<void> {
  await db.transaction(async (tx) => {
    if (inFlight) await writeInFlight(tx, inFlight);
    for (const attempt of failed)
      await tx.execute(
        'UPDATE deliveries SET attempts = $2, last_error = $3, last_status = $4, claims = 0 WHERE id = $1',
        [attempt.id, attempt.attempts, attempt.error, attempt.status],
      );
    if (outcomes.length > 0) await markDelivered(tx, outcomes);
  });
}

/** The delivery arrived: marks it and appends the outcome to the audit log. */
export async function recordDelivered(
  db: Db,
  delivery: DeliveryRow,
  attempts: number,
  status: number,
  latencyMs: number,
): Promise<void> {
  await recordDeliveredMany(db, [{ delivery, attempts, status, latencyMs }]);
}

export interface DeliveredOutcome {
  delivery: DeliveryRow;
  attempts: number;
  status: number;
  latencyMs: number;
}

/** Deliveries that arrived, marked and audited in one transaction, with what the drain has in flight after them. */
export async function recordDeliveredMany(db: Db, outcomes: DeliveredOutcome[], inFlight?: InFlight): Promise<void> {
  await recordDrainSteps(db, outcomes, [], inFlight);
}

async function markDelivered(tx: Db, outcomes: DeliveredOutcome[]): Promise<void> {
  const now = new Date().toISOString();
  const audit: AuditEntry[] = [];
  for (const { delivery, attempts, status, latencyMs } of outcomes) {
    const changed = await tx.execute(
      `UPDATE deliveries SET status = 'delivered', attempts = $2, last_status = $3, last_error = NULL, delivered_at = $4
         WHERE id = $1 AND status = 'pending'`,
      [delivery.id, attempts, status, now],
    );
    if (changed === 0) continue;
    audit.push({
      kind: 'delivery',
      messageId: delivery.messageId,
      type: delivery.type,
      objectKey: delivery.objectKey,
      target: delivery.target,
      decision: 'delivered',
      rule: `route.${delivery.routeId}`,
      details: { deliveryId: delivery.id, attempts, status, latencyMs, kind: delivery.kind },
    });
  }
  if (audit.length > 0) await appendAudit(tx, audit, now);
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
  return (
    await db.query(`${selectDeliveries()} WHERE d.message_id = $1 ORDER BY d.doc_index, d.target`, [messageId])
  ).map(toDelivery);
}

/** Target partitions with pending deliveries, and how many: what the outbox sweep checks has a job. */
export async function pendingPartitions(
  db: Db,
): Promise<Array<{ target: string; partition: number | null; pending: number }>> {
  const rows = await db.query(
    `SELECT target, delivery_partition, COUNT(*) AS pending FROM deliveries WHERE status = 'pending'
      GROUP BY target, delivery_partition`,
  );
  return rows.map((row) => ({
    target: String(row.target),
    partition: row.delivery_partition === null ? null : Number(row.delivery_partition),
    pending: Number(row.pending),
  }));
}

/** Gives a delivery of store schema 2 (no partition yet) its partition, e.g. as it is replayed. */
export async function assignPartition(db: Db, id: string, partition: number): Promise<void> {
  await db.execute('UPDATE deliveries SET delivery_partition = $2 WHERE id = $1 AND delivery_partition IS NULL', [
    id,
    partition,
  ]);
}

/**
 * Puts every pending delivery in the partition `partitionOf` gives it now: rows written before
 * partitions were stored (store schema 2), and rows written under another partition count. Run
 * before a process's delivery workers start; returns how many rows moved.
 */
export async function realignPartitions(
  db: Db,
  partitionOf: (type: string, objectKey: string) => number,
): Promise<number> {
  const rows = await db.query(
    `SELECT id, type, object_key, delivery_partition FROM deliveries WHERE status = 'pending'`,
  );
  const moves = rows.flatMap((row) => {
    const partition = partitionOf(String(row.type), String(row.object_key));
    return row.delivery_partition === partition ? [] : [{ id: String(row.id), partition }];
  });
  if (moves.length === 0) return 0;
  await db.transaction(async (tx) => {
    for (const move of moves)
      await tx.execute(`UPDATE deliveries SET delivery_partition = $2 WHERE id = $1 AND status = 'pending'`, [
        move.id,
        move.partition,
      ]);
  });
  return moves.length;
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
    envelope: envelopeOf(row),
    status: row.status as DeliveryRow['status'],
    attempts: Number(row.attempts),
    createdAt: String(row.created_at),
    claims: Number(row.claims ?? 0),
  };
  if (row.last_error) delivery.lastError = String(row.last_error);
  if (row.last_status !== null && row.last_status !== undefined) delivery.lastStatus = Number(row.last_status);
  if (row.delivered_at) delivery.deliveredAt = String(row.delivered_at);
  if (row.delivery_partition !== null && row.delivery_partition !== undefined)
    delivery.partition = Number(row.delivery_partition);
  return delivery;
}

function envelopeOf(row: Record<string, unknown>): CanonicalEnvelope {
  const envelope = JSON.parse(String(row.envelope)) as CanonicalEnvelope;
  if (envelope.document !== undefined) return envelope;
  // Never sent without its document: a missing history row is a store fault, and says so.
  if (row.stored_document === null || row.stored_document === undefined)
    throw new Error(
      `delivery ${String(row.id)}: revision ${String(row.object_revision)} of ${String(row.type)} ${String(row.object_key)} has no history row to take its document from`,
    );
  envelope.document = JSON.parse(String(row.stored_document));
  return envelope;
}
