/**
 * `handover audit verify` (exit 0 when the chain is intact, 1 naming each broken record) and
 * `handover audit export --from T --to T --format csv|jsonl` (stdout; the same export as
 * GET /api/v1/audit/export, hub/store/audit-export.ts).
 */
import { exportAudit, type AuditExportFormat } from '../store/audit-export';
import { openStore, verifyAudit } from '../store/index';
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
    const filter = {
      ...(options.from ? { from: new Date(options.from).toISOString() } : {}),
      ...(options.to ? { to: new Date(options.to).toISOString() } : {}),
    };
    for await (const chunk of exportAudit(db, filter, options.format as AuditExportFormat)) io.out(chunk);
    return EXIT.ok;
  } finally {
    await db.close();
  }
}
