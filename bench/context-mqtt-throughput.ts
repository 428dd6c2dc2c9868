/**
 * The context engine fed the way a plant feeds it: Sparkplug B through a real broker (Mosquitto when
 * installed) into the hub's MQTT connector, whose signal bindings hand the engine each Sparkplug
 * message's bound metrics. Each of the seed line's four work units is a device of an edge node of
 * its own; every DDATA carries `metrics` changed values (good count, reject count, …), and every 500
 * messages the unit stops with a reason and runs again, so the engine also publishes DowntimeEvents
 * and ProductionConfirmations of the line's running order, delivered to a local HTTP target. Throughput is signal changes/s from
 * the first publish until the engine has applied the last, next to a raw BullMQ hop on the same Redis.
 * Run: npm run build && npx tsx bench/context-mqtt-throughput.ts [messages per unit] [metrics per message] [per second]
 * (per second: signal changes offered per second across the line, paced; absent: as fast as the broker takes them)
 */
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { stringify } from 'yaml';
import { encodeSparkplug, type WireMetric } from '../connectors/mqtt/sparkplug-codec';
import { startTestBroker } from '../connectors/mqtt/test-broker';
import { loadConfigFile } from '../hub/config/load';
import { ensureRedis } from '../hub/queue/redis-server';
import { freePort, hubReady, spawnHandover } from '../test/support/hub-process';
import { startHttpTarget } from '../test/support/http-target';
import { repoRoot } from '../test/support/paths';
import { CpuMeter, rawBullmq, redisPid, runningOrder } from './support';

const perUnit = Number(process.argv[2] ?? 5000);
const metricsPerMessage = Math.min(5, Math.max(1, Number(process.argv[3] ?? 2)));
const offered = process.argv[4] === undefined ? undefined : Number(process.argv[4]);
const UNITS = ['FILLER-01', 'CAPPER-01', 'LABELER-01', 'CASEPACKER-01'];
/** Metrics per device, by alias: the counters first, as a PLC's publish cycle changes them most. */
const METRICS = [
  { name: 'GoodCount', alias: 1, signal: 'goodCount' },
  { name: 'RejectCount', alias: 2, signal: 'rejectCount' },
  { name: 'State', alias: 3, signal: 'state' },
  { name: 'Mode', alias: 4, signal: 'mode' },
  { name: 'StopReason', alias: 5, signal: 'stopReason' },
];
const edgeOf = (unit: string) => `edge-${unit.toLowerCase()}`;

/** The DDATA metrics of a unit's message `n` (1-based), stamped `at`. */
function dataMetrics(n: number, at: number): WireMetric[] {
  const phase = n % 500;
  const metric = (alias: number, value: number): WireMetric => ({ alias, type: 'UInt32', value, timestamp: at });
  if (phase === 250) return [metric(5, 30), metric(3, 11)]; // a stop, material shortage
  if (phase === 260) return [metric(3, 6), metric(5, 0)]; // running again
  // Counters: good rises by 1 (wrapping at 65 536, as the seed's rollover says), reject every 10th.
  const values = [n % 65536, Math.floor(n / 10) % 65536, 6, 1, 0];
  return METRICS.slice(0, metricsPerMessage).map((m, i) => metric(m.alias, values[i]!));
}

async function main(): Promise<void> {
  const redisDir = mkdtempSync(join(tmpdir(), 'handover-bench-redis-'));
  const redis = await ensureRedis({ dataDir: redisDir });
  const redisProcess = redisPid(redisDir);
  const broker = await startTestBroker();
  const messages = perUnit * UNITS.length;
  // Births carry every metric; each stop or restart message carries two.
  let signals = 0;
  for (let n = 1; n <= perUnit; n += 1) signals += dataMetrics(n, 0).length * UNITS.length;
  console.log(
    `${signals} signal changes in ${messages} Sparkplug DDATA messages (${metricsPerMessage} metrics each, 4 edge nodes), ${offered ? `${offered} changes/s offered` : 'full speed'}, ${broker.kind}, Redis with appendfsync always, node ${process.version}`,
  );
  const raw = await rawBullmq(redis.url, { count: signals, concurrency: 64, redisPid: redisProcess });

  const target = await startHttpTarget();
  const dataDir = mkdtempSync(join(tmpdir(), 'handover-bench-context-mqtt-'));
  const seed = loadConfigFile(join(repoRoot, 'seeds', 'packaging-line', 'handover.yaml'));
  const config = {
    systems: seed.systems.filter((system) => ['erp', 'scada', 'mes', 'line-context'].includes(system.id)),
    ownership: {
      ProductionOrder: { owner: 'erp' },
      DowntimeEvent: seed.ownership.DowntimeEvent,
      ProductionConfirmation: { owner: 'line-context' },
    },
    context: { ...seed.context, reasonEditors: [], maintenanceRules: [] },
    connectors: [
      {
        id: 'plant-broker',
        kind: 'mqtt',
        config: {
          url: broker.url,
          clientId: 'handover-bench',
          protocolVersion: broker.protocolVersion,
          system: 'scada',
          subscriptions: [{ topic: 'spBv1.0/packaging/#', format: 'sparkplug' }],
          signals: UNITS.flatMap((unit) =>
            METRICS.map((m) => ({
              node: `packaging/${edgeOf(unit)}/device`,
              metric: m.name,
              equipmentId: unit,
              signal: m.signal,
            })),
          ),
        },
      },
    ],
    routes: [
      { id: 'to-mes', target: 'mes', types: ['DowntimeEvent', 'ProductionConfirmation'], url: `${target.url}/mes` },
    ],
  };
  const configFile = join(dataDir, 'hub.yaml');
  writeFileSync(configFile, stringify(config));
  const port = await freePort();
  const child = spawnHandover(['start', '--config', configFile, '--port', String(port), '--role', 'all'], {
    env: {
      ...process.env,
      HANDOVER_DATA_DIR: dataDir,
      REDIS_URL: redis.url,
      HANDOVER_ADMIN_TOKEN: 'bench-admin',
      HANDOVER_TOKEN_ERP: 'erp-token',
      LOG_LEVEL: 'warn',
    },
    fromBuild: true,
  });
  const url = `http://127.0.0.1:${port}`;
  await hubReady(url, 30_000);
  const admin = async (path: string) =>
    (await (await fetch(`${url}${path}`, { headers: { authorization: 'Bearer bench-admin' } })).json()) as Record<
      string,
      any // eslint-disable-line @typescript-eslint/no-explicit-any
    >;
  for (;;) {
    const { connectors } = await admin('/api/v1/connectors');
    if (connectors?.[0]?.health.status === 'up') break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }

  const start = Date.now() + 60_000;
  // The line's order runs from before the first message: every count is the order's, and the counts'
  // trace grows over the run (the event time of a run is shorter than the 60 s count period).
  const answer = await fetch(`${url}/api/v1/inbound/erp`, {
    method: 'POST',
    headers: { authorization: 'Bearer erp-token', 'content-type': 'application/json' },
    body: runningOrder('PACK-L1', new Date(start - 1000).toISOString()),
  });
  if (answer.status !== 202) throw new Error(`the order was answered ${answer.status}`);
  for (;;) {
    const states = await Promise.all(UNITS.map((unit) => admin(`/api/v1/equipment/${unit}/state`)));
    if (states.every((state) => state['runningOrder'])) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }

  // One publisher per edge node, as each machine's gateway has its own connection.
  const clients = await Promise.all(
    UNITS.map((unit) =>
      mqtt.connectAsync(broker.url, { clientId: `bench-${edgeOf(unit)}`, protocolVersion: broker.protocolVersion }),
    ),
  );
  const publish = (unit: number, type: string, seq: number, metrics: WireMetric[], device = true) =>
    clients[unit]!.publishAsync(
      `spBv1.0/packaging/${type}/${edgeOf(UNITS[unit]!)}${device ? '/device' : ''}`,
      Buffer.from(encodeSparkplug({ timestamp: start, seq, metrics })),
      { qos: 1 },
    );
  for (let unit = 0; unit < UNITS.length; unit += 1) {
    await publish(unit, 'NBIRTH', 0, [{ name: 'bdSeq', type: 'Int64', value: 0, timestamp: start }], false);
    await publish(
      unit,
      'DBIRTH',
      1,
      METRICS.map((m) => ({ name: m.name, alias: m.alias, type: 'UInt32', value: m.name === 'State' ? 6 : m.name === 'Mode' ? 1 : 0, timestamp: start })), // prettier-ignore
    );
  }
  // The last good count each unit will show: when every unit shows it, every signal is applied.
  let lastGood = 0;
  for (let n = 1; n <= perUnit; n += 1) if (n % 500 !== 250 && n % 500 !== 260) lastGood = n % 65536;
  await new Promise((resolve) => setTimeout(resolve, 1000));

  const meter = new CpuMeter({
    hub: [child.pid!],
    redis: [redisProcess],
    'generator + broker + target': [process.pid],
  });
  meter.start();
  const started = performance.now();
  // Every unit's edge node publishes its messages in order, 2 ms of event time apart, each QoS 1
  // publish awaited in a window of 100 (as a gateway's in-flight limit).
  const intervalMs = offered ? (1000 * UNITS.length * metricsPerMessage) / offered : 0;
  await Promise.all(
    UNITS.map(async (_unit, unit) => {
      const inFlight = new Set<Promise<unknown>>();
      for (let n = 1; n <= perUnit; n += 1) {
        if (intervalMs > 0) {
          const due = started + n * intervalMs;
          const wait = due - performance.now();
          if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
        }
        const sent = publish(unit, 'DDATA', (n + 1) % 256, dataMetrics(n, start + n * 2));
        inFlight.add(sent);
        void sent.finally(() => inFlight.delete(sent));
        if (inFlight.size >= 100) await Promise.race(inFlight);
      }
      await Promise.all(inFlight);
    }),
  );
  const published = performance.now() - started;
  for (;;) {
    const states = await Promise.all(UNITS.map((unit) => admin(`/api/v1/equipment/${unit}/state`)));
    if (states.every((state) => state['counters']?.goodCount?.value === lastGood)) break;
    if (performance.now() - started > 600_000) throw new Error('the engine did not apply every signal in 10 minutes');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const elapsed = performance.now() - started;
  const rate = signals / (elapsed / 1000);
  console.log(
    `handover: signals applied             ${rate.toFixed(0).padStart(6)} signals/s (${(elapsed / 1000).toFixed(1)} s; published at ${(signals / (published / 1000)).toFixed(0)}/s)`,
  );
  meter.report(signals);
  const [row] = await Promise.all([admin('/api/v1/equipment/FILLER-01/state')]);
  console.log(
    `  FILLER-01 last good count ${row['counters']?.goodCount?.value}, target received ${target.received.length} documents`,
  );
  console.log(`ratio handover / raw BullMQ: ${(rate / raw.rate).toFixed(2)}`);
  await Promise.all(clients.map((client) => client.endAsync()));
  child.kill('SIGTERM');
  await once(child, 'exit');
  await target.close();
  await broker.close();
  await redis.stop();
}

void main();
