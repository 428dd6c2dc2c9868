/**
 * Applying one canonical document: the ownership decision, the object store, the history, the
 * planned deliveries and the audit record, all in one transaction. Re-running it for the same
 * message and document (after a crash) returns the first outcome and changes nothing.
 */
import type { CanonicalEnvelope } from '../../schemas/index';
import { contentHash } from '../../schemas/stable-json';
import type { OwnershipConfig } from '../config/schema';
import {
  MAIN_GROUP,
  decide,
  resolveOwner,
  type Decision,
  type StoredObject,
  type Watermark,
} from '../ownership/decide';
import type { RoutePlan } from '../pipeline/route';
import { appendAudit, type AuditEntry } from './audit-log';
import type { Db } from './db';
import { insertDeadLetter } from './dead-letters';

export interface ApplyInput {
  messageId: string;
  docIndex: number;
  envelope: CanonicalEnvelope;
  receivedSeq: number;
  duplicateKey: boolean;
  ownership: OwnershipConfig;
  /** The message was recorded in this transaction, so no earlier run can have decided it. */
  firstRun?: boolean;
  /** The delivery partition of this object (partitionOf with the configured count). */
  partition: number;
  /** Routes for an accepted document, or for a change request to `owner`. */
  plan: (decision: Decision, document: Record<string, unknown>, owner: string) => RoutePlan[];
}

export interface PlannedDelivery extends RoutePlan {
  id: string;
  status: 'pending' | 'delivered' | 'dead' | 'superseded';
  objectRevision: number;
  /** The delivery partition it is kept in: the one to wake. */
  partition: number;
}

export interface ApplyOutcome {
  decision: Decision;
  rule: string;
  reason: string;
  revision: number;
  deliveries: PlannedDelivery[];
  replayed: boolean;
}

export async function applyDocument(db: Db, input: ApplyInput): Promise<ApplyOutcome> {
  return db.transaction(async (tx) => {
    await lockObjects(tx, [input.envelope]);
    const audit: AuditEntry[] = [];
    const outcome = await applyInTx(tx, input, audit);
    if (audit.length > 0) await appendAudit(tx, audit);
    return outcome;
  });
}

/**
 * On PostgreSQL, serialises the writers of these objects for the rest of `tx`, also while an object
 * does not exist yet (a row lock cannot). Locks are taken in one order, so two batches that share
 * objects never deadlock. SQLite needs none: its writers take turns.
 */
export async function lockObjects(
  tx: Db,
  envelopes: Array<Pick<CanonicalEnvelope, 'type' | 'objectKey'>>,
): Promise<void> {
  if (tx.dialect !== 'postgres') return;
  const keys = [...new Set(envelopes.map((envelope) => `${envelope.type}:${envelope.objectKey}`))].sort();
  for (const key of keys) await tx.execute('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [key]);
}

/**
 * Applies one document inside `tx`, whose caller holds the object's lock (lockObjects) and appends
 * `audit` to the log before it commits.
 */
export async function applyInTx(tx: Db, input: ApplyInput, audit: AuditEntry[]): Promise<ApplyOutcome> {
  const { envelope, messageId, docIndex } = input;
  // A message recorded in this same transaction has no decision yet; one seen before may (a job run again).
  if (!input.firstRun) {
    const [earlier] = await tx.query(
      'SELECT decision, rule, reason FROM decisions WHERE message_id = $1 AND doc_index = $2',
      [messageId, docIndex],
    );
    if (earlier) return replayOutcome(tx, input, earlier);
  }
  const [row] = await tx.query('SELECT * FROM objects WHERE type = $1 AND object_key = $2', [
    envelope.type,
    envelope.objectKey,
  ]);
  const stored: StoredObject | undefined = row && {
    data: JSON.parse(String(row.data)) as Record<string, unknown>,
    watermarks: storedWatermarks(row),
  };
  const incomingDocument = envelope.document as Record<string, unknown>;
  const result = decide(
    input.ownership,
    {
      type: envelope.type,
      document: incomingDocument,
      sourceSystem: envelope.sourceSystem,
      occurredAt: envelope.occurredAt,
      receivedSeq: input.receivedSeq,
      duplicateKey: input.duplicateKey,
      ...(envelope.version === undefined ? {} : { version: envelope.version }),
    },
    stored,
  );
  const now = new Date().toISOString();
  let revision = row ? Number(row.revision) : 0;
  let document = stored?.data ?? incomingDocument;
  // A new revision: its history row holds the document, and its deliveries read it from there.
  const historyHoldsDocument = result.decision === 'accepted' && Boolean(result.apply);
  if (historyHoldsDocument) {
    revision += 1;
    document = result.apply!;
    await writeObject(tx, input, { revision, document, watermarks: result.watermarks!, now, exists: Boolean(row) });
  } else if (result.decision === 'duplicate' && result.watermarks && row) {
    // Identical content still moves its groups' watermarks: order is judged against the newest write seen.
    const main = result.watermarks[MAIN_GROUP]!;
    await tx.execute(
      'UPDATE objects SET watermarks = $3, version = $4, occurred_at = $5, received_seq = $6 WHERE type = $1 AND object_key = $2',
      [
        envelope.type,
        envelope.objectKey,
        JSON.stringify(result.watermarks),
        main.version,
        main.occurredAt,
        main.receivedSeq,
      ],
    );
  } else if (result.decision === 'proposed') {
    document = incomingDocument;
  }
  await tx.execute(
    `INSERT INTO decisions (message_id, doc_index, type, object_key, version, occurred_at, decision, rule, reason, decided_at, ignored_fields)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
    [
      messageId,
      docIndex,
      envelope.type,
      envelope.objectKey,
      envelope.version,
      envelope.occurredAt,
      result.decision,
      result.rule,
      result.reason,
      now,
      result.ignoredFields ? JSON.stringify(result.ignoredFields) : null,
    ],
  );
  const routes =
    result.decision === 'accepted' || result.decision === 'proposed'
      ? input.plan(result.decision, document, result.owner)
      : [];
  // What the targets receive: the object as stored after the change (kept once, in its history row;
  // the delivery keeps the rest of the envelope), or the proposal as a Change request.
  const delivered = historyHoldsDocument
    ? envelopeWithoutDocument(envelope)
    : { ...envelope, document, ...(result.decision === 'proposed' ? { verb: 'Change' } : {}) };
  const deliveredJson = routes.length > 0 ? JSON.stringify(delivered) : '';
  const deliveries: PlannedDelivery[] = [];
  for (const route of routes) {
    const delivery: PlannedDelivery = {
      ...route,
      id: `${messageId}-${docIndex}-${route.target}`,
      status: 'pending',
      objectRevision: revision,
      partition: input.partition,
    };
    if (deliveries.some((planned) => planned.id === delivery.id)) continue;
    await tx.execute(
      `INSERT INTO deliveries (id, message_id, doc_index, target, route_id, kind, type, object_key, object_revision, envelope, status, attempts, created_at, delivery_partition)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'pending', 0, $11, $12)`,
      [
        delivery.id,
        messageId,
        docIndex,
        route.target,
        route.routeId,
        route.kind,
        envelope.type,
        envelope.objectKey,
        revision,
        deliveredJson,
        now,
        input.partition,
      ],
    );
    deliveries.push(delivery);
  }
  const decisionAudit: AuditEntry[] = [
    {
      kind: 'decision' as const,
      messageId,
      system: envelope.sourceSystem,
      type: envelope.type,
      objectKey: envelope.objectKey,
      decision: result.decision,
      rule: result.rule,
      details: {
        docIndex,
        reason: result.reason,
        revision,
        version: envelope.version,
        ignoredFields: result.ignoredFields,
        routes: deliveries.map((delivery) => delivery.target),
      },
    },
  ];
  if (result.decision === 'proposed' && deliveries.length === 0) {
    await insertDeadLetter(tx, {
      stage: 'deliver',
      messageId,
      system: envelope.sourceSystem,
      code: 'NO_ROUTE_TO_OWNER',
      reason: `change request for ${envelope.type} ${envelope.objectKey}: no route to ${result.owner} carries ${envelope.type}`,
    });
  }
  audit.push(...decisionAudit);
  return {
    decision: result.decision,
    rule: result.rule,
    reason: result.reason,
    revision,
    deliveries,
    replayed: false,
  };
}

/** The envelope a delivery keeps when its document is the stored revision's (deliveries.ts adds it back). */
function envelopeWithoutDocument(envelope: CanonicalEnvelope): Omit<CanonicalEnvelope, 'document'> {
  const rest: Partial<CanonicalEnvelope> = { ...envelope };
  delete rest.document;
  return rest as Omit<CanonicalEnvelope, 'document'>;
}

interface ObjectWrite {
  revision: number;
  document: Record<string, unknown>;
  watermarks: Record<string, Watermark>;
  now: string;
  exists: boolean;
}

async function writeObject(tx: Db, input: ApplyInput, write: ObjectWrite): Promise<void> {
  const { envelope } = input;
  const { revision, document, watermarks, now } = write;
  // The row's version and time are the main group's, as the owner of the object last numbered it.
  const main = watermarks[MAIN_GROUP] ?? { occurredAt: envelope.occurredAt, receivedSeq: input.receivedSeq };
  const rule = input.ownership[envelope.type];
  const owner = rule ? resolveOwner(envelope.type, rule, document).owner : '';
  const values = [
    envelope.type,
    envelope.objectKey,
    revision,
    main.version,
    main.occurredAt,
    main.receivedSeq,
    owner,
    envelope.sourceSystem,
    input.messageId,
    contentHash(document),
    JSON.stringify(document),
    now,
    JSON.stringify(watermarks),
  ];
  if (write.exists) {
    await tx.execute(
      `UPDATE objects SET revision = $3, version = $4, occurred_at = $5, received_seq = $6, owner = $7, source_system = $8,
         message_id = $9, content_hash = $10, data = $11, updated_at = $12, watermarks = $13 WHERE type = $1 AND object_key = $2`,
      values,
    );
  } else {
    await tx.execute(
      `INSERT INTO objects (type, object_key, revision, version, occurred_at, received_seq, owner, source_system, message_id, content_hash, data, updated_at, watermarks)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
      values,
    );
  }
  await tx.execute(
    `INSERT INTO object_history (type, object_key, revision, version, occurred_at, source_system, message_id, data, recorded_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
    [
      envelope.type,
      envelope.objectKey,
      revision,
      envelope.version,
      envelope.occurredAt,
      envelope.sourceSystem,
      input.messageId,
      JSON.stringify(document),
      now,
    ],
  );
}

/**
 * The stored watermarks. A row written before they existed (store schema 1) has only its columns,
 * written by whoever wrote last — possibly a field-group owner with its own numbers — so its one
 * watermark names that system and is compared only with that system's writes.
 */
function storedWatermarks(row: Record<string, unknown>): Record<string, Watermark> {
  if (row.watermarks) return JSON.parse(String(row.watermarks)) as Record<string, Watermark>;
  return {
    [MAIN_GROUP]: {
      occurredAt: String(row.occurred_at),
      receivedSeq: Number(row.received_seq),
      system: String(row.source_system),
      ...(row.version === null ? {} : { version: Number(row.version) }),
    },
  };
}

async function replayOutcome(tx: Db, input: ApplyInput, earlier: Record<string, unknown>): Promise<ApplyOutcome> {
  const rows = await tx.query(
    'SELECT id, route_id, target, kind, status, object_revision, delivery_partition FROM deliveries WHERE message_id = $1 AND doc_index = $2',
    [input.messageId, input.docIndex],
  );
  return {
    decision: earlier.decision as Decision,
    rule: String(earlier.rule),
    reason: String(earlier.reason),
    revision: rows.length ? Number(rows[0]!.object_revision) : 0,
    deliveries: rows.map((row) => ({
      id: String(row.id),
      routeId: String(row.route_id),
      target: String(row.target),
      kind: row.kind as PlannedDelivery['kind'],
      status: row.status as PlannedDelivery['status'],
      objectRevision: Number(row.object_revision),
      partition: row.delivery_partition === null ? input.partition : Number(row.delivery_partition),
    })),
    replayed: true,
  };
}

/** The current object with owner and history, for the read API. */
/** An object's stored document and version, without its history (what the context engine reads in a transaction). */
export async function objectData(
  db: Db,
  type: string,
  key: string,
): Promise<{ data: Record<string, unknown>; version: number | undefined } | undefined> {
  const [row] = await db.query<{ data: string; version: number | null }>(
    'SELECT data, version FROM objects WHERE type = $1 AND object_key = $2',
    [type, key],
  );
  return row ? { data: JSON.parse(row.data) as Record<string, unknown>, version: row.version ?? undefined } : undefined;
}

/** One revision of an object, with the decision and rule that made it (absent for rows older than the decision record). */
export interface ObjectRevision {
  revision: number;
  version: number | undefined;
  occurredAt: string;
  sourceSystem: string;
  messageId: string;
  recordedAt: string;
  decision?: string;
  rule?: string;
  reason?: string;
}

/** How many of an object's decisions its read answers (newest first). */
export const OBJECT_DECISIONS = 100;

export async function getObject(db: Db, type: string, key: string) {
  const [row] = await db.query('SELECT * FROM objects WHERE type = $1 AND object_key = $2', [type, key]);
  if (!row) return undefined;
  const [history, decisions] = await Promise.all([
    db.query(
      `SELECT h.revision, h.version, h.occurred_at, h.source_system, h.message_id, h.recorded_at, d.decision, d.rule, d.reason
         FROM object_history h
         LEFT JOIN decisions d ON d.message_id = h.message_id AND d.type = h.type AND d.object_key = h.object_key
        WHERE h.type = $1 AND h.object_key = $2 ORDER BY h.revision`,
      [type, key],
    ),
    db.query(
      `SELECT message_id, version, occurred_at, decision, rule, reason, decided_at FROM decisions
        WHERE type = $1 AND object_key = $2 ORDER BY decided_at DESC, message_id DESC LIMIT ${OBJECT_DECISIONS}`,
      [type, key],
    ),
  ]);
  const revisions = new Map<string, number>();
  const entries: ObjectRevision[] = [];
  for (const entry of history) {
    const revision = Number(entry.revision);
    // A message of several documents about one object is joined once per document: one entry per revision.
    if (entries.at(-1)?.revision === revision) continue;
    revisions.set(String(entry.message_id), revision);
    entries.push({
      revision,
      version: entry.version === null ? undefined : Number(entry.version),
      occurredAt: String(entry.occurred_at),
      sourceSystem: String(entry.source_system),
      messageId: String(entry.message_id),
      recordedAt: String(entry.recorded_at),
      ...(entry.decision === null
        ? {}
        : { decision: String(entry.decision), rule: String(entry.rule), reason: String(entry.reason) }),
    });
  }
  return {
    type,
    key,
    revision: Number(row.revision),
    version: row.version === null ? undefined : Number(row.version),
    owner: String(row.owner),
    sourceSystem: String(row.source_system),
    messageId: String(row.message_id),
    occurredAt: String(row.occurred_at),
    updatedAt: String(row.updated_at),
    data: JSON.parse(String(row.data)) as Record<string, unknown>,
    /** The newest write seen per field group (`*` is the main group): who, which version, when. */
    watermarks: storedWatermarks(row),
    /** Every revision, oldest first, with the decision and rule that made it. */
    history: entries,
    /** The newest decisions about the object (at most OBJECT_DECISIONS), newest first: also those that made no revision. */
    decisions: decisions.map((decision) => {
      const revision = revisions.get(String(decision.message_id));
      return {
        messageId: String(decision.message_id),
        version: decision.version === null ? undefined : Number(decision.version),
        occurredAt: String(decision.occurred_at),
        decision: String(decision.decision),
        rule: String(decision.rule),
        reason: String(decision.reason),
        decidedAt: String(decision.decided_at),
        ...(revision === undefined ? {} : { revision }),
      };
    }),
  };
}

/** One object in a listing: its current revision, without its history. */
export interface ObjectSummary {
  type: string;
  key: string;
  revision: number;
  version: number | undefined;
  owner: string;
  sourceSystem: string;
  occurredAt: string;
  updatedAt: string;
  data: Record<string, unknown>;
}

/**
 * The current objects of one type, by key, a page at a time (keyset pages: `after` is the last key
 * of the previous page). For reports over all of a type's objects (the demo's reconciliation, an
 * export); the console shows one object at a time.
 */
export async function listObjects(
  db: Db,
  query: { type: string; after?: string; limit: number },
): Promise<{ objects: ObjectSummary[]; next?: string }> {
  const rows = await db.query(
    `SELECT * FROM objects WHERE type = $1 ${query.after === undefined ? '' : 'AND object_key > $3'}
      ORDER BY object_key LIMIT $2`,
    query.after === undefined ? [query.type, query.limit + 1] : [query.type, query.limit + 1, query.after],
  );
  const objects = rows.slice(0, query.limit).map((row) => ({
    type: String(row.type),
    key: String(row.object_key),
    revision: Number(row.revision),
    version: row.version === null ? undefined : Number(row.version),
    owner: String(row.owner),
    sourceSystem: String(row.source_system),
    occurredAt: String(row.occurred_at),
    updatedAt: String(row.updated_at),
    data: JSON.parse(String(row.data)) as Record<string, unknown>,
  }));
  return rows.length > query.limit ? { objects, next: objects.at(-1)!.key } : { objects };
}
