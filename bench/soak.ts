/**
 * Soak: documents offered to a hub process at a fixed rate for minutes on end, sampled every 10 s —
 * hub RSS, Redis used_memory, the hub's longest event-loop delay, store size on disk, delivered and
 * backlog — then a summary; exits 1 if any document answered 202 never reached the target.
 * Run by hand: npm run build && npx tsx bench/soak.ts [minutes=15] [docs/s=1000]
 */
import { readFileSync, readdirSync, statSync, mkdtempSync } from 'node:fs';
import { Agent, get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { ensureRedis } from '../hub/queue/redis-server';
import { startHttpTarget } from '../test/support/http-target';
import { ArrivalTracker, figures, paced, payload, postOrder, startHubProcess } from './support';

const minutes = Number(process.argv[2] ?? 15);
const rate = Number(process.argv[3] ?? 1000);
const SAMPLE_MS = 10_000;
/** RSS growth is judged from the first sample after warm-up (2 min, or a third of a shorter run). */
const WARM_UP_MS = Math.min(120_000, (minutes * 60_000) / 3);
/**
 * Once the offering stops, the backlog is waited for while deliveries go on arriving — until none
 * came for a minute, and for at most as long as the offering took (5 min at least).
 */
const DRAIN_IDLE_MS = 60_000;
const DRAIN_MIN_MS = 300_000;

/** /metrics over a connection of its own, kept open: a hub flooded with POSTs still answers it. */
const metricsAgent = new Agent({ keepAlive: true, maxSockets: 1 });

function scrape(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const request = get(`${url}/metrics`, { agent: metricsAgent, timeout: 8000 }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () => resolve(text));
      response.on('error', reject);
    });
    request.on('timeout', () => request.destroy(new Error('/metrics did not answer within 8 s')));
    request.on('error', reject);
  });
}

interface Sample {
  atS: number;
  rssMiB: number;
  redisMiB: number;
  loopMaxMs: number;
  /** Seconds whose longest event-loop delay passed 100 ms, since the previous sample. */
  stalls: number;
  storeMiB: number;
  sent: number;
  delivered: number;
  backlog: number;
  p99Ms: number;
}

function rssBytes(pid: number): number {
  const line = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(line?.[1] ?? NaN) * 1024;
}

/** handover.db with its -wal and -shm files. */
function storeBytes(dataDir: string): number {
  return readdirSync(dataDir)
    .filter((name) => name.startsWith('handover.db'))
    .reduce((sum, name) => sum + statSync(join(dataDir, name)).size, 0);
}

function metric(text: string, name: string): number {
  const line = new RegExp(`^${name.replace(/[{}"]/g, (c) => `\\${c}`)} (\\S+)$`, 'm').exec(text);
  return Number(line?.[1] ?? NaN);
}

const mib = (bytes: number) => bytes / 1048576;

async function main(): Promise<void> {
  const redisServer = await ensureRedis({ dataDir: mkdtempSync(join(tmpdir(), 'handover-soak-redis-')) });
  const redis = new Redis(redisServer.url, { maxRetriesPerRequest: null });
  const target = await startHttpTarget();
  const tracker = new ArrivalTracker();
  target.respond = (request) => {
    tracker.receive(request);
    return 200;
  };
  const hub = await startHubProcess(redisServer.url, target.url);
  const stopAll = async () => {
    await hub.stop();
    await target.close();
    metricsAgent.destroy();
    redis.disconnect();
    await redisServer.stop();
  };
  // Stopped by hand (Ctrl-C): no hub or redis-server is left behind.
  process.once('SIGINT', () => void stopAll().finally(() => process.exit(130)));
  console.log(
    `soak: ${minutes} min at ${rate} docs/s offered, ${Buffer.byteLength(payload(0))} B documents, hub pid ${hub.pid}, node ${process.version}`,
  );
  const storeAtStart = storeBytes(hub.dataDir);
  let sent = 0;
  const refused = new Map<string, number>();
  const unanswered = new Map<string, number>();
  let stallsBefore = 0;
  let latenciesSeen = 0;
  const samples: Sample[] = [];
  const started = performance.now();

  const sample = async (): Promise<Sample> => {
    const text = await scrape(hub.url).catch((error: unknown) => {
      console.log(`  (no /metrics: ${(error as Error).message})`);
      return '';
    });
    const stallsTotal =
      metric(text, 'handover_event_loop_delay_seconds_count') -
      metric(text, 'handover_event_loop_delay_seconds_bucket{le="0.1"}');
    const info = await redis.info('memory');
    const window = tracker.latencies.slice(latenciesSeen);
    latenciesSeen = tracker.latencies.length;
    const row: Sample = {
      atS: (performance.now() - started) / 1000,
      rssMiB: mib(rssBytes(hub.pid)),
      redisMiB: mib(Number(/^used_memory:(\d+)/m.exec(info)?.[1] ?? NaN)),
      loopMaxMs: metric(text, 'handover_process_nodejs_eventloop_lag_max_seconds') * 1000,
      stalls: stallsTotal - stallsBefore,
      storeMiB: mib(storeBytes(hub.dataDir)),
      sent,
      delivered: tracker.arrived.size,
      backlog: tracker.waiting,
      p99Ms: figures(window.length, 1, window).p99,
    };
    if (!Number.isNaN(stallsTotal)) stallsBefore = stallsTotal;
    samples.push(row);
    console.log(
      [
        row.atS.toFixed(0).padStart(5),
        row.rssMiB.toFixed(1).padStart(8),
        row.redisMiB.toFixed(1).padStart(8),
        row.loopMaxMs.toFixed(1).padStart(8),
        String(row.stalls).padStart(6),
        row.storeMiB.toFixed(1).padStart(9),
        String(row.sent).padStart(9),
        String(row.delivered).padStart(9),
        String(row.backlog).padStart(8),
        row.p99Ms.toFixed(1).padStart(8),
      ].join(' '),
    );
    return row;
  };

  console.log('  t/s  RSS/MiB redis/MiB loop/ms stalls store/MiB      sent delivered  backlog  p99/ms');
  await sample();
  const sampler = setInterval(
    () => void sample().catch((error: unknown) => console.error('sample failed', error)),
    SAMPLE_MS,
  );
  const offering = await paced(
    rate,
    Math.round(rate * minutes * 60),
    async (index) => {
      const before = performance.now();
      let answer: Awaited<ReturnType<typeof postOrder>>;
      try {
        answer = await postOrder(hub.url, payload(index));
      } catch (error) {
        // No answer (a connect timeout on a flooded hub): the hub may still have taken it.
        const why = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
        unanswered.set(why, (unanswered.get(why) ?? 0) + 1);
        return;
      }
      if (answer.messageId === undefined) {
        const why = `${answer.status} ${answer.code ?? ''}`.trim();
        refused.set(why, (refused.get(why) ?? 0) + 1);
        return;
      }
      const { messageId } = answer;
      sent += 1;
      tracker.sent(messageId, before);
    },
    { maxInFlight: 2048 },
  );
  const offeredFor = (performance.now() - started) / 1000;
  const drainUntil = Date.now() + Math.max(DRAIN_MIN_MS, offeredFor * 1000);
  let lastProgress = Date.now();
  let seen = tracker.arrived.size;
  while (tracker.waiting > 0 && Date.now() - lastProgress < DRAIN_IDLE_MS && Date.now() < drainUntil) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    if (tracker.arrived.size > seen) [seen, lastProgress] = [tracker.arrived.size, Date.now()];
  }
  const cutShort = tracker.waiting > 0 && Date.now() >= drainUntil;
  const drainedFor = (performance.now() - started) / 1000 - offeredFor;
  clearInterval(sampler);
  const last = await sample();

  const afterWarmUp = samples.filter((row) => row.atS * 1000 >= WARM_UP_MS);
  const base = afterWarmUp[0] ?? samples[0]!;
  const peakRss = Math.max(...afterWarmUp.map((row) => row.rssMiB));
  const lost = tracker.waiting;
  const stalls = samples.reduce((sum, row) => sum + (Number.isNaN(row.stalls) ? 0 : row.stalls), 0);
  const worstLoop = Math.max(...samples.map((row) => row.loopMaxMs).filter((value) => !Number.isNaN(value)));
  const all = figures(tracker.latencies.length, 1, tracker.latencies);
  const storeGrowth = storeBytes(hub.dataDir) - storeAtStart;
  console.log(`
offered ${offering.started} in ${offeredFor.toFixed(0)} s (${(offering.started / offeredFor).toFixed(0)} docs/s; the in-flight limit held back ${offering.heldBack} ticks)
202 answered ${sent}, refused ${[...refused].map(([why, n]) => `${n} (${why})`).join(', ') || 0}, no answer ${[...unanswered.values()].reduce((sum, n) => sum + n, 0)}${unanswered.size ? ` (${[...unanswered].map(([why, n]) => `${n} ${why}`).join(', ')})` : ''}; delivered ${tracker.arrived.size} (${tracker.unannounced} of them without a 202 the sender saw; +${tracker.duplicates} repeated); the backlog drained ${drainedFor.toFixed(0)} s after the offering
latency send → target: p50 ${all.p50.toFixed(1)} ms, p99 ${all.p99.toFixed(1)} ms
hub RSS after warm-up (${(WARM_UP_MS / 1000).toFixed(0)} s): ${base.rssMiB.toFixed(1)} → ${last.rssMiB.toFixed(1)} MiB (${(((last.rssMiB - base.rssMiB) / base.rssMiB) * 100).toFixed(1)} %), peak ${peakRss.toFixed(1)} MiB
Redis used_memory: min ${Math.min(...samples.map((row) => row.redisMiB)).toFixed(1)} MiB, max ${Math.max(...samples.map((row) => row.redisMiB)).toFixed(1)} MiB
worst event-loop delay: ${worstLoop.toFixed(1)} ms; seconds with a delay over 100 ms: ${stalls}
store: ${mib(storeGrowth).toFixed(1)} MiB for ${tracker.arrived.size} messages = ${(storeGrowth / Math.max(1, tracker.arrived.size)).toFixed(0)} bytes per message
lost (202 answered, not delivered${cutShort ? ' when the drain was cut short: lost or still queued' : ''}): ${lost}`);

  await stopAll();
  process.exit(lost > 0 ? 1 : 0);
}

void main();
