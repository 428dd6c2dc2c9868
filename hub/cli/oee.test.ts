import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { repoRoot } from '../../test/support/paths';
import { run } from './main';

const FIGURES = {
  timeElements: { POT: 28800, PDOT: 1800, PBT: 27000, APT: 24000, ADET: 0, ADOT: 3000 },
  quantities: { PQ: 3800, GQ: 3610, SQ: 190 },
  PRU: 6,
  kpis: { availability: 24000 / 27000, effectiveness: 0.95, quality: 0.95, oee: (24000 / 27000) * 0.95 * 0.95 },
  losses: [
    { kind: 'downtime', reasonCode: '17', reason: 'Cap feed jam', count: 2, seconds: 2400 },
    { kind: 'microStop', count: 5, seconds: 330 },
    { kind: 'scrap', count: 1, seconds: 0, quantity: 190 },
  ],
};
const RANGE = ['--from', '2026-12-01T06:00:00+01:00', '--to', '2026-12-01T14:00:00+01:00'];

/** A stand-in hub: answers GET /api/v1/oee as `answer` says, and records what it was asked. */
let server: Server;
let url: string;
let asked: Array<{ url: string; authorization?: string }> = [];
let answer: (query: URLSearchParams) => [number, unknown] = () => [200, {}];

beforeAll(async () => {
  server = createServer((req, res) => {
    const parsed = new URL(req.url ?? '/', 'http://hub');
    asked.push({
      url: req.url ?? '',
      ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
    });
    const [status, body] = answer(parsed.searchParams);
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  asked = [];
  process.env.HANDOVER_ADMIN_TOKEN = 'admin-token';
});

afterEach(() => {
  delete process.env.HANDOVER_ADMIN_TOKEN;
});

async function cli(...argv: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await run(argv, {
    out: (text) => (stdout += text),
    err: (text) => (stderr += text),
    readFile: () => Buffer.from(''),
  });
  return { code, stdout, stderr };
}

describe('handover oee', () => {
  it('asks the hub with the operators’ token and prints time in minutes, A/E/Q/OEE in percent and the losses', async () => {
    answer = (query) => [
      200,
      { equipment: query.get('equipment'), from: query.get('from'), to: query.get('to'), ...FIGURES },
    ];
    const result = await cli('oee', '--equipment', 'CAPPER-01', ...RANGE, '--url', url);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(asked).toEqual([
      {
        url: '/api/v1/oee?equipment=CAPPER-01&from=2026-12-01T05%3A00%3A00.000Z&to=2026-12-01T13%3A00%3A00.000Z',
        authorization: 'Bearer admin-token',
      },
    ]);
    expect(result.stdout).toBe(
      [
        'OEE (ISO 22400-2) of CAPPER-01, 2026-12-01T05:00:00Z to 2026-12-01T13:00:00Z',
        'PRU 6 s per unit; times in minutes',
        '',
        '   POT   PDOT     PBT     APT  ADET   ADOT    PQ    GQ   SQ        A        E        Q      OEE',
        '480.00  30.00  450.00  400.00  0.00  50.00  3800  3610  190  88.89 %  95.00 %  95.00 %  80.22 %',
        '',
        'Losses',
        '  kind       reason           count    min  quantity',
        '  downtime   17 Cap feed jam      2  40.00',
        '  microStop                       5   5.50',
        '  scrap                           1   0.00       190',
        '',
      ].join('\n'),
    );
  });

  it('prints one row per shift or order, says when a line’s figures come from two units, and --json prints the API’s answer', async () => {
    const grouped = {
      equipment: 'PACK-L1',
      from: '2026-12-01T05:00:00.000Z',
      to: '2026-12-01T13:00:00.000Z',
      line: 'PACK-L1',
      note: 'time elements of the bottleneck CASEPACKER-01 (largest PRU), quantities of the last work unit CASEPACKER-01',
      groupBy: 'order',
      groups: [
        { key: 'PO-1', from: '2026-12-01T05:00:00.000Z', to: '2026-12-01T09:00:00.000Z', ...FIGURES },
        {
          key: 'NoOrder',
          from: '2026-12-01T09:00:00.000Z',
          to: '2026-12-01T13:00:00.000Z',
          ...FIGURES,
          kpis: { availability: null, effectiveness: null, quality: null, oee: null },
          losses: [],
        },
      ],
    };
    answer = () => [200, grouped];
    const table = await cli('oee', '--equipment', 'PACK-L1', ...RANGE, '--group-by', 'order', '--url', url);
    expect(table.code).toBe(0);
    expect(asked[0]!.url).toContain('&groupBy=order');
    const lines = table.stdout.split('\n');
    expect(lines[1]).toBe(`PACK-L1 is a line: ${grouped.note}`);
    expect(lines.find((line) => line.startsWith('order'))).toMatch(/^order\s+from\s+to\s+POT/);
    expect(lines.find((line) => line.startsWith('NoOrder'))).toMatch(/480\.00 .* 3800 .*–\s+–\s+–\s+–$/);
    expect(lines).toContain('  PO-1   downtime   17 Cap feed jam      2  40.00');
    const json = await cli('oee', '--equipment', 'PACK-L1', ...RANGE, '--group-by', 'order', '--json', '--url', url);
    expect(JSON.parse(json.stdout)).toEqual(grouped);
  });

  it('exits 1 with the hub’s code and message when it refuses (unknown equipment, no token)', async () => {
    answer = () => [
      404,
      { error: { code: 'NOT_FOUND', message: 'No such line or work unit in the context configuration' } },
    ];
    const unknown = await cli('oee', '--equipment', 'NOPE-9', ...RANGE, '--url', url);
    expect(unknown).toEqual({
      code: 1,
      stdout: '',
      stderr: 'handover: NOT_FOUND: No such line or work unit in the context configuration\n',
    });
    delete process.env.HANDOVER_ADMIN_TOKEN;
    answer = () => [401, { error: { code: 'AUTH_REQUIRED', message: 'A bearer token is required' } }];
    const anonymous = await cli('oee', '--equipment', 'CAPPER-01', ...RANGE, '--url', url);
    expect(asked.at(-1)!.authorization).toBeUndefined();
    expect(anonymous.code).toBe(1);
    expect(anonymous.stderr).toContain('AUTH_REQUIRED: A bearer token is required (set HANDOVER_ADMIN_TOKEN');
  });

  it('exits 2 on bad dates, a missing equipment or a bad --group-by, before asking the hub', async () => {
    const cases: Array<[string[], string]> = [
      [['--from', '2026-12-01T06:00:00+01:00', '--to', '2026-12-01T14:00:00+01:00'], 'oee needs --equipment'],
      [
        ['--equipment', 'X', '--from', 'yesterday', '--to', '2026-12-01T14:00:00Z'],
        '--from "yesterday" is not a date-time',
      ],
      [['--equipment', 'X', '--from', '2026-12-01T06:00', '--to', '2026-12-01T14:00:00Z'], 'with a zone'],
      [['--equipment', 'X', '--from', '2026-12-01T06:00:00Z'], 'oee needs --to'],
      [
        ['--equipment', 'X', '--from', '2026-12-01T06:00:00Z', '--to', '2026-12-01T05:00:00Z'],
        '--to must be after --from',
      ],
      [['--equipment', 'X', ...RANGE, '--group-by', 'week'], '--group-by must be shift or order'],
      [['--equipment', 'X', ...RANGE, '--url', 'not a url'], 'is not a URL'],
    ];
    for (const [argv, message] of cases) {
      const result = await cli('oee', ...argv);
      expect({ argv, code: result.code, message: result.stderr.includes(message) }).toEqual({
        argv,
        code: 2,
        message: true,
      });
    }
    expect(asked).toEqual([]);
  });

  it('exits 3 when no hub answers at the address, also as the installed command', async () => {
    const closed = createServer();
    closed.listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const result = await cli('oee', '--equipment', 'CAPPER-01', ...RANGE, '--url', `http://127.0.0.1:${port}`);
    expect(result.code).toBe(3);
    expect(result.stderr).toBe(
      `handover: cannot reach the hub at http://127.0.0.1:${port} (ECONNREFUSED); is it running? (--url or HANDOVER_URL)\n`,
    );
    const spawned = spawnSync(
      process.execPath,
      ['--import', 'tsx', join(repoRoot, 'hub', 'cli', 'main.ts'), 'oee', '--equipment', 'CAPPER-01', ...RANGE],
      { encoding: 'utf8', env: { ...process.env, HANDOVER_URL: `http://127.0.0.1:${port}` } },
    );
    expect(spawned.status).toBe(3);
    expect(spawned.stderr).toContain('cannot reach the hub');
  });
});
