/**
 * `handover audit verify` (exit 0 when the chain is intact, 1 naming each broken record) and
 * `handover audit export --from T --to T --format csv|jsonl` (stdout).
 */
import { openStore, queryAudit, verifyAudit, type AuditRecord } from '../store/index';
import { EXIT, storeOptions, UsageError, type CliIo } from './io';

export async function auditCommand(
  io: CliIo,
  action: string | undefined,
  options: { from?: string; to?: string; format?: string },
): Promise<number> {
  if (action !== 'verify' && action !== 'export') throw new UsageError('audit needs verify or export');
  if (action === 'export' && !['csv', 'jsonl'].includes(options.format ?? ''))
    throw new UsageError('audit export needs --format csv or jsonl');
  for (const [name, value] of Object.entries({ from: options.from, to: options.to })) {
    if (value !== undefined && Number.isNaN(Date.parse(value)))
      throw new UsageError(`--${name} "${value}" is not a date-time`);
  }
  const db = await openStore(storeOptions());
  try {
    if (action === 'verify') {
      const result = await verifyAudit(db);
      for (const problem of result.problems) io.out(`record ${problem.seq}: ${problem.problem}: ${problem.detail}\n`);
      io.err(
        `${result.ok ? 'intact' : 'BROKEN'}: ${result.records} records, head ${result.headSeq} ${result.headHash}\n`,
      );
      return result.ok ? EXIT.ok : EXIT.invalid;
    }
    if (options.format === 'csv') io.out(`${CSV_COLUMNS.join(',')}\n`);
    let after = 0;
    for (;;) {
      const page = await queryAudit(db, {
        ...(options.from ? { from: new Date(options.from).toISOString() } : {}),
        ...(options.to ? { to: new Date(options.to).toISOString() } : {}),
        afterSeq: after,
        limit: 5000,
      });
      for (const record of page)
        io.out(options.format === 'csv' ? `${csvRow(record)}\n` : `${JSON.stringify(record)}\n`);
      if (page.length < 5000) break;
      after = page[page.length - 1]!.seq;
    }
    return EXIT.ok;
  } finally {
    await db.close();
  }
}

const CSV_COLUMNS = [
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
] as const;

function csvRow(record: AuditRecord): string {
  return CSV_COLUMNS.map((column) => {
    const value = column === 'details' ? JSON.stringify(record.details) : record[column];
    const text = value === undefined ? '' : String(value);
    return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
  }).join(',');
}
