/**
 * The plant's MQTT job end to end: QoS 1 counter messages on a real Mosquitto (its default queue
 * limit, 1 000 per client) → Handover's MQTT connector → the JSONata mapping in bench/mappings →
 * one POST per ProductionConfirmation to an HTTP target. Scenarios: (a) full speed, (b) paced,
 * (c) paced with a kill -9 of the hub mid-stream and an immediate restart, (d) paced with a broker
 * restart (`persistence true`) mid-stream; next to a bare MQTT.js subscriber that POSTs each message
 * straight to the target. Exits 1 when (b), (c) or (d) lose a message or deliver one the target
 * cannot recognise as a repeat.
 * Run: npm run build && npx tsx bench/mqtt-throughput.ts [seconds=30] [msg/s=1000] [scenarios=abcd]
 * Scenario `i`: only the intake-only run of (a). BENCH_FULL_COUNT: messages of the full-speed runs
 * (20 000); BENCH_RECEIVE_WINDOW: the connector's receiveWindow; BENCH_PROFILE=DIR: CPU profiles of the hub;
 * BENCH_WORKERS=n: the hub as one `--role api` process (the connector, which (c) kills) and n `--role worker`.
 * BENCH_STANDBY=1: a second `--role api` process stands by for the connector's lease; (c) kills the
 * one receiving, the standby takes over, and the killed one is restarted as the next standby.
 */
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { Agent } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import { startProxy, startTestBroker, type TappedPacket, type TestBroker } from '../connectors/mqtt/test-broker';
import { ensureRedis } from '../hub/queue/redis-server';
import { startHttpTarget, waitFor, type HttpTarget } from '../test/support/http-target';
import { freePort, hubReady, spawnHandover } from '../test/support/hub-process';
import { repoRoot } from '../test/support/paths';
import { hubShape, percentile, postAndForget } from './support';

const seconds = Number(process.argv[2] ?? 30);
const rate = Number(process.argv[3] ?? 1000);
const scenarios = process.argv[4] ?? 'abcd';
/** Messages the full-speed run publishes. */
const fullCount = Number(process.env.BENCH_FULL_COUNT ?? 20000);
const TOPIC = 'plant1/LINE-1/FILLER-01/counter';
const CLIENT_ID = 'handover-bench';
/** Margin over the undisturbed p99 of publish → PUBACK within which a message did not wait in a backlog. */
const CAUGHT_UP_MARGIN_MS = 50;

const now = () => performance.now();

function counterMessage(seq: number): string {
  const at = new Date().toISOString();
  return JSON.stringify({ line: 'LINE-1', machine: 'FILLER-01', order: 'PO-4711', product: 'FG-100', seq, good: 1 + (seq % 7), at }); // prettier-ignore
}

const ms = (value: number | undefined) => (value === undefined || Number.isNaN(value) ? '—' : `${value.toFixed(0)} ms`);

/** A QoS 1 publisher: what the broker acknowledged, and when each message was published. */
class Feed {
  readonly sentAt = new Map<number, number>();
  readonly acked = new Set<number>();
  private next = 0;
  private constructor(private readonly client: MqttClient) {}

  static async open(url: string): Promise<Feed> {
    // Clean session; MQTT.js resends what the broker had not acknowledged after a reconnect.
    return new Feed(await connectAsync(url, { protocolVersion: 5, reconnectPeriod: 100, clientId: 'bench-feed' }));
  }

  private publishOne(): Promise<void> {
    const seq = this.next++;
    this.sentAt.set(seq, now());
    return new Promise((resolve) => {
      this.client.publish(TOPIC, counterMessage(seq), { qos: 1 }, (error) => {
        if (!error) this.acked.add(seq);
        resolve();
      });
    });
  }

  /** `perSecond` for `duration` s; `midway` runs (not awaited) halfway through. */
  async paced(perSecond: number, duration: number, midway?: () => Promise<void>): Promise<Promise<void>[]> {
    const started = now();
    const total = Math.round(perSecond * duration);
    const pending: Promise<void>[] = [];
    let disrupted: Promise<void> | undefined;
    while (this.next < total) {
      const due = Math.min(total, Math.floor(((now() - started) / 1000) * perSecond));
      while (this.next < due) pending.push(this.publishOne());
      if (midway && !disrupted && this.next >= total / 2) disrupted = midway();
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await Promise.race([Promise.all(pending), new Promise((resolve) => setTimeout(resolve, 30000))]);
    return disrupted ? [disrupted] : [];
  }

  /** As fast as the broker acknowledges, `inFlight` publishes outstanding. */
  async full(count: number, inFlight = 1000): Promise<number> {
    const started = now();
    await Promise.all(
      Array.from({ length: inFlight }, async () => {
        while (this.next < count) await this.publishOne();
      }),
    );
    return count / ((now() - started) / 1000);
  }

  close(): Promise<void> {
    return this.client.endAsync();
  }
}

/** What the target received: the first arrival of each counter message, and under which keys. */
class Arrivals {
  readonly firstAt = new Map<number, number>();
  readonly keys = new Map<number, Set<string>>();
  requests = 0;

  constructor(target: HttpTarget) {
    target.respond = (received) => {
      // The target keeps every request; this run counts them instead.
      target.received.length = 0;
      this.requests += 1;
      const body = JSON.parse(received.body) as { objectKey?: string; seq?: number };
      const seq = body.objectKey === undefined ? body.seq! : Number(body.objectKey.split('-').pop());
      if (!this.firstAt.has(seq)) this.firstAt.set(seq, now());
      const keys = this.keys.get(seq) ?? new Set<string>();
      keys.add(String(received.headers['idempotency-key']));
      this.keys.set(seq, keys);
      return 200;
    };
  }

  /** The same message delivered under more than one Idempotency-Key: a duplicate the target cannot recognise. */
  get unrecognisable(): number {
    let extra = 0;
    for (const keys of this.keys.values()) extra += keys.size - 1;
    return extra;
  }
}

/** Watches the hub's connection to the broker: its CONNECTs, SUBSCRIBEs, SUBACKs and each PUBACK. */
class Wire {
  readonly connects: number[] = [];
  readonly subscribes: number[] = [];
  readonly subacks: number[] = [];
  /** When the hub acknowledged each message first, and the latest acknowledgement. */
  readonly takenAt = new Map<number, number>();
  private readonly inbound = new Set<number>();
  private readonly seqOf = new Map<string, number>();
  /** Each PUBACK: when, and how long its message had waited since it was published. */
  readonly pubacks: { at: number; waited: number }[] = [];

  constructor(private readonly feed: () => Feed | undefined) {}

  readonly tap = (packet: TappedPacket) => {
    if (packet.type === 1 && packet.clientId === CLIENT_ID) {
      this.inbound.add(packet.connection);
      this.connects.push(packet.at);
    }
    if (!this.inbound.has(packet.connection)) return;
    const id = `${packet.connection}/${packet.packetId}`;
    if (packet.type === 8) this.subscribes.push(packet.at);
    else if (packet.type === 9) this.subacks.push(packet.at);
    else if (packet.type === 3 && packet.from === 'broker' && packet.payload) {
      this.seqOf.set(id, (JSON.parse(packet.payload.toString()) as { seq: number }).seq);
    } else if (packet.type === 4 && packet.from === 'client') {
      const seq = this.seqOf.get(id);
      if (seq === undefined) return;
      this.seqOf.delete(id);
      if (!this.takenAt.has(seq)) this.takenAt.set(seq, packet.at);
      this.pubacks.push({ at: packet.at, waited: packet.at - (this.feed()?.sentAt.get(seq) ?? packet.at) });
    }
  };

  /** The p99 of publish → PUBACK before `until`: how long a message waits when nothing is disturbed. */
  undisturbedWait(until: number): number {
    const waits = this.pubacks.filter((p) => p.at < until).map((p) => p.waited);
    return percentile(
      waits.sort((a, b) => a - b),
      99,
    );
  }

  /** The first time after `since` the hub took a message that waited no longer than `normal` + a margin. */
  caughtUpAfter(since: number, normal: number): number | undefined {
    return this.pubacks.find((p) => p.at > since && p.waited <= normal + CAUGHT_UP_MARGIN_MS)?.at;
  }
}

/** One scenario's broker, Redis, target, proxy and hub process. */
class Stage {
  feed: Feed | undefined;
  readonly wire = new Wire(() => this.feed);
  hub: ChildProcess | undefined;
  /** BENCH_STANDBY=1: an api process waiting for the connector's lease. */
  standby: ChildProcess | undefined;
  /** BENCH_WORKERS=n: the hub as one `--role api` (the connector: what a kill -9 hits) and n workers. */
  private readonly workers: ChildProcess[] = [];
  private hubUrl = '';
  private role: 'all' | 'api' = 'all';
  private configFile = '';

  private constructor(
    readonly broker: TestBroker,
    readonly target: HttpTarget,
    readonly arrivals: Arrivals,
    private readonly redis: Awaited<ReturnType<typeof ensureRedis>>,
    private readonly dir: string,
    private proxyClose: () => Promise<void> = async () => undefined,
  ) {}

  /** `queueLimit`: Mosquitto's max_queued_messages, its default unless a run measures capacity (0: no limit). */
  static async open(persistence: boolean, queueLimit = 1000): Promise<Stage> {
    const broker = await startTestBroker({ maxQueuedMessages: queueLimit, persistence });
    if (broker.kind !== 'mosquitto') throw new Error('the benchmark needs Mosquitto (apt-get install mosquitto)');
    const dir = mkdtempSync(join(tmpdir(), 'handover-bench-mqtt-'));
    const redis = await ensureRedis({ dataDir: join(dir, 'redis') });
    const target = await startHttpTarget();
    const stage = new Stage(broker, target, new Arrivals(target), redis, dir);
    const proxy = await startProxy(broker.port, stage.wire.tap);
    stage.proxyClose = () => proxy.close();
    stage.configFile = join(dir, 'hub.yaml');
    writeFileSync(
      stage.configFile,
      `systems:
  - { id: line, name: Line 1 machines, processOwner: Production, technicalOwner: Automation }
  - { id: mes, name: MES, processOwner: Production, technicalOwner: IT }
ownership:
  ProductionConfirmation: { owner: line }
connectors:
  - id: line-broker
    kind: mqtt
    config:
      url: ${proxy.url}
      clientId: ${CLIENT_ID}
      system: line
      subscriptions: [{ topic: "plant1/+/+/counter", format: json, qos: 1 }]${process.env.BENCH_RECEIVE_WINDOW ? `\n      receiveWindow: ${process.env.BENCH_RECEIVE_WINDOW}` : ''}
routes:
  - { id: confirmations-to-mes, target: mes, types: [ProductionConfirmation], url: "${target.url}/confirmations", timeoutMs: 5000 }
`,
    );
    return stage;
  }

  /** Spawns the hub from the build; resolves at once (the caller waits for what it needs). */
  async spawnHub(role = this.role): Promise<number> {
    this.role = role;
    const port = await freePort();
    this.hubUrl = `http://127.0.0.1:${port}`;
    const workers = role === 'all' ? Number(process.env.BENCH_WORKERS ?? 0) : 0;
    while (this.workers.length < workers) this.workers.push(this.spawnRole('worker', 0));
    const spawnedAt = now();
    this.hub = this.spawnRole(this.receivingRole(), port);
    return spawnedAt;
  }

  /** The role of the process that receives: an api beside the workers, or the whole hub. */
  private receivingRole(): string {
    return this.workers.length > 0 ? 'api' : this.role;
  }

  private spawnRole(role: string, port: number): ChildProcess {
    return spawnHandover(['start', '--config', this.configFile, '--port', String(port), '--role', role], {
      env: {
        ...process.env,
        HANDOVER_DATA_DIR: join(this.dir, 'hub'),
        HANDOVER_MAPPINGS_DIR: join(repoRoot, 'bench', 'mappings'),
        REDIS_URL: this.redis.url,
        LOG_LEVEL: process.env.LOG_LEVEL ?? 'error',
      },
      fromBuild: true,
      nodeOptions: process.env.BENCH_PROFILE ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_PROFILE] : [],
    });
  }

  /** Start-up as the wire and the API see it: spawn → CONNECT, → SUBACK, → /readyz answers. */
  async startHub(role: 'all' | 'api' = 'all'): Promise<{ connect: number; suback: number; ready: number }> {
    const before = { connects: this.wire.connects.length, subacks: this.wire.subacks.length };
    const spawnedAt = await this.spawnHub(role);
    await hubReady(this.hubUrl, 30000);
    const ready = now() - spawnedAt;
    await waitFor(() => this.wire.subacks.length > before.subacks, 30000, 'the hub subscribed');
    if (process.env.BENCH_STANDBY === '1') {
      const url = await this.spawnStandby();
      await hubReady(url, 30000);
    }
    return {
      connect: this.wire.connects[before.connects]! - spawnedAt,
      suback: this.wire.subacks[before.subacks]! - spawnedAt,
      ready,
    };
  }

  /**
   * A second process that stands by for the lease, of the role of the one it would replace (an api,
   * or with no BENCH_WORKERS a whole hub, which also runs the workers); its URL.
   */
  private async spawnStandby(): Promise<string> {
    const port = await freePort();
    this.standby = this.spawnRole(this.receivingRole(), port);
    return `http://127.0.0.1:${port}`;
  }

  /**
   * kill -9 of the process receiving, and a new one at once, as systemd's Restart=always does; with
   * a standby, the standby receives next and the new process stands by.
   */
  async killAndRestart(): Promise<number> {
    const hub = this.hub!;
    const killedAt = now();
    hub.kill('SIGKILL');
    await once(hub, 'exit');
    if (this.standby) {
      this.hub = this.standby;
      await this.spawnStandby();
    } else {
      await this.spawnHub();
    }
    return killedAt;
  }

  async close(): Promise<void> {
    await this.feed?.close();
    for (const child of [this.hub, this.standby, ...this.workers])
      if (child && child.exitCode === null) {
        child.kill('SIGTERM');
        await once(child, 'exit');
      }
    await this.proxyClose();
    await this.target.close();
    await this.broker.close();
    await this.redis.stop();
  }
}

/** Waits until the target has every acknowledged message, or nothing arrived for 20 s. */
async function delivered(stage: Stage, feed: Feed): Promise<number> {
  let last = stage.arrivals.firstAt.size;
  let lastChange = now();
  while (![...feed.acked].every((seq) => stage.arrivals.firstAt.has(seq))) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    if (stage.arrivals.firstAt.size !== last) {
      last = stage.arrivals.firstAt.size;
      lastChange = now();
    } else if (now() - lastChange > 20000) break;
  }
  return Math.max(...stage.arrivals.firstAt.values());
}

interface Outcome {
  acked: number;
  delivered: number;
  lost: number;
  unrecognisable: number;
  p50: number;
  p99: number;
}

function outcome(feed: Feed, arrivals: Arrivals): Outcome {
  const latencies = [...arrivals.firstAt].map(([seq, at]) => at - feed.sentAt.get(seq)!).sort((a, b) => a - b);
  const lost = [...feed.acked].filter((seq) => !arrivals.firstAt.has(seq)).length;
  return {
    acked: feed.acked.size,
    delivered: arrivals.firstAt.size,
    lost,
    unrecognisable: arrivals.unrecognisable,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
  };
}

function line(name: string, result: Outcome, extra = ''): void {
  console.log(
    `${name.padEnd(40)} acked ${String(result.acked).padStart(6)}  delivered ${String(result.delivered).padStart(6)}  ` +
      `lost ${String(result.lost).padStart(5)}  unrecognisable duplicates ${result.unrecognisable}  ` +
      `p50 ${ms(result.p50)}  p99 ${ms(result.p99)}${extra}`,
  );
}

/** The baseline: a bare MQTT.js QoS 1 subscriber that POSTs every message straight to the target. */
async function baseline(full: boolean): Promise<void> {
  const stage = await Stage.open(false, full ? 0 : 1000);
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const counters = new URL('/counters', stage.target.url);
  const subscriber = await connectAsync(stage.broker.url, { protocolVersion: 5, clientId: 'bench-baseline', clean: false, properties: { sessionExpiryInterval: 600 } }); // prettier-ignore
  subscriber.on('message', (_topic, payload) => {
    const body = payload.toString();
    const seq = (JSON.parse(body) as { seq: number }).seq;
    const headers = { 'content-type': 'application/json', 'idempotency-key': `baseline-${seq}` };
    postAndForget(agent, counters, body, headers);
  });
  await subscriber.subscribeAsync('plant1/+/+/counter', { qos: 1 });
  try {
    const feed = (stage.feed = await Feed.open(stage.broker.url));
    const started = now();
    if (full) {
      const published = await feed.full(fullCount);
      const last = await delivered(stage, feed);
      line('(a) baseline: subscriber → POST, full speed', outcome(feed, stage.arrivals), `  published ${published.toFixed(0)} msg/s, delivered ${(stage.arrivals.firstAt.size / ((last - started) / 1000)).toFixed(0)} msg/s`); // prettier-ignore
    } else {
      await feed.paced(rate, seconds);
      await delivered(stage, feed);
      line(`(b) baseline: subscriber → POST, ${rate}/s`, outcome(feed, stage.arrivals));
    }
  } finally {
    await subscriber.endAsync();
    agent.destroy();
    await stage.close();
  }
}

/**
 * Full speed: what the consumer sustains, on a broker without a queue limit (with one, a publisher
 * faster than the consumer loses whatever passes it). With role `api` the hub only takes messages
 * in (no workers): what the MQTT side alone sustains, PUBACKed once queued.
 */
async function fullSpeed(role: 'all' | 'api'): Promise<void> {
  const stage = await Stage.open(false, 0);
  try {
    await stage.startHub(role);
    const feed = (stage.feed = await Feed.open(stage.broker.url));
    const started = now();
    const published = await feed.full(fullCount);
    // Taken in: every message the broker acknowledged and did not drop has been PUBACKed by the hub.
    let taken = -1;
    while (stage.wire.takenAt.size !== taken) {
      taken = stage.wire.takenAt.size;
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }
    const intake = taken / ((Math.max(...stage.wire.takenAt.values()) - started) / 1000);
    const rates = `published ${published.toFixed(0)} msg/s, taken in (PUBACKed) ${intake.toFixed(0)} msg/s`;
    if (role === 'api') {
      console.log(`${'(a) handover --role api: intake only'.padEnd(40)} taken in ${taken} of ${feed.acked.size}  ${rates}`); // prettier-ignore
      return;
    }
    const last = await delivered(stage, feed);
    const result = outcome(feed, stage.arrivals);
    line('(a) handover, full speed', result, `  ${rates}, delivered ${(result.delivered / ((last - started) / 1000)).toFixed(0)} msg/s`); // prettier-ignore
  } finally {
    await stage.close();
  }
}

/** (b), (c), (d): `rate` msg/s for `seconds` s, with `disruption` halfway. */
async function paced(name: string, disruption?: 'kill' | 'broker'): Promise<Outcome> {
  const stage = await Stage.open(disruption === 'broker');
  try {
    const start = await stage.startHub();
    if (!disruption) console.log(`    start-up: spawn → CONNECT ${ms(start.connect)}, → SUBACK ${ms(start.suback)}, → /readyz ${ms(start.ready)}`); // prettier-ignore
    const feed = (stage.feed = await Feed.open(stage.broker.url));
    let recovery = '';
    const midway = async () => {
      const { wire } = stage;
      const before = { connects: wire.connects.length, subacks: wire.subacks.length };
      const normal = wire.undisturbedWait(now());
      let from: number;
      if (disruption === 'kill') {
        from = await stage.killAndRestart();
      } else {
        from = now();
        await stage.broker.stop();
        await stage.broker.start();
        recovery += `broker down ${ms(now() - from)}, `;
      }
      await waitFor(() => wire.connects.length > before.connects, 30000, 'the hub back on the broker');
      const connected = wire.connects[before.connects]! - from;
      const suback = wire.subacks.length > before.subacks ? wire.subacks[before.subacks]! - from : undefined;
      const drained = () => wire.caughtUpAfter(from + connected, normal);
      await waitFor(drained, 60000, 'the backlog drained').catch(() => undefined);
      const caughtUp = drained();
      recovery += `publish → PUBACK p99 before ${ms(normal)}, `;
      const what = disruption === 'kill' ? 'kill' : 'stop';
      recovery += `${what} → CONNECT ${ms(connected)}${suback === undefined ? '' : `, → SUBACK ${ms(suback)}`}, → backlog drained ${ms(caughtUp === undefined ? undefined : caughtUp - from)}`; // prettier-ignore
    };
    const disruptions = await feed.paced(rate, seconds, disruption ? midway : undefined);
    await Promise.all(disruptions);
    await delivered(stage, feed);
    const result = outcome(feed, stage.arrivals);
    line(name, result);
    if (recovery) console.log(`    recovery: ${recovery}`);
    return result;
  } finally {
    await stage.close();
  }
}

async function main(): Promise<void> {
  console.log(
    `MQTT job: QoS 1 counter messages (${Buffer.byteLength(counterMessage(0))} B) → JSONata → HTTP POST; ` +
      `Mosquitto max_queued_messages 1000 (full speed: 0, to measure capacity); ${rate} msg/s for ${seconds} s; node ${process.version}; hub: ${hubShape()}`,
  );
  const results: Outcome[] = [];
  if (scenarios.includes('a')) {
    await baseline(true);
    await fullSpeed('api');
    await fullSpeed('all');
  } else if (scenarios.includes('i')) {
    await fullSpeed('api');
  }
  if (scenarios.includes('b')) {
    await baseline(false);
    results.push(await paced(`(b) handover, ${rate}/s`));
  }
  if (scenarios.includes('c')) results.push(await paced(`(c) handover, ${rate}/s, kill -9 mid-stream`, 'kill'));
  if (scenarios.includes('d')) results.push(await paced(`(d) handover, ${rate}/s, broker restart`, 'broker'));
  const failed = results.some((result) => result.lost > 0 || result.unrecognisable > 0);
  if (failed) console.log('FAIL: a paced run lost a message or delivered an unrecognisable duplicate');
  process.exit(failed ? 1 : 0);
}

void main();
