/**
 * `handover oee --equipment ID --from T --to T [--group-by shift|order] [--json] [--url URL]`: a
 * running hub's OEE figures (GET /api/v1/oee) as a table, or the API's JSON as it is.
 *
 * It asks the hub over HTTP rather than reading the store as `audit` does: the figures need the hub's
 * context configuration (shifts, planned downtime, ideal cycle times) and its engine's reading of the
 * store, and the API already answers exactly them, so the CLI and the API cannot disagree. The token is
 * the operators' HANDOVER_ADMIN_TOKEN from the environment, never a flag (a flag shows in the process
 * list and the shell's history).
 */
import { EXIT, UsageError, type CliIo } from './io';

export interface OeeOptions {
  equipment?: string;
  from?: string;
  to?: string;
  groupBy?: string;
  json?: boolean;
  url?: string;
}

/** How long the hub may take to answer. */
const TIMEOUT_MS = 30_000;

/** An RFC 3339 date-time with its zone: without one, it would be read in whichever zone the reader is. */
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/i;

/**
 * Prints the figures and returns the exit code: 0, 1 when the hub refuses the query (unknown
 * equipment, a bad token), 3 when it cannot be reached.
 * @example await oeeCommand(io, { equipment: 'PACK-L1', from: '2026-12-01T05:00:00Z', to: '2026-12-02T05:00:00Z' }, process.env)
 */
export async function oeeCommand(io: CliIo, options: OeeOptions, env: NodeJS.ProcessEnv): Promise<number> {
  if (!options.equipment) throw new UsageError('oee needs --equipment ID (a work unit or a line)');
  const from = dateTime('from', options.from);
  const to = dateTime('to', options.to);
  if (Date.parse(to) <= Date.parse(from)) throw new UsageError('--to must be after --from');
  if (options.groupBy !== undefined && options.groupBy !== 'shift' && options.groupBy !== 'order')
    throw new UsageError('--group-by must be shift or order');
  const base = options.url ?? env.HANDOVER_URL ?? `http://127.0.0.1:${env.PORT ?? 8080}`;
  let url: URL;
  try {
    url = new URL('/api/v1/oee', base);
  } catch {
    throw new UsageError(`--url "${base}" is not a URL`);
  }
  url.searchParams.set('equipment', options.equipment);
  url.searchParams.set('from', from);
  url.searchParams.set('to', to);
  if (options.groupBy) url.searchParams.set('groupBy', options.groupBy);

  let response: Response;
  try {
    response = await fetch(url, {
      headers: env.HANDOVER_ADMIN_TOKEN ? { authorization: `Bearer ${env.HANDOVER_ADMIN_TOKEN}` } : {},
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    const why = cause?.code ?? cause?.message ?? (error as Error).message;
    io.err(`handover: cannot reach the hub at ${url.origin} (${why}); is it running? (--url or HANDOVER_URL)\n`);
    return EXIT.unavailable;
  }
  const text = await response.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    io.err(`handover: the hub at ${url.origin} answered ${response.status} without JSON\n`);
    return response.ok ? EXIT.unavailable : EXIT.invalid;
  }
  if (!response.ok) {
    const error = (body as { error?: { code?: string; message?: string; details?: unknown } }).error;
    const hint = response.status === 401 ? ' (set HANDOVER_ADMIN_TOKEN to the operators’ token)' : '';
    io.err(`handover: ${error?.code ?? response.status}: ${error?.message ?? 'the hub refused the query'}${hint}\n`);
    return EXIT.invalid;
  }
  io.out(options.json ? `${JSON.stringify(body, null, 2)}\n` : render(body as OeeAnswer));
  return EXIT.ok;
}

function dateTime(name: 'from' | 'to', value: string | undefined): string {
  if (value === undefined) throw new UsageError(`oee needs --${name} (a date-time such as 2026-12-01T06:00:00+01:00)`);
  if (!DATE_TIME.test(value) || Number.isNaN(Date.parse(value)))
    throw new UsageError(`--${name} "${value}" is not a date-time with a zone, such as 2026-12-01T06:00:00+01:00`);
  return new Date(value).toISOString();
}

interface Figures {
  timeElements: Record<'POT' | 'PDOT' | 'PBT' | 'APT' | 'ADET' | 'ADOT', number>;
  quantities: Record<'PQ' | 'GQ' | 'SQ', number>;
  PRU: number;
  kpis: Record<'availability' | 'effectiveness' | 'quality' | 'oee', number | null>;
  losses: Array<{
    kind: string;
    reasonCode?: string;
    reason?: string;
    count: number;
    seconds: number;
    quantity?: number;
  }>;
}

type OeeAnswer = Partial<Figures> & {
  equipment: string;
  from: string;
  to: string;
  note?: string;
  line?: string;
  groupBy?: string;
  groups?: Array<Figures & { key: string; from: string; to: string }>;
};

const TIME = ['POT', 'PDOT', 'PBT', 'APT', 'ADET', 'ADOT'] as const;
const KPIS = [
  ['A', 'availability'],
  ['E', 'effectiveness'],
  ['Q', 'quality'],
  ['OEE', 'oee'],
] as const;

/** The answer as text: a head, one row of figures per group (or one for the window), and the losses. */
export function render(answer: OeeAnswer): string {
  const short = (iso: string) => iso.replace('.000Z', 'Z');
  const minutes = (seconds: number) => (seconds / 60).toFixed(2);
  const percent = (value: number | null) => (value === null ? '–' : `${(value * 100).toFixed(2)} %`);
  const grouped = answer.groups !== undefined;
  const rows: Array<Figures & { key?: string; from: string; to: string }> = grouped
    ? answer.groups!
    : [answer as Figures & { from: string; to: string }];
  const lines = [`OEE (ISO 22400-2) of ${answer.equipment}, ${short(answer.from)} to ${short(answer.to)}`];
  if (answer.note) lines.push(`${answer.line} is a line: ${answer.note}`);
  lines.push(`PRU ${rows[0]?.PRU ?? answer.PRU} s per unit; times in minutes`, '');
  const head = [
    ...(grouped ? [answer.groupBy ?? 'group', 'from', 'to'] : []),
    ...TIME,
    'PQ',
    'GQ',
    'SQ',
    ...KPIS.map(([label]) => label),
  ];
  lines.push(
    ...table(
      [head].concat(
        rows.map((row) => [
          ...(grouped ? [row.key!, short(row.from), short(row.to)] : []),
          ...TIME.map((name) => minutes(row.timeElements[name])),
          ...(['PQ', 'GQ', 'SQ'] as const).map((name) => String(row.quantities[name])),
          ...KPIS.map(([, name]) => percent(row.kpis[name])),
        ]),
      ),
      grouped ? 3 : 0,
    ),
  );
  const losses = rows.flatMap((row) =>
    row.losses.map((loss) => [
      ...(grouped ? [row.key!] : []),
      loss.kind,
      [loss.reasonCode, loss.reason].filter(Boolean).join(' '),
      String(loss.count),
      minutes(loss.seconds),
      loss.quantity === undefined ? '' : String(loss.quantity),
    ]),
  );
  lines.push('', 'Losses');
  if (losses.length === 0) lines.push('  none');
  else
    lines.push(
      ...table(
        [[...(grouped ? [answer.groupBy ?? 'group'] : []), 'kind', 'reason', 'count', 'min', 'quantity']].concat(
          losses,
        ),
        grouped ? 3 : 2,
      ).map((line) => `  ${line}`),
    );
  return `${lines.join('\n')}\n`;
}

/** Columns padded to their widest cell: the first `text` columns left-aligned, the rest right-aligned. */
function table(rows: string[][], text: number): string[] {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length)));
  return rows.map((row) =>
    row
      .map((cell, column) => (column < text ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!)))
      .join('  ')
      .trimEnd(),
  );
}
