/**
 * The context engine fed by the OPC UA connector from a PLC: bench/opcua-plc.ts, a node-opcua server
 * in a process of its own, exposes the five PackML variables of `units` work units (lines of four, as
 * the seed's packaging line) and runs a production cycle per unit every `min`–`max` ms for `seconds`,
 * with a stop with a reason now and then, so the engine also publishes DowntimeEvents,
 * ProductionConfirmations of each line's running order and MaintenanceRequests to an HTTP target.
 * The hub (`handover start --role all`, SQLite, Redis with appendfsync always) subscribes to every
 * variable. Figures: changes/s the PLC offered, signal changes the engine took per second (its
 * handover_context_signals_total), how long it took to drain after the PLC stopped, CPU per process,
 * and a raw BullMQ hop of as many payloads on the same Redis in the same run.
 * Run: npm run build && npx tsx bench/context-opcua-throughput.ts [units] [seconds] [min ms] [max ms] [sampling ms] [publishing ms]
 * (BENCH_COUNT_EVERY=s: counts booked every s seconds, not the seed's 60; BENCH_PROFILE=dir: CPU profiles of
 * the hub and the PLC; BENCH_HUB_LOG=file: the hub's log)
 */
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { stringify } from 'yaml';
import { loadConfigFile } from '../hub/config/load';
import { ensureRedis } from '../hub/queue/redis-server';
import { freePort, hubReady, spawnHandover } from '../test/support/hub-process';
import { startHttpTarget } from '../test/support/http-target';
import { repoRoot } from '../test/support/paths';
import type { PackmlVariable, PlcMessage, PlcReport, PlcRequest, PlcRun, PlcSettings } from './opcua-plc';
import { CpuMeter, rawBullmq, redisPid, runningOrder } from './support';

const unitCount = Math.max(4, Math.round(Number(process.argv[2] ?? 100) / 4) * 4);
const seconds = Number(process.argv[3] ?? 30);
const minMs = Number(process.argv[4] ?? 20);
const maxMs = Number(process.argv[5] ?? 100);
const samplingIntervalMs = Number(process.argv[6] ?? 50);
const publishingIntervalMs = Number(process.argv[7] ?? 100);
/** How often counts become a ProductionConfirmation: the seed's 60 s unless BENCH_COUNT_EVERY says otherwise. */
const countEverySeconds = Number(process.env.BENCH_COUNT_EVERY ?? 60);
/** A stop every 150 cycles of a unit (about every 9 s at 20–100 ms), lasting 10 cycles. */
const RUN: PlcRun = { seconds, minMs, maxMs, stopEvery: 150, stopCycles: 10 };
const SIGNAL_OF: Record<PackmlVariable, string> = {
  State: 'state',
  Mode: 'mode',
  GoodCount: 'goodCount',
  RejectCount: 'rejectCount',
  StopReason: 'stopReason',
};
/** The seed line's work units, in flow order: a line of the bench has the same four. */
const STATIONS = [
  { suffix: 'U1', equipmentClass: 'filler', idealCycleSeconds: 0.5 },
  { suffix: 'U2', equipmentClass: 'capper', idealCycleSeconds: 0.5 },
  { suffix: 'U3', equipmentClass: 'labeler', idealCycleSeconds: 0.5 },
  { suffix: 'U4', equipmentClass: 'casepacker', idealCycleSeconds: 6 },
];
const lineIds = Array.from({ length: unitCount / 4 }, (_, l) => `L${String(l + 1).padStart(2, '0')}`);
const units = lineIds.flatMap((line) =>
  STATIONS.map((station) => ({ ...station, id: `${line}-${station.suffix}`, line })),
);

/** Child processes to end should the bench fail half-way. */
const leftOver: ChildProcess[] = [];
process.on('exit', () => leftOver.forEach((child) => child.exitCode === null && child.kill('SIGKILL')));

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` every 200 ms until it holds; fails after a minute. */
async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = performance.now() + 60_000;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`no ${what} after 60 s`);
    await pause(200);
  }
}

/** The PLC process, ready to run, and the node ids it serves. */
async function startPlc(pkiDir: string) {
  const settings: PlcSettings = {
    port: await freePort(),
    pkiDir,
    units: units.map(({ id, equipmentClass }) => ({ id, equipmentClass })),
  };
  const profile = process.env.BENCH_PROFILE ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_PROFILE] : [];
  const child = fork(join(repoRoot, 'bench', 'opcua-plc.ts'), [JSON.stringify(settings)], {
    execArgv: ['--import', 'tsx', ...profile],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  leftOver.push(child);
  const next = () => once(child, 'message').then(([message]) => message as PlcMessage);
  const ask = (request: PlcRequest) => {
    const answer = next();
    child.send(request);
    return answer;
  };
  const ready = await next();
  if (ready.kind !== 'ready') throw new Error(`the PLC said ${ready.kind} first`);
  return {
    child,
    ready,
    run: async (run: PlcRun): Promise<PlcReport> => {
      const message = await ask({ kind: 'run', run });
      if (message.kind !== 'done') throw new Error(`the PLC said ${message.kind}`);
      return message.report;
    },
    /** Data-change notifications the server has sent so far. */
    sent: async (): Promise<number> => {
      const message = await ask({ kind: 'sent' });
      if (message.kind !== 'sent') throw new Error(`the PLC said ${message.kind}`);
      return message.notifications;
    },
    stop: async () => {
      child.send({ kind: 'stop' } satisfies PlcRequest);
      await once(child, 'exit');
    },
  };
}

/** The hub's configuration: the seed's systems, context settings and reasons, lines of the bench's units. */
function hubConfig(endpointUrl: string, nodeIds: Record<string, Record<PackmlVariable, string>>, targetUrl: string) {
  const seed = loadConfigFile(join(repoRoot, 'seeds', 'packaging-line', 'handover.yaml'));
  const signals = seed.context!.lines[0]!.workUnits[0]!.signals;
  return {
    systems: seed.systems.filter((system) => ['erp', 'mes', 'scada', 'cmms', 'line-context'].includes(system.id)),
    ownership: {
      ProductionOrder: { owner: 'erp' },
      DowntimeEvent: { owner: 'line-context' },
      ProductionConfirmation: { owner: 'line-context' },
      MaintenanceRequest: { owner: 'line-context' },
    },
    context: {
      ...seed.context,
      reasonEditors: [],
      countEverySeconds,
      lines: lineIds.map((line) => ({
        id: line,
        workUnits: units
          .filter((unit) => unit.line === line)
          .map(({ id, equipmentClass, idealCycleSeconds }) => ({ id, equipmentClass, idealCycleSeconds, signals })),
      })),
    },
    connectors: [
      {
        id: 'plc',
        kind: 'opcua',
        config: {
          endpointUrl,
          system: 'scada',
          samplingIntervalMs,
          publishingIntervalMs,
          signals: units.flatMap((unit) =>
            (Object.keys(SIGNAL_OF) as PackmlVariable[]).map((name) => ({
              nodeId: nodeIds[unit.id]![name],
              equipmentId: unit.id,
              signal: SIGNAL_OF[name],
            })),
          ),
        },
      },
    ],
    routes: [
      { id: 'to-mes', target: 'mes', types: ['DowntimeEvent', 'ProductionConfirmation'], url: `${targetUrl}/mes` },
      { id: 'to-cmms', target: 'cmms', types: ['MaintenanceRequest'], url: `${targetUrl}/cmms` },
    ],
  };
}

/** The engine's signal outcomes so far (booked, or the code a signal was not booked under), from /metrics. */
async function signalOutcomes(url: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const outcomes: Record<string, number> = {};
  for (const match of text.matchAll(/^handover_context_signals_total\{outcome="([^"]+)"\} (\d+)$/gm))
    outcomes[match[1]!] = Number(match[2]);
  return outcomes;
}

const total = (outcomes: Record<string, number>) => Object.values(outcomes).reduce((sum, n) => sum + n, 0);

interface Delivered {
  type: string;
  objectKey: string;
  version: number;
  document: { equipmentId: string; startTime: string; reasonCode: string };
}

/** The PLC's stops the engine booked no DowntimeEvent for, and booked stops whose last revision has no reason. */
function reportStops(report: PlcReport, events: Delivered[]): void {
  const started = new Set(
    events.map((event) => `${event.document.equipmentId}@${Date.parse(event.document.startTime)}`),
  );
  const missing = Object.entries(report.stopsAt).flatMap(([unit, stamps]) =>
    stamps.filter((at) => !started.has(`${unit}@${at}`)).map((at) => `${unit} ${new Date(at).toISOString()}`),
  );
  const last = new Map<string, Delivered>();
  for (const event of events)
    if ((last.get(event.objectKey)?.version ?? 0) < event.version) last.set(event.objectKey, event);
  const unreasoned = [...last.values()].filter((event) => event.document.reasonCode === 'Unknown').length;
  console.log(
    `  stops: ${missing.length} of ${report.stops} without a DowntimeEvent starting at their time${missing.length > 0 ? ` (e.g. ${missing.slice(0, 3).join(', ')})` : ''}; ${unreasoned} booked without a reason`,
  );
}

/**
 * What the hub's store says about the run: the signals the engine did not book, by code and signal
 * (from the receipts' audit records), and how long the PLC's messages waited between the door and the
 * engine (a signal that waits longer than the engine's lateness finds its unit's clock moved past it).
 */
function fromStore(file: string, from: string): { notBooked: string; waitP50: number; waitMax: number } {
  const db = new Database(file, { readonly: true });
  try {
    const rows = db
      .prepare(
        `SELECT json_extract(o.value, '$.code') || ' ' || json_extract(o.value, '$.signal') AS what, COUNT(*) AS n
           FROM audit_log a,
                json_each(COALESCE(json_extract(a.details, '$.signals.outcomes'),
                                   json_extract(a.details, '$.received.signals.outcomes'), '[]')) o
          WHERE a.system = 'scada' AND a.at >= ? AND json_extract(o.value, '$.booked') = 0
          GROUP BY what ORDER BY n DESC`,
      )
      .all(from) as Array<{ what: string; n: number }>;
    const waits = (
      db
        .prepare(
          `SELECT (julianday(processed_at) - julianday(received_at)) * 86400 AS wait FROM messages
            WHERE system = 'scada' AND received_at >= ? AND processed_at IS NOT NULL ORDER BY wait`,
        )
        .all(from) as Array<{ wait: number }>
    ).map((row) => row.wait);
    return {
      notBooked: rows.map(({ what, n }) => `${what} ${n}`).join(', ') || 'none',
      waitP50: waits[Math.floor(waits.length / 2)] ?? NaN,
      waitMax: waits[waits.length - 1] ?? NaN,
    };
  } finally {
    db.close();
  }
}

/** Busy CPU time of the whole machine so far, in µs (/proc/stat: everything but idle and iowait). */
function machineBusyMicros(): number {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const busy = fields.reduce((sum, n) => sum + n, 0) - fields[3]! - fields[4]!;
  return (busy * 1_000_000) / 100;
}

/** The hub as its own process from the build, subscribed to the PLC, with a running order per line. */
async function startHub(redisUrl: string, plc: Plc, targetUrl: string) {
  const dataDir = mkdtempSync(join(tmpdir(), 'handover-bench-context-opcua-'));
  const configFile = join(dataDir, 'hub.yaml');
  // Every unit's signals as a mapping of its own: the hub refuses a file with more than 100 YAML aliases.
  const config = hubConfig(plc.ready.endpointUrl, plc.ready.nodeIds, targetUrl);
  writeFileSync(configFile, stringify(config, { aliasDuplicateObjects: false }));
  const port = await freePort();
  const child = spawnHandover(['start', '--config', configFile, '--port', String(port), '--role', 'all'], {
    env: {
      ...process.env,
      HANDOVER_DATA_DIR: dataDir,
      REDIS_URL: redisUrl,
      HANDOVER_ADMIN_TOKEN: 'bench-admin',
      HANDOVER_TOKEN_ERP: 'erp-token',
      LOG_LEVEL: 'warn',
    },
    fromBuild: true,
    stdout: process.env.BENCH_HUB_LOG ? 'pipe' : 'ignore',
    nodeOptions: process.env.BENCH_PROFILE ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_PROFILE] : [],
  });
  leftOver.push(child);
  if (process.env.BENCH_HUB_LOG) child.stdout!.pipe(createWriteStream(process.env.BENCH_HUB_LOG));
  if (process.env.BENCH_PROFILE)
    console.log(`  profiles in ${process.env.BENCH_PROFILE}: hub pid ${child.pid}, plc pid ${plc.child.pid}`);
  const url = `http://127.0.0.1:${port}`;
  await hubReady(url, 30_000);
  const admin = async (path: string) =>
    (await (await fetch(`${url}${path}`, { headers: { authorization: 'Bearer bench-admin' } })).json()) as Record<
      string,
      any // eslint-disable-line @typescript-eslint/no-explicit-any
    >;
  await until(
    async () => (await admin('/api/v1/connectors')).connectors?.[0]?.health.status === 'up',
    'the connector up',
  );
  for (const line of lineIds) {
    const answer = await fetch(`${url}/api/v1/inbound/erp`, {
      method: 'POST',
      headers: { authorization: 'Bearer erp-token', 'content-type': 'application/json' },
      body: runningOrder(line, new Date(Date.now() - 60_000).toISOString()),
    });
    if (answer.status !== 202) throw new Error(`the order of ${line} was answered ${answer.status}`);
  }
  const goodCounts = async () =>
    (await Promise.all(units.map((unit) => admin(`/api/v1/equipment/${unit.id}/state`)))).map((state) => ({
      order: state['runningOrder'] as unknown,
      good: state['counters']?.goodCount?.value as number | undefined,
    }));
  // Every unit's order runs and its first values (the subscription's initial ones) are taken.
  await until(
    async () => (await goodCounts()).every(({ order, good }) => order && good !== undefined),
    'every unit with its order and first values',
  );
  const health = async () =>
    (await admin('/api/v1/connectors')).connectors?.[0]?.health as { status: string; detail: string };
  return { child, url, dataDir, goodCounts, health, latenessSeconds: config.context.latenessSeconds };
}

/**
 * Reads the engine's count from `started`, every second (/metrics costs the hub a little), every
 * 100 ms once `fast`: its series, and when it last grew (with the machine's busy CPU time then), as the
 * time the engine took its last signal.
 */
function watchCount(url: string, base: number, started: number) {
  const watch = {
    series: [] as Array<{ at: number; taken: number }>,
    lastAt: started,
    busyAt: machineBusyMicros(),
    polledAt: 0,
    running: true,
    fast: false,
  };
  void (async () => {
    while (watch.running) {
      if (watch.fast || performance.now() - watch.polledAt >= 1000) {
        const taken = total(await signalOutcomes(url)) - base;
        const at = performance.now();
        if (taken !== watch.series[watch.series.length - 1]?.taken)
          [watch.lastAt, watch.busyAt] = [at, machineBusyMicros()];
        watch.series.push({ at: at - started, taken });
        watch.polledAt = at;
      }
      await pause(100);
    }
  })();
  return watch;
}

/** Waits until every unit shows the PLC's last good count, or 30 s pass without a new signal. */
async function drained(hub: Hub, watch: ReturnType<typeof watchCount>, finalGood: Record<string, number>) {
  const from = performance.now();
  watch.fast = true;
  for (;;) {
    await pause(250);
    if (watch.polledAt < from || performance.now() - watch.lastAt < 500) continue;
    const behind = (await hub.goodCounts()).filter(({ good }, i) => good !== finalGood[units[i]!.id]).length;
    if (behind === 0) break;
    if (performance.now() - watch.lastAt > 30_000) {
      console.log(`  ${behind} units do not show their last good count 30 s after the engine's last signal`);
      break;
    }
  }
  watch.running = false;
}

type Plc = Awaited<ReturnType<typeof startPlc>>;
type Hub = Awaited<ReturnType<typeof startHub>>;

async function main(): Promise<void> {
  const redisDir = mkdtempSync(join(tmpdir(), 'handover-bench-redis-'));
  const redis = await ensureRedis({ dataDir: redisDir });
  const redisProcess = redisPid(redisDir);
  const perUnit = (1000 / ((minMs + maxMs) / 2)) * 1.1;
  console.log(
    `${unitCount} work units (${lineIds.length} lines), a cycle every ${minMs}–${maxMs} ms for ${seconds} s: about ${(perUnit * unitCount).toFixed(0)} changes/s offered; sampling ${samplingIntervalMs} ms, publishing ${publishingIntervalMs} ms; counts booked every ${countEverySeconds} s; Redis with appendfsync always, node ${process.version}`,
  );
  const expected = Math.round(perUnit * unitCount * seconds);
  const raw = await rawBullmq(redis.url, { count: expected, concurrency: 64, redisPid: redisProcess });

  const plc = await startPlc(mkdtempSync(join(tmpdir(), 'handover-bench-plc-')));
  const target = await startHttpTarget();
  const hub = await startHub(redis.url, plc, target.url);
  await pause(1000);
  const before = await signalOutcomes(hub.url);
  const sentBefore = await plc.sent();
  const meter = new CpuMeter({
    hub: [hub.child.pid!],
    redis: [redisProcess],
    plc: [plc.child.pid!],
    'bench + target': [process.pid],
  });
  const busyBefore = machineBusyMicros();
  meter.start();
  const runFrom = new Date().toISOString();
  const started = performance.now();
  const watch = watchCount(hub.url, total(before), started);
  const report = await plc.run(RUN);
  const offeredEnd = performance.now() - started;
  await drained(hub, watch, report.finalGood);
  const { lastAt, busyAt, series } = watch;

  const elapsed = lastAt - started;
  const after = await signalOutcomes(hub.url);
  const sent = (await plc.sent()) - sentBefore;
  const taken = Object.fromEntries(Object.entries(after).map(([code, n]) => [code, n - (before[code] ?? 0)]));
  const takenTotal = total(taken);
  const offered = Object.values(report.changes).reduce((sum, n) => sum + n, 0);
  const rate = takenTotal / (elapsed / 1000);
  const steady = series.filter((point) => point.at >= 5000 && point.at <= offeredEnd);
  const [first, last] = [steady[0], steady[steady.length - 1]];
  const steadyRate = first && last && last !== first ? (last.taken - first.taken) / ((last.at - first.at) / 1000) : NaN;
  const percent = (n: number) => `${((100 * n) / offered).toFixed(1)} %`;
  console.log(
    `plc: offered ${offered} changes in ${(report.elapsedMs / 1000).toFixed(1)} s = ${(offered / (report.elapsedMs / 1000)).toFixed(0)}/s (${Object.entries(report.changes).map(([name, n]) => `${name} ${n}`).join(', ')}; ${report.stops} stops; cycle lag p99 ${report.lagP99Ms.toFixed(0)} ms, max ${report.lagMaxMs.toFixed(0)} ms)`, // prettier-ignore
  );
  console.log(
    `  server sent ${sent} data-change notifications (${percent(sent)} of offered; the rest fell between two samples or out of a full item queue)`,
  );
  console.log(
    `handover: signal changes taken ${rate.toFixed(0).padStart(6)} /s (${takenTotal} in ${(elapsed / 1000).toFixed(1)} s, ${percent(takenTotal)} of offered; steady ${steadyRate.toFixed(0)}/s from 5 s to the PLC's end; drained ${((elapsed - offeredEnd) / 1000).toFixed(2)} s after the PLC's last change)`, // prettier-ignore
  );
  console.log(`  outcomes: ${Object.entries(taken).map(([code, n]) => `${code} ${n}`).join(', ')}`); // prettier-ignore
  meter.report(takenTotal);
  const busy = (busyAt - busyBefore) / 1e6 / (elapsed / 1000);
  console.log(`  whole machine busy ${busy.toFixed(2)} of 2 cores over the run (other work included)`);
  await pause(2000);
  const documents = target.received.map((received) => JSON.parse(received.body) as Delivered);
  const byType = (type: string) => documents.filter((document) => document.type === type);
  console.log(
    `  target: ${new Set(byType('DowntimeEvent').map((d) => d.objectKey)).size} stops as ${byType('DowntimeEvent').length} DowntimeEvent revisions, ${byType('ProductionConfirmation').length} ProductionConfirmations, ${byType('MaintenanceRequest').length} MaintenanceRequests`, // prettier-ignore
  );
  reportStops(report, byType('DowntimeEvent'));
  const health = await hub.health();
  console.log(`  connector ${health.status}: ${health.detail}`);
  console.log(`ratio handover / raw BullMQ: ${(rate / raw.rate).toFixed(2)}`);
  hub.child.kill('SIGTERM');
  await once(hub.child, 'exit');
  const store = fromStore(join(hub.dataDir, 'handover.db'), runFrom);
  console.log(
    `  from the store: door to engine p50 ${store.waitP50.toFixed(1)} s, max ${store.waitMax.toFixed(1)} s (the engine's lateness ${hub.latenessSeconds} s); not booked: ${store.notBooked}`,
  );
  await plc.stop();
  await target.close();
  await redis.stop();
}

void main();
