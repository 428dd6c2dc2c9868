/**
 * The context engine's throughput: signal changes/s from POST /api/v1/inbound/scada (as a PLC gateway
 * or a connector sends them) until the engine has applied them, next to a raw BullMQ hop of as many
 * payloads on the same Redis in the same run. The signals drive the seed line's four work units:
 * counters rising, and a stop with a reason every 500 signals, so the engine also publishes
 * DowntimeEvents and ProductionConfirmations, delivered to a local HTTP target.
 * Run: npm run build && npx tsx bench/context-throughput.ts [signals] [signals per message] [concurrency]
 */
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { loadConfigFile } from '../hub/config/load';
import { ensureRedis } from '../hub/queue/redis-server';
import { freePort, hubReady, spawnHandover } from '../test/support/hub-process';
import { repoRoot } from '../test/support/paths';
import { startHttpTarget } from '../test/support/http-target';
import { CpuMeter, pool, rawBullmq, redisPid } from './support';

const signals = Number(process.argv[2] ?? 50_000);
const perMessage = Number(process.argv[3] ?? 50);
const concurrency = Number(process.argv[4] ?? 16);
const UNITS = ['FILLER-01', 'CAPPER-01', 'LABELER-01', 'CASEPACKER-01'];
const START = Date.parse('2026-12-01T05:10:00Z');

/** Signal `index`: round robin over the units, 20 ms of event time apart on each. */
function signalOf(index: number): Record<string, unknown> {
  const unit = UNITS[index % UNITS.length]!;
  const step = Math.floor(index / UNITS.length);
  const at = new Date(START + step * 20).toISOString();
  const base = { kind: 'signal', equipmentId: unit, quality: 'good', sourceTimestamp: at };
  const phase = step % 500;
  if (phase === 0) return { ...base, signal: 'state', value: 6 };
  if (phase === 250) return { ...base, signal: 'stopReason', value: 30 };
  if (phase === 251) return { ...base, signal: 'state', value: 11 };
  if (phase === 300) return { ...base, signal: 'stopReason', value: 0 };
  return { ...base, signal: 'goodCount', value: step % 65536 };
}

const agent = new Agent({ keepAlive: true });
function post(url: string, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    request(
      `${url}/api/v1/inbound/scada`,
      {
        method: 'POST',
        agent,
        headers: {
          authorization: 'Bearer scada-token',
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
        },
      },
      (response) => {
        response.resume();
        response.on('end', () => resolve(response.statusCode ?? 0));
      },
    )
      .on('error', reject)
      .end(body);
  });
}

async function stateOf(url: string, unit: string): Promise<{ counters?: { goodCount?: { value: number } } }> {
  const response = await fetch(`${url}/api/v1/equipment/${unit}/state`, {
    headers: { authorization: 'Bearer bench-admin' },
  });
  return (await response.json()) as { counters?: { goodCount?: { value: number } } };
}

async function main(): Promise<void> {
  const redisDir = mkdtempSync(join(tmpdir(), 'handover-bench-redis-'));
  const redis = await ensureRedis({ dataDir: redisDir });
  const redisProcess = redisPid(redisDir);
  const messages = Math.ceil(signals / perMessage);
  console.log(
    `${signals} signal changes in ${messages} messages of ${perMessage}, concurrency ${concurrency}, Redis with appendfsync always, node ${process.version}`,
  );
  const raw = await rawBullmq(redis.url, { count: signals, concurrency: 64, redisPid: redisProcess });

  const target = await startHttpTarget();
  const dataDir = mkdtempSync(join(tmpdir(), 'handover-bench-context-'));
  const seed = loadConfigFile(join(repoRoot, 'seeds', 'packaging-line', 'handover.yaml'));
  const config = {
    systems: seed.systems.filter((system) => ['scada', 'mes', 'line-context'].includes(system.id)),
    ownership: { DowntimeEvent: seed.ownership.DowntimeEvent, ProductionConfirmation: { owner: 'line-context' } },
    context: { ...seed.context, reasonEditors: [], maintenanceRules: [] },
    routes: [
      { id: 'to-mes', target: 'mes', types: ['DowntimeEvent', 'ProductionConfirmation'], url: `${target.url}/mes` },
    ],
  };
  const configFile = join(dataDir, 'hub.yaml');
  writeFileSync(configFile, stringify(config));
  const port = await freePort();
  const workers = Number(process.env.BENCH_WORKERS ?? 0);
  const env = {
    ...process.env,
    HANDOVER_DATA_DIR: dataDir,
    REDIS_URL: redis.url,
    HANDOVER_TOKEN_SCADA: 'scada-token',
    HANDOVER_ADMIN_TOKEN: 'bench-admin',
    LOG_LEVEL: 'warn',
  };
  const start = (role: string, listen: number) =>
    spawnHandover(['start', '--config', configFile, '--port', String(listen), '--role', role], {
      env,
      fromBuild: true,
    });
  const children = [start(workers > 0 ? 'api' : 'all', port)];
  for (let n = 0; n < workers; n += 1) children.push(start('worker', 0));
  const url = `http://127.0.0.1:${port}`;
  await hubReady(url, 30_000);
  const [api, ...rest] = children.map((child) => child.pid!);
  const meter = new CpuMeter({
    ...(rest.length > 0 ? { api: [api!], workers: rest } : { hub: [api!] }),
    redis: [redisProcess],
    'generator + target': [process.pid],
  });
  // The last goodCount value each unit will see: when every unit shows it, all signals are applied.
  const last = new Map<string, number>();
  for (let index = 0; index < signals; index += 1) {
    const signal = signalOf(index);
    if (signal['signal'] === 'goodCount') last.set(String(signal['equipmentId']), Number(signal['value']));
  }
  meter.start();
  const started = performance.now();
  let refused = 0;
  await pool(messages, concurrency, async (message) => {
    const batch = [];
    for (let index = message * perMessage; index < Math.min(signals, (message + 1) * perMessage); index += 1)
      batch.push(signalOf(index));
    if ((await post(url, JSON.stringify(batch))) !== 202) refused += 1;
  });
  const accepted = performance.now() - started;
  for (;;) {
    const states = await Promise.all(UNITS.map((unit) => stateOf(url, unit)));
    if (states.every((state, i) => state.counters?.goodCount?.value === last.get(UNITS[i]!))) break;
    if (performance.now() - started > 600_000) throw new Error('the engine did not apply every signal in 10 minutes');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const elapsed = performance.now() - started;
  const rate = signals / (elapsed / 1000);
  console.log(
    `handover: signals applied             ${rate.toFixed(0).padStart(6)} signals/s (${(elapsed / 1000).toFixed(1)} s; the door took them at ${(signals / (accepted / 1000)).toFixed(0)}/s, ${refused} messages refused)`,
  );
  meter.report(signals);
  console.log(`  documents the engine published and the target received: ${target.received.length}`);
  console.log(`ratio handover / raw BullMQ: ${(rate / raw.rate).toFixed(2)}`);
  await Promise.all(
    children.map(async (child) => {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }),
  );
  await target.close();
  await redis.stop();
}

void main();
