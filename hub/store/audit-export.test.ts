/**
 * The audit export on SQLite and PostgreSQL: every record comes back from JSONL and from CSV exactly
 * (parsed here by an RFC 4180 reader of the test's own), filters select what queryAudit selects,
 * awkward text is quoted, formula-like cells are guarded, and pages of any size join up.
 */
import { appendAudit, hashRecord, queryAudit, type AuditEntry, type AuditRecord, type Db } from './index';
import { AUDIT_CSV_COLUMNS, csvCell, exportAudit, type AuditExportFilter } from './audit-export';
import { storeBackends } from './test-backends';

/** Entries whose text a CSV writer must get right, each appended at its own time. */
const AWKWARD: AuditEntry[] = [
  { kind: 'received', messageId: 'm1', system: 'erp', details: { contentType: 'xml', bytes: 1200 } },
  {
    kind: 'decision',
    messageId: 'm1',
    system: 'erp',
    type: 'ProductionOrder',
    objectKey: 'ORDER, "big" one',
    decision: 'accepted',
    rule: 'ownership.ProductionOrder.owner = erp',
    details: { note: 'two\nlines, a "quote" and a comma', nested: { list: [1, 'a,b'] } },
  },
  {
    kind: 'decision',
    messageId: 'm2',
    system: 'mes',
    type: 'ProductionOrder',
    objectKey: '=HYPERLINK("http://evil.example","click")',
    decision: 'rejected',
    rule: '+cmd|" /C calc"!A0',
    details: {},
  },
  { kind: 'invalid', messageId: 'm3', system: 'mes', objectKey: '-2+3', rule: '@SUM(A1:A9)', details: { code: 'X' } },
  { kind: 'decision', messageId: 'm4', system: 'scada', objectKey: '\tTAB-1', rule: '\rCR-first', details: {} },
  { kind: 'delivery', messageId: 'm4', system: 'scada', target: 'mes', objectKey: "'already quoted", details: {} },
  { kind: 'decision', messageId: 'm5', system: 'erp', objectKey: '', rule: 'line\r\nbreak', details: { empty: '' } },
  { kind: 'dead-letter', messageId: 'm5', system: 'erp', objectKey: 'Zürich – ÄÖÜ ✓', details: { n: -1 } },
];

/** One audit append per entry, an hour apart from 2026-03-01T00:00Z. */
async function appendEach(db: Db, entries: AuditEntry[], firstHour = 0): Promise<void> {
  for (const [index, entry] of entries.entries()) {
    const at = new Date(Date.UTC(2026, 2, 1, firstHour + index)).toISOString();
    await db.transaction((tx) => appendAudit(tx, [entry], at));
  }
}

async function collect(chunks: AsyncGenerator<string>): Promise<string[]> {
  const all: string[] = [];
  for await (const chunk of chunks) all.push(chunk);
  return all;
}

/**
 * RFC 4180 rows, CRLF (or LF) ended. An unquoted empty cell is null (a missing value); a quoted one
 * is the empty string.
 */
function parseCsv(text: string): Array<Array<string | null>> {
  const rows: Array<Array<string | null>> = [];
  let row: Array<string | null> = [];
  let i = 0;
  const endRow = () => {
    rows.push(row);
    row = [];
  };
  while (i < text.length) {
    let cell: string | null;
    if (text[i] === '"') {
      cell = '';
      i += 1;
      for (;;) {
        if (i >= text.length) throw new Error('unterminated quoted cell');
        if (text[i] === '"') {
          if (text[i + 1] === '"') {
            cell += '"';
            i += 2;
          } else {
            i += 1;
            break;
          }
        } else {
          cell += text[i];
          i += 1;
        }
      }
    } else {
      let end = i;
      while (end < text.length && !',\r\n'.includes(text[end]!)) {
        if (text[end] === '"') throw new Error(`a quote inside an unquoted cell at ${end}`);
        end += 1;
      }
      cell = end === i ? null : text.slice(i, end);
      i = end;
    }
    row.push(cell);
    if (text[i] === ',') i += 1;
    else if (text.startsWith('\r\n', i)) {
      i += 2;
      endRow();
    } else if (text[i] === '\n') {
      i += 1;
      endRow();
    } else if (i < text.length) throw new Error(`unexpected ${JSON.stringify(text[i])} at ${i}`);
  }
  if (row.length > 0) endRow();
  return rows;
}

/** A CSV data row back into the record it was written from: the formula guard undone, details parsed. */
function recordOfRow(row: Array<string | null>): AuditRecord {
  const record: Record<string, unknown> = {};
  AUDIT_CSV_COLUMNS.forEach((column, index) => {
    const cell = row[index];
    if (cell === null || cell === undefined) return;
    const value = cell.startsWith("'") ? cell.slice(1) : cell;
    record[column] = column === 'seq' ? Number(value) : column === 'details' ? JSON.parse(value) : value;
  });
  return record as unknown as AuditRecord;
}

function csvRecords(text: string): AuditRecord[] {
  const [header, ...rows] = parseCsv(text);
  expect(header).toEqual([...AUDIT_CSV_COLUMNS]);
  for (const row of rows) expect(row).toHaveLength(AUDIT_CSV_COLUMNS.length);
  return rows.map(recordOfRow);
}

function jsonlRecords(text: string): AuditRecord[] {
  expect(text === '' || text.endsWith('\n')).toBe(true);
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as AuditRecord);
}

describe('a CSV cell', () => {
  it.each([
    ['plain', 'plain'],
    ['', '""'],
    ['a,b', '"a,b"'],
    ['say "hi"', '"say ""hi"""'],
    ['two\nlines', '"two\nlines"'],
    ['cr\rhere', '"cr\rhere"'],
    ['=1+1', "'=1+1"],
    ['+1', "'+1"],
    ['-1', "'-1"],
    ['@A1', "'@A1"],
    ['\tx', "'\tx"],
    ['\rx', `"'\rx"`],
    ["'x", "''x"],
    ['=A1,"b"', `"'=A1,""b"""`],
    ['a=b', 'a=b'],
  ])('%j is written %j', (value, cell) => {
    expect(csvCell(value)).toBe(cell);
  });
});

describe.each(storeBackends)('the audit export on %s', (_name, open) => {
  let db: Db;
  let drop: () => Promise<void>;
  beforeEach(async () => {
    ({ db, drop } = await open());
  });
  afterEach(async () => {
    await db.close();
    await drop();
  });

  it('gives every record back exactly, from JSONL and from CSV, seq and hashes included', async () => {
    await appendEach(db, AWKWARD);
    const stored = await queryAudit(db, { limit: 10000 });
    expect(stored).toHaveLength(AWKWARD.length);

    const jsonl = (await collect(exportAudit(db, {}, 'jsonl'))).join('');
    expect(jsonlRecords(jsonl)).toEqual(stored);

    const csv = (await collect(exportAudit(db, {}, 'csv'))).join('');
    expect(csvRecords(csv)).toEqual(stored);
    // Exact to the byte: each record's hash can be checked again from the CSV alone.
    for (const record of csvRecords(csv)) expect(hashRecord(record)).toBe(record.hash);
  });

  it('quotes commas, quotes and line breaks, keeps "" apart from nothing, and guards formula-like cells', async () => {
    await appendEach(db, AWKWARD);
    const csv = (await collect(exportAudit(db, {}, 'csv'))).join('');
    expect(csv.startsWith(`${AUDIT_CSV_COLUMNS.join(',')}\r\n`)).toBe(true);
    expect(csv).toContain(',"ORDER, ""big"" one",');
    // details: compact JSON (its own escapes kept), its quotes doubled.
    expect(csv).toContain(
      '"{""note"":""two\\nlines, a \\""quote\\"" and a comma"",""nested"":{""list"":[1,""a,b""]}}"',
    );
    expect(csv).toContain(`,"'=HYPERLINK(""http://evil.example"",""click"")",`);
    expect(csv).toContain(`,"'+cmd|"" /C calc""!A0",`);
    expect(csv).toContain(",'-2+3,");
    expect(csv).toContain(",'@SUM(A1:A9),");
    expect(csv).toContain(",'\tTAB-1,");
    expect(csv).toContain(`,"'\rCR-first",`);
    expect(csv).toContain(",''already quoted,");
    expect(csv).toContain(',"",,"line\r\nbreak",');
    // No cell of any row starts a formula: each begins with a quote character or a safe one.
    const cells = parseCsv(csv).flat();
    expect(cells.filter((cell) => cell !== null && /^[=+\-@\t\r]/.test(cell))).toEqual([]);
    // A missing value is an empty cell: the received record has no objectKey, rule or target.
    const received = parseCsv(csv)[1]!;
    expect(received[AUDIT_CSV_COLUMNS.indexOf('objectKey')]).toBeNull();
    expect(received[AUDIT_CSV_COLUMNS.indexOf('target')]).toBeNull();
  });

  const filters: Array<[string, AuditExportFilter, (record: AuditRecord) => boolean]> = [
    ['system', { system: 'erp' }, (record) => record.system === 'erp'],
    ['type', { type: 'ProductionOrder' }, (record) => record.type === 'ProductionOrder'],
    ['decision', { decision: 'rejected' }, (record) => record.decision === 'rejected'],
    ['messageId', { messageId: 'm4' }, (record) => record.messageId === 'm4'],
    [
      'from and to (to excluded)',
      { from: '2026-03-01T02:00:00.000Z', to: '2026-03-01T05:00:00.000Z' },
      (record) => record.at >= '2026-03-01T02:00:00.000Z' && record.at < '2026-03-01T05:00:00.000Z',
    ],
    [
      'several at once',
      { system: 'erp', from: '2026-03-01T01:00:00.000Z' },
      (record) => record.system === 'erp' && record.at >= '2026-03-01T01:00:00.000Z',
    ],
    ['afterSeq', { afterSeq: 5 }, (record) => record.seq > 5],
  ];

  it.each(filters)('selects by %s what queryAudit selects, in both formats', async (_label, filter, matches) => {
    await appendEach(db, AWKWARD);
    const expected = (await queryAudit(db, { limit: 10000 })).filter(matches);
    expect(expected.length).toBeGreaterThan(0);
    expect(expected.length).toBeLessThan(AWKWARD.length);
    for (const pageSize of [1, 2, 1000]) {
      expect(jsonlRecords((await collect(exportAudit(db, filter, 'jsonl', pageSize))).join(''))).toEqual(expected);
      expect(csvRecords((await collect(exportAudit(db, filter, 'csv', pageSize))).join(''))).toEqual(expected);
    }
  });

  it('reads page by page, one chunk per page, and joins the pages without a gap or a repeat', async () => {
    await appendEach(db, AWKWARD);
    await appendEach(
      db,
      Array.from({ length: 17 }, (_, index) => ({
        kind: 'delivery' as const,
        messageId: `bulk-${index}`,
        system: index % 3 === 0 ? 'erp' : 'mes',
        target: 'mes',
        details: { index },
      })),
      24,
    );
    const all = await queryAudit(db, { limit: 10000 });
    expect(all).toHaveLength(25);

    const chunks = await collect(exportAudit(db, {}, 'jsonl', 4));
    expect(chunks.map((chunk) => jsonlRecords(chunk).length)).toEqual([4, 4, 4, 4, 4, 4, 1]);
    expect(jsonlRecords(chunks.join('')).map((record) => record.seq)).toEqual(all.map((record) => record.seq));

    const csvChunks = await collect(exportAudit(db, {}, 'csv', 10));
    expect(csvChunks).toHaveLength(4); // the header, then pages of 10, 10 and 5
    expect(csvChunks[0]).toBe(`${AUDIT_CSV_COLUMNS.join(',')}\r\n`);
    expect(csvRecords(csvChunks.join(''))).toEqual(all);

    // Filtered pages are keyed on seq too: erp's records, spread over the log, three at a time.
    const erp = all.filter((record) => record.system === 'erp');
    const erpChunks = await collect(exportAudit(db, { system: 'erp' }, 'jsonl', 3));
    expect(erpChunks.length).toBe(Math.ceil(erp.length / 3));
    expect(jsonlRecords(erpChunks.join(''))).toEqual(erp);
  });

  it('ends at the last record written when it began, so a busy hub cannot keep it going', async () => {
    await appendEach(db, AWKWARD);
    const chunks = exportAudit(db, {}, 'jsonl', 2);
    const first = await chunks.next();
    expect(jsonlRecords(first.value as string).map((record) => record.seq)).toEqual([1, 2]);
    await appendEach(db, [{ kind: 'retention', details: { late: true } }], 30);
    const rest = await collect(chunks);
    expect(jsonlRecords(rest.join('')).map((record) => record.seq)).toEqual([3, 4, 5, 6, 7, 8]);
    // A client resumes after the last seq it got.
    const resumed = await collect(exportAudit(db, { afterSeq: 8 }, 'jsonl'));
    expect(jsonlRecords(resumed.join(''))).toMatchObject([{ seq: 9, kind: 'retention', details: { late: true } }]);
  });

  it('exports an empty log as a header (CSV) or nothing (JSONL)', async () => {
    expect(await collect(exportAudit(db, {}, 'csv'))).toEqual([`${AUDIT_CSV_COLUMNS.join(',')}\r\n`]);
    expect(await collect(exportAudit(db, {}, 'jsonl'))).toEqual([]);
    await appendEach(db, AWKWARD);
    expect(await collect(exportAudit(db, { system: 'nobody' }, 'jsonl'))).toEqual([]);
  });
});
