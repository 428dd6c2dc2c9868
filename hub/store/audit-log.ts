/**
 * The audit log: one append-only, hash-chained record per decision and per delivery outcome.
 * Each record's hash covers its content and the previous record's hash, so an edited, inserted
 * or deleted record breaks the chain at a place `verify` names.
 */
import { createHash } from 'node:crypto';
import type { Db } from './db';
import { GENESIS_HASH } from './migrations';
import { stableJson } from '../../schemas/stable-json';

export type AuditKind =
  | 'received'
  | 'decision'
  | 'invalid'
  | 'delivery'
  | 'dead-letter'
  | 'replay'
  | 'retention'
  /** A person's change to how the hub runs: a dead letter discarded, a target's deliveries paused or resumed. */
  | 'operation';

/** What a caller appends; seq, hashes and time are added by the log. */
export interface AuditEntry {
  kind: AuditKind;
  messageId?: string;
  system?: string;
  type?: string;
  objectKey?: string;
  decision?: string;
  rule?: string;
  target?: string;
  details?: Record<string, unknown>;
}

export interface AuditRecord extends AuditEntry {
  seq: number;
  at: string;
  details: Record<string, unknown>;
  prevHash: string;
  hash: string;
}

export interface AuditProblem {
  seq: number;
  problem: 'edited' | 'deleted' | 'inserted' | 'reordered' | 'truncated';
  detail: string;
}

export interface AuditVerification {
  ok: boolean;
  records: number;
  headSeq: number;
  headHash: string;
  problems: AuditProblem[];
}

const COLUMNS = 'seq, at, kind, message_id, system, type, object_key, decision, rule, target, details, prev_hash, hash';

/** Appends entries inside `tx`, which must be the transaction that makes the decision itself. */
export async function appendAudit(
  tx: Db,
  entries: AuditEntry[],
  at = new Date().toISOString(),
): Promise<AuditRecord[]> {
  const lock = tx.dialect === 'postgres' ? ' FOR UPDATE' : '';
  const [head] = await tx.query<{ seq: number; hash: string }>(`SELECT seq, hash FROM audit_head WHERE id = 1${lock}`);
  let seq = Number(head!.seq);
  let prevHash = head!.hash;
  const records: AuditRecord[] = [];
  for (const entry of entries) {
    seq += 1;
    const record: AuditRecord = { ...entry, details: entry.details ?? {}, seq, at, prevHash, hash: '' };
    record.hash = hashRecord(record);
    await tx.execute(`INSERT INTO audit_log (${COLUMNS}) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13)`, [
      record.seq,
      record.at,
      record.kind,
      record.messageId,
      record.system,
      record.type,
      record.objectKey,
      record.decision,
      record.rule,
      record.target,
      JSON.stringify(record.details),
      record.prevHash,
      record.hash,
    ]);
    records.push(record);
    prevHash = record.hash;
  }
  await tx.execute('UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1', [seq, prevHash]);
  return records;
}

/** The hash of a record: SHA-256 over the previous hash and the record's fields in a fixed order. */
export function hashRecord(record: Omit<AuditRecord, 'hash'>): string {
  const content = [
    record.seq,
    record.at,
    record.kind,
    record.messageId ?? null,
    record.system ?? null,
    record.type ?? null,
    record.objectKey ?? null,
    record.decision ?? null,
    record.rule ?? null,
    record.target ?? null,
    stableJson(record.details),
  ];
  return createHash('sha256').update(record.prevHash).update('\n').update(JSON.stringify(content)).digest('hex');
}

/**
 * Walks the whole chain: recomputes every hash, checks sequence numbers and links, and compares
 * the last record with the head, so a deleted last record is caught too. On a busy hub it answers
 * from one consistent view: the head is read first and the walk goes up to it; on PostgreSQL all of
 * it runs in one read-only REPEATABLE READ transaction (one snapshot). SQLite shares its one
 * connection with the group commit, so instead the end of the log is judged from a single statement
 * (head and last record together) rather than from reads made at different moments.
 */
export async function verifyAudit(db: Db, pageSize = 5000): Promise<AuditVerification> {
  if (db.dialect === 'postgres') {
    return db.transaction(async (tx) => {
      await tx.execute('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY');
      return verifyWithin(tx, pageSize);
    });
  }
  return verifyWithin(db, pageSize);
}

interface Walk {
  problems: AuditProblem[];
  expectedSeq: number;
  prevHash: string;
  records: number;
}

async function verifyWithin(db: Db, pageSize: number): Promise<AuditVerification> {
  const walk: Walk = { problems: [], expectedSeq: 1, prevHash: GENESIS_HASH, records: 0 };
  const [first] = await db.query<{ seq: number }>('SELECT seq FROM audit_head WHERE id = 1');
  const firstHead = Number(first?.seq ?? 0);
  await walkChain(db, walk, 0, firstHead, pageSize);
  // Head and last record in one statement, so records appended meanwhile are not taken for forgeries.
  const [end] = await db.query<{ seq: number; hash: string; last: number | null }>(
    'SELECT seq, hash, (SELECT MAX(seq) FROM audit_log) AS last FROM audit_head WHERE id = 1',
  );
  const headSeq = Number(end?.seq ?? 0);
  const headHash = end?.hash ?? GENESIS_HASH;
  const last = Number(end?.last ?? 0);
  if (last > firstHead) await walkChain(db, walk, firstHead, last, pageSize);
  const { problems, prevHash } = walk;
  const lastSeq = walk.expectedSeq - 1;
  if (lastSeq > headSeq) {
    problems.push({
      seq: headSeq + 1,
      problem: 'inserted',
      detail: `records ${headSeq + 1}…${lastSeq} were added after the last one the hub wrote (${headSeq})`,
    });
  } else if (lastSeq < headSeq || headHash !== prevHash) {
    problems.push({
      seq: headSeq,
      problem: 'truncated',
      detail: `the log ends at record ${lastSeq} but the hub wrote ${headSeq}`,
    });
  }
  return { ok: problems.length === 0, records: walk.records, headSeq, headHash, problems };
}

/** Checks the records with `after` < seq ≤ `upTo`, page by page, continuing `walk`. */
async function walkChain(db: Db, walk: Walk, after: number, upTo: number, pageSize: number): Promise<void> {
  let cursor = after;
  for (;;) {
    const page = await db.query(`SELECT ${COLUMNS} FROM audit_log WHERE seq > $1 AND seq <= $2 ORDER BY seq LIMIT $3`, [
      cursor,
      upTo,
      pageSize,
    ]);
    for (const row of page) {
      const record = toRecord(row);
      walk.records += 1;
      if (record.seq !== walk.expectedSeq) {
        walk.problems.push({
          seq: record.seq,
          problem: record.seq > walk.expectedSeq ? 'deleted' : 'reordered',
          detail:
            record.seq > walk.expectedSeq
              ? `records ${walk.expectedSeq}…${record.seq - 1} are missing`
              : `sequence number ${record.seq} where ${walk.expectedSeq} was expected`,
        });
      }
      if (record.prevHash !== walk.prevHash) {
        walk.problems.push({
          seq: record.seq,
          problem: 'inserted',
          detail: 'does not link to the record before it (a record was inserted or removed before it)',
        });
      }
      if (hashRecord(record) !== record.hash) {
        walk.problems.push({ seq: record.seq, problem: 'edited', detail: 'its content does not match its hash' });
      }
      walk.expectedSeq = record.seq + 1;
      walk.prevHash = record.hash;
      cursor = record.seq;
    }
    if (page.length < pageSize) return;
  }
}

export interface AuditQuery {
  from?: string;
  to?: string;
  type?: string;
  system?: string;
  decision?: string;
  messageId?: string;
  limit?: number;
  afterSeq?: number;
}

/** Audit records matching the filters, oldest first. */
export async function queryAudit(db: Db, query: AuditQuery): Promise<AuditRecord[]> {
  const where: string[] = [];
  const params: unknown[] = [];
  const add = (clause: string, value: unknown) => {
    params.push(value);
    where.push(clause.replace('?', `$${params.length}`));
  };
  if (query.from) add('at >= ?', query.from);
  if (query.to) add('at < ?', query.to);
  if (query.type) add('type = ?', query.type);
  if (query.system) add('system = ?', query.system);
  if (query.decision) add('decision = ?', query.decision);
  if (query.messageId) add('message_id = ?', query.messageId);
  if (query.afterSeq) add('seq > ?', query.afterSeq);
  params.push(query.limit ?? 1000);
  const rows = await db.query(
    `SELECT ${COLUMNS} FROM audit_log ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq LIMIT $${params.length}`,
    params,
  );
  return rows.map(toRecord);
}

function toRecord(row: Record<string, unknown>): AuditRecord {
  const record: AuditRecord = {
    seq: Number(row.seq),
    at: String(row.at),
    kind: row.kind as AuditKind,
    details: JSON.parse(String(row.details)) as Record<string, unknown>,
    prevHash: String(row.prev_hash),
    hash: String(row.hash),
  };
  const optional = {
    messageId: row.message_id,
    system: row.system,
    type: row.type,
    objectKey: row.object_key,
    decision: row.decision,
    rule: row.rule,
    target: row.target,
  };
  for (const [key, value] of Object.entries(optional)) {
    if (value !== null && value !== undefined) (record as unknown as Record<string, unknown>)[key] = String(value);
  }
  return record;
}
