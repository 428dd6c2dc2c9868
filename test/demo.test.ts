/**
 * The demo plant end to end, as a newcomer runs it (`npm run demo -- --once`, from the build): a
 * short shift through the real connectors, mappings, ownership rules, context engine, queues, store
 * and audit log, with every simulated system its own process. Every figure each system holds must
 * equal the hub's; the rejected, stale, duplicate and dead-letter cases must be in the audit log with
 * their rules; the audit log must verify. A second run changes one system's copy of a figure and
 * must exit non-zero naming it.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Report } from '../seeds/packaging-line/demo/reconcile';
import { repoRoot } from './support/paths';

async function demo(...args: string[]): Promise<{ code: number | null; output: string; report: Report }> {
  const dir = mkdtempSync(join(tmpdir(), 'handover-demo-'));
  const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'warn' };
  // The demo starts what it needs: no Redis, database or broker of the machine's.
  delete env.REDIS_URL;
  delete env.DATABASE_URL;
  delete env.MQTT_URL;
  const child = spawn(
    process.execPath,
    [
      join(repoRoot, 'dist', 'seeds', 'packaging-line', 'demo', 'run.js'),
      '--once',
      '--hours',
      '2',
      '--speed',
      '240',
      '--dir',
      dir,
      ...args,
    ],
    { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  let report: Report;
  try {
    report = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as Report;
  } catch {
    throw new Error(`the demo wrote no report (exit ${code}):\n${output}`);
  }
  return { code, output, report };
}

it('plays a short shift: every system’s figures equal the hub’s, the plant events are audited, the log verifies', async () => {
  const { code, output, report } = await demo();
  expect(report.differences).toEqual([]);
  expect(report.lines.length).toBeGreaterThan(20);
  // Both orders ran and produced; what was planned, made, booked and put away is one set of figures.
  expect(report.orders).toHaveLength(2);
  for (const order of report.orders) {
    expect(order.state).toBe('Completed');
    expect(order.produced).toBeGreaterThanOrEqual(order.planned);
  }
  expect(report.events.map(({ event, ok }) => ({ event, ok }))).toEqual(
    report.events.map(({ event }) => ({ event, ok: true })),
  );
  expect(report.events.find((event) => event.event.includes('non-owner'))?.rule).toBe(
    'ownership.ProductionOrder.owner = erp',
  );
  expect(report.events.find((event) => event.event.includes('stale'))?.rule).toBe('ordering.occurredAt');
  expect(report.auditIntact).toBe(true);
  expect(output).toContain('every figure agrees with the hub');
  expect(code).toBe(0);
}, 300000);

it('exits non-zero and names the difference when a system’s copy of a figure is not the hub’s', async () => {
  const { code, output, report } = await demo('--corrupt', 'erp');
  expect(code).toBe(1);
  expect(report.differences.map((line) => line.figure)).toEqual(['booked by MES at the hub = received in ERP (101)']);
  expect(output).toMatch(/1 difference: order \d{7} booked by MES at the hub = received in ERP \(101\)/);
}, 300000);
