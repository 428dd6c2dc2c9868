/**
 * Load curve: achieved throughput and p50/p99 latency against offered load, for the raw BullMQ hop
 * and for the hub end to end, on the same Redis. Each offered rate runs for a few seconds; the hub
 * series stops one rate after the first it cannot keep up with (below 90 % of offered), since
 * every higher rate only adds backlog to drain. Writes bench/results/load-curve.json; render it with
 * bench/chart.ts. Run: npm run build && npx tsx bench/load-curve.ts [rates=250,500,1000,1500,2000,3000] [seconds=10]
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { format } from 'prettier';
import { ensureRedis } from '../hub/queue/redis-server';
import { startHttpTarget } from '../test/support/http-target';
import { hubPaced, payload, rawBullmq, startHubProcess, type Figures } from './support';

const rates = (process.argv[2] ?? '250,500,1000,1500,2000,3000').split(',').map(Number);
const seconds = Number(process.argv[3] ?? 10);
const output = process.env.LOAD_CURVE_OUT ?? join(__dirname, 'results', 'load-curve.json');
/** Worker concurrency of the raw BullMQ baseline, as in bench/hub-throughput.ts. */
const RAW_CONCURRENCY = 64;

export interface CurvePoint {
  offered: number;
  documents: number;
  achieved: number;
  p50Ms: number;
  p99Ms: number;
}

export interface LoadCurve {
  date: string;
  machine: { cpus: number; model: string; node: string };
  secondsPerRate: number;
  documentBytes: number;
  series: { raw: CurvePoint[]; hub: CurvePoint[] };
  /** Offered rates the hub series did not run, past its saturation. */
  hubNotRun: number[];
}

const point = (offered: number, result: Figures): CurvePoint => ({
  offered,
  documents: result.count,
  achieved: Math.round(result.rate),
  p50Ms: Number(result.p50.toFixed(1)),
  p99Ms: Number(result.p99.toFixed(1)),
});

async function main(): Promise<void> {
  const redis = await ensureRedis({ dataDir: mkdtempSync(join(tmpdir(), 'handover-curve-redis-')) });
  console.log(`offered ${rates.join(', ')} docs/s, ${seconds} s each, ${Buffer.byteLength(payload(0))} B documents`);
  const curve: LoadCurve = {
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, model: cpus()[0]?.model ?? 'unknown', node: process.version },
    secondsPerRate: seconds,
    documentBytes: Buffer.byteLength(payload(0)),
    series: { raw: [], hub: [] },
    hubNotRun: [],
  };
  for (const rate of rates) {
    const result = await rawBullmq(redis.url, {
      count: rate * seconds,
      concurrency: RAW_CONCURRENCY,
      perSecond: rate,
      name: `raw BullMQ offered ${rate}/s`,
    });
    curve.series.raw.push(point(rate, result));
  }
  const target = await startHttpTarget();
  const hub = await startHubProcess(redis.url, target.url);
  // Not recorded: the first documents after start pay for compiling schemas and warming the JIT.
  await hubPaced(hub.url, target, rates[0]!, rates[0]! * 2, { name: 'handover warm-up' });
  let saturated = false;
  let next = rates[0]! * 2;
  for (const rate of rates) {
    if (saturated) {
      curve.hubNotRun.push(rate);
      continue;
    }
    const result = await hubPaced(hub.url, target, rate, rate * seconds, {
      firstIndex: next,
      name: `handover offered ${rate}/s`,
    });
    next += rate * seconds;
    curve.series.hub.push(point(rate, result));
    const behind = curve.series.hub.filter((p) => p.achieved < 0.9 * p.offered).length;
    saturated = behind >= 2;
  }
  await hub.stop();
  await target.close();
  await redis.stop();
  mkdirSync(dirname(output), { recursive: true });
  // In the repository's own format, so `npm run lint` passes on a fresh result.
  writeFileSync(output, await format(JSON.stringify(curve), { parser: 'json' }));
  console.log(`wrote ${output}`);
}

if (require.main === module) void main();
