/**
 * The audit log as a download: the records a filter selects, in seq order, streamed page by page as
 * JSON Lines or as CSV (RFC 4180) that is safe to open in a spreadsheet.
 */
import { queryAudit, type AuditQuery, type AuditRecord } from './audit-log';
import type { Db } from './db';

export type AuditExportFormat = 'csv' | 'jsonl';

/** queryAudit's filters; `afterSeq` resumes an export after the last record a client has. */
export type AuditExportFilter = Omit<AuditQuery, 'limit'>;

/** The CSV columns, in order: every field of an AuditRecord. */
export const AUDIT_CSV_COLUMNS = [
  'seq',
  'at',
  'kind',
  'messageId',
  'system',
  'type',
  'objectKey',
  'decision',
  'rule',
  'target',
  'details',
  'prevHash',
  'hash',
] as const satisfies ReadonlyArray<keyof AuditRecord>;

/** Records read per query. */
export const AUDIT_EXPORT_PAGE_SIZE = 1000;

/**
 * Streams the audit records matching `filter`, oldest first, one chunk per page of `pageSize`
 * records (keyset on seq, so memory stays flat whatever the log's size). The export ends at the last
 * record written when it began: a busy hub cannot keep it running for ever, and a client resumes
 * with `afterSeq` set to the last seq it got.
 *
 * JSONL: one AuditRecord (as queryAudit returns it) per line. CSV: a header row of
 * {@link AUDIT_CSV_COLUMNS}, then one row per record with `details` as compact JSON, CRLF line ends.
 *
 * @example
 * for await (const chunk of exportAudit(db, { system: 'erp', from: '2026-01-01T00:00:00Z' }, 'csv')) res.write(chunk);
 */
export async function* exportAudit(
  db: Db,
  filter: AuditExportFilter,
  format: AuditExportFormat,
  pageSize = AUDIT_EXPORT_PAGE_SIZE,
): AsyncGenerator<string> {
  if (!Number.isInteger(pageSize) || pageSize < 1) throw new RangeError('pageSize must be a positive integer');
  const [head] = await db.query<{ seq: number }>('SELECT seq FROM audit_head WHERE id = 1');
  const lastSeq = Number(head?.seq ?? 0);
  const line = format === 'csv' ? csvRow : jsonLine;
  if (format === 'csv') yield `${AUDIT_CSV_COLUMNS.join(',')}\r\n`;
  let cursor = filter.afterSeq ?? 0;
  while (cursor < lastSeq) {
    const page = await queryAudit(db, { ...filter, afterSeq: cursor, limit: pageSize });
    const records = page.filter((record) => record.seq <= lastSeq);
    if (records.length > 0) yield records.map(line).join('');
    if (page.length < pageSize || records.length < page.length) return;
    cursor = page[page.length - 1]!.seq;
  }
}

function jsonLine(record: AuditRecord): string {
  return `${JSON.stringify(record)}\n`;
}

function csvRow(record: AuditRecord): string {
  const cells = AUDIT_CSV_COLUMNS.map((column) => {
    const value = record[column];
    if (value === undefined || value === null) return '';
    return csvCell(typeof value === 'object' ? JSON.stringify(value) : String(value));
  });
  return `${cells.join(',')}\r\n`;
}

/**
 * Formula injection: a spreadsheet opening the file would run a cell that begins with `=`, `+`, `-`
 * or `@` (or a tab or CR before one) as a formula, and audit fields carry text from outside systems
 * (object keys, rules' inputs). Such a cell gets a leading `'`, which spreadsheets read as "text".
 * A cell that already begins with `'` gets one too, so the guard can be undone without ambiguity:
 * a reader drops one leading `'` from every cell that starts with one and gets the exact value back
 * (and with it every record's hash).
 */
const FORMULA_START = /^[=+\-@\t\r']/;
/** RFC 4180: a cell holding a comma, a quote, CR or LF is quoted, its quotes doubled. */
const NEEDS_QUOTES = /[",\r\n]/;

/** One CSV cell. An empty string is written `""`, so it stays apart from a missing value (an empty cell). */
export function csvCell(value: string): string {
  const guarded = FORMULA_START.test(value) ? `'${value}` : value;
  return guarded === '' || NEEDS_QUOTES.test(guarded) ? `"${guarded.replace(/"/g, '""')}"` : guarded;
}
