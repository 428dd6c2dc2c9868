/** The hub through its command line, as an operator runs it: start with the seed plant, audit verify and export. */
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from './support/paths';
import { waitFor } from './support/http-target';
import { freePort, hubReady, spawnHandover } from './support/hub-process';

const main = join(repoRoot, 'hub', 'cli', 'main.ts');
const dataDir = mkdtempSync(join(tmpdir(), 'handover-cli-hub-'));
const env: NodeJS.ProcessEnv = {
  ...process.env,
  HANDOVER_DATA_DIR: dataDir,
  HANDOVER_TOKEN_ERP: 'erp-token',
  HANDOVER_ADMIN_TOKEN: 'admin-token',
  LOG_LEVEL: 'warn',
};
delete env.REDIS_URL;
delete env.DATABASE_URL;

const cli = (...args: string[]) =>
  spawnSync(process.execPath, ['--import', 'tsx', main, ...args], { env, encoding: 'utf8', cwd: repoRoot });

it('starts the seed plant with its own Redis, takes a document, stops cleanly, and the audit log verifies and exports', async () => {
  const port = await freePort();
  const hub = spawnHandover(['start', '--config', 'seeds/packaging-line/handover.yaml', '--port', String(port)], {
    env,
    stdout: 'pipe',
  });
  let stdout = '';
  hub.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  try {
    await hubReady(`http://127.0.0.1:${port}`);
    expect(stdout).toContain(`listening on http://127.0.0.1:${port}`);
    expect(existsSync(join(dataDir, 'redis', 'instance.json'))).toBe(true);
    const xml = readFileSync(
      join(repoRoot, 'seeds', 'packaging-line', 'b2mml', 'process-operations-schedule.xml'),
      'utf8',
    );
    const posted = await fetch(`http://127.0.0.1:${port}/api/v1/inbound/erp`, {
      method: 'POST',
      headers: { authorization: 'Bearer erp-token', 'content-type': 'application/xml' },
      body: xml,
    });
    expect(posted.status).toBe(202);
    const { messageId } = (await posted.json()) as { messageId: string };
    await waitFor(async () => {
      const trace = await fetch(`http://127.0.0.1:${port}/api/v1/messages/${messageId}`, {
        headers: { authorization: 'Bearer admin-token' },
      });
      return trace.ok && ((await trace.json()) as { decisions: unknown[] }).decisions.length === 2;
    });
  } finally {
    hub.kill('SIGTERM');
    await once(hub, 'exit');
  }
  expect(hub.exitCode).toBe(0);
  expect(existsSync(join(dataDir, 'redis', 'instance.json'))).toBe(false);

  const verify = cli('audit', 'verify');
  expect(verify.status).toBe(0);
  expect(verify.stderr).toMatch(/^intact: 2 records, head 2 [0-9a-f]{64}\n$/);

  const jsonl = cli('audit', 'export', '--format', 'jsonl');
  const records = jsonl.stdout
    .trim()
    .split('\n')
    .map(
      (line) => JSON.parse(line) as { seq: number; kind: string; decision?: string; details: { received?: unknown } },
    );
  // One record per decision; the first carries the message's receipt.
  expect(records.map((record) => [record.seq, record.kind, record.decision])).toEqual([
    [1, 'decision', 'accepted'],
    [2, 'decision', 'accepted'],
  ]);
  expect(records[0]!.details.received).toMatchObject({ contentType: 'xml', documents: 2 });
  const csv = cli(
    'audit',
    'export',
    '--format',
    'csv',
    '--from',
    '2000-01-01T00:00:00Z',
    '--to',
    '2999-01-01T00:00:00Z',
  );
  const lines = csv.stdout.trim().split(/\r?\n/);
  expect(lines[0]).toBe('seq,at,kind,messageId,system,type,objectKey,decision,rule,target,details,prevHash,hash');
  expect(lines).toHaveLength(3);
  expect(lines[1]).toContain('"{""docIndex"":0');
  expect(
    cli('audit', 'export', '--format', 'csv', '--to', '2000-01-01T00:00:00Z').stdout.trim().split(/\r?\n/),
  ).toHaveLength(1);
  expect(cli('audit', 'export').status).toBe(2);
}, 120000);

it('stops start-up on a bad configuration with the file, line, path and reason', () => {
  const result = cli('start', '--config', join(repoRoot, 'package.json'));
  expect(result.status).toBe(1);
  expect(result.stderr).toContain('CONFIG_INVALID');
  expect(result.stderr).toMatch(/package\.json:\d+ \/name: unknown setting/);
});
