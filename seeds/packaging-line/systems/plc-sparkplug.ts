/**
 * The edge node `line1` of group `packaging`: the capper, labeler and case packer as Sparkplug B
 * devices on the plant broker. NBIRTH/DBIRTH carry every PackML metric, DDATA the changed ones by
 * alias, each stamped with plant time; bdSeq moves on with every MQTT session (its will is the
 * NDEATH), seq runs 0–255 from each NBIRTH, and a host's rebirth command is answered.
 */
import { connect, type MqttClient } from 'mqtt';
import type { SignalName, UnitSignals } from './plc-line';
import type { UnitId } from './plc-plan';

export const GROUP = 'packaging';
export const EDGE_NODE = 'line1';

/** The Sparkplug device of each unit on this edge node. */
export const DEVICES = { 'CAPPER-01': 'capper', 'LABELER-01': 'labeler', 'CASEPACKER-01': 'casepacker' } as const;
export type EdgeUnit = keyof typeof DEVICES;
export const isEdgeUnit = (unit: UnitId): unit is EdgeUnit => unit in DEVICES;

/** The metrics of each device, in birth order, with their Sparkplug datatypes (16-bit counters). */
const METRICS: [SignalName, string][] = [
  ['State', 'Int32'],
  ['Mode', 'Int32'],
  ['GoodCount', 'UInt16'],
  ['RejectCount', 'UInt16'],
  ['StopReason', 'Int32'],
];

/** Aliases are unique across the node's devices: capper 1–5, labeler 11–15, case packer 21–25. */
function aliasOf(unit: EdgeUnit, metric: SignalName): number {
  const device = Object.keys(DEVICES).indexOf(unit);
  return device * 10 + METRICS.findIndex(([name]) => name === metric) + 1;
}

interface WireMetric {
  name?: string;
  alias?: number;
  type: string;
  value: unknown;
  timestamp?: number;
}

interface WirePayload {
  timestamp?: number;
  seq?: number;
  metrics?: WireMetric[];
}

// sparkplug-payload's own .d.ts does not compile with skipLibCheck off (connectors/mqtt/sparkplug-codec.ts
// says why), so it is loaded untyped and typed here.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const sparkplug = (require('sparkplug-payload') as { get(namespace: string): SparkplugCodec | null }).get('spBv1.0');
interface SparkplugCodec {
  encodePayload(payload: WirePayload): Uint8Array;
  decodePayload(bytes: Uint8Array): { metrics?: { name?: string | null; value?: unknown }[] | null };
}
if (!sparkplug) throw new Error('sparkplug-payload does not know the spBv1.0 namespace');
const codec = sparkplug;

export interface EdgeNodeOptions {
  url: string;
  clientId: string;
  /** The bdSeq of the first session (the last one used, plus one). */
  bdSeq: number;
  /** Each unit's tags now, and the plant time they are as of (the births carry them). */
  tags(unit: EdgeUnit): UnitSignals;
  now(): number;
  /** A session with this bdSeq is about to start (the PLC keeps it for its next start). */
  onSession(bdSeq: number): void;
  log(message: string, fields?: Record<string, unknown>): void;
}

const topicOf = (type: string, device?: string) =>
  `spBv1.0/${GROUP}/${type}/${EDGE_NODE}${device === undefined ? '' : `/${device}`}`;

/** The edge node's MQTT session and Sparkplug sequence numbers. */
export class EdgeNode {
  private client: MqttClient | undefined;
  private bdSeq: number;
  private seq = 0;
  private born = false;
  private closing: Promise<void> = Promise.resolve();
  /** The last connection error logged: a broker that stays away is logged once, not every retry. */
  private lastError: string | undefined;

  constructor(private readonly options: EdgeNodeOptions) {
    this.bdSeq = options.bdSeq % 256;
  }

  /** Whether the node is born on the broker (its DDATA go out). */
  get online(): boolean {
    return this.born;
  }

  /** Connects; the births go out once the broker accepts the session, and again after each reconnect. */
  start(): void {
    void this.closing.then(() => this.connect());
  }

  /** Sends a device's changed metrics as DDATA; while the node is not born they are in its next births. */
  update(unit: EdgeUnit, at: number, values: UnitSignals, changed: SignalName[]): void {
    if (!this.born || !this.client) return;
    const metrics = changed.map((metric) => ({
      alias: aliasOf(unit, metric),
      type: METRICS.find(([name]) => name === metric)![1],
      value: values[metric],
      timestamp: at,
    }));
    this.publish(this.client, topicOf('DDATA', DEVICES[unit]), { timestamp: at, seq: this.nextSeq(), metrics });
  }

  /** The PLC goes away: its NDEATH goes out, then the session ends. */
  down(): void {
    this.born = false;
    const client = this.client;
    this.client = undefined;
    if (!client) return;
    this.closing = this.end(client);
  }

  /** Stops for good with a clean NDEATH. */
  async stop(): Promise<void> {
    this.down();
    await this.closing;
  }

  private async end(client: MqttClient): Promise<void> {
    try {
      if (client.connected) await client.publishAsync(topicOf('NDEATH'), Buffer.from(this.death()), { qos: 1 });
    } catch (error) {
      this.options.log('mqtt: NDEATH not sent', { error: (error as Error).message });
    }
    // Without a broker there is nothing to wait for: the session ends at once, and never hangs a stop.
    const ended = client.endAsync(!client.connected).catch(() => undefined);
    await Promise.race([ended, new Promise((resolve) => setTimeout(resolve, 2000).unref())]);
    this.bdSeq = (this.bdSeq + 1) % 256;
  }

  private connect(): void {
    this.options.onSession(this.bdSeq);
    const client = connect(this.options.url, {
      clientId: this.options.clientId,
      clean: true,
      reconnectPeriod: 500,
      connectTimeout: 5000,
      will: { topic: topicOf('NDEATH'), payload: Buffer.from(this.death()), qos: 1, retain: false },
    });
    this.client = client;
    client.on('connect', () => {
      if (client !== this.client) return;
      this.lastError = undefined;
      client.subscribe(topicOf('NCMD'), { qos: 0 });
      this.births(client, 'connected');
    });
    client.on('close', () => {
      if (client !== this.client || !this.born) return;
      // The broker publishes the will; the next session is born with the next bdSeq.
      this.born = false;
      this.bdSeq = (this.bdSeq + 1) % 256;
      this.options.onSession(this.bdSeq);
      client.options.will = { topic: topicOf('NDEATH'), payload: Buffer.from(this.death()), qos: 1, retain: false };
      this.options.log('mqtt: connection lost, reconnecting', { url: this.options.url });
    });
    client.on('message', (_topic, payload) => {
      if (client !== this.client) return;
      let rebirth = false;
      try {
        rebirth = (codec.decodePayload(payload).metrics ?? []).some(
          (metric) => metric.name === 'Node Control/Rebirth' && metric.value === true,
        );
      } catch {
        return;
      }
      if (rebirth) this.births(client, 'rebirth requested');
    });
    client.on('error', (error) => {
      if (error.message === this.lastError) return;
      this.lastError = error.message;
      this.options.log('mqtt: error, retrying', { url: this.options.url, error: error.message });
    });
  }

  /** NBIRTH with bdSeq (seq 0), then each device's DBIRTH with all its metrics by name and alias. */
  private births(client: MqttClient, why: string): void {
    const at = this.options.now();
    this.seq = 0;
    this.publish(client, topicOf('NBIRTH'), {
      timestamp: at,
      seq: this.nextSeq(),
      metrics: [
        { name: 'bdSeq', type: 'Int64', value: this.bdSeq, timestamp: at },
        { name: 'Node Control/Rebirth', type: 'Boolean', value: false, timestamp: at },
      ],
    });
    for (const unit of Object.keys(DEVICES) as EdgeUnit[]) {
      const tags = this.options.tags(unit);
      this.publish(client, topicOf('DBIRTH', DEVICES[unit]), {
        timestamp: at,
        seq: this.nextSeq(),
        metrics: METRICS.map(([name, type]) => ({
          name,
          alias: aliasOf(unit, name),
          type,
          value: tags[name],
          timestamp: at,
        })),
      });
    }
    this.born = true;
    this.options.log('sparkplug: edge node born', { why, bdSeq: this.bdSeq, plantTime: new Date(at).toISOString() });
  }

  private death(): Uint8Array {
    return codec.encodePayload({
      timestamp: this.options.now(),
      metrics: [{ name: 'bdSeq', type: 'Int64', value: this.bdSeq }],
    });
  }

  private nextSeq(): number {
    const seq = this.seq;
    this.seq = (this.seq + 1) % 256;
    return seq;
  }

  private publish(client: MqttClient, topic: string, payload: WirePayload): void {
    // QoS 1 (Sparkplug asks 0): the hub's persistent session then loses nothing while it reconnects.
    client.publish(topic, Buffer.from(codec.encodePayload(payload)), { qos: 1 }, (error) => {
      if (error) this.options.log('mqtt: publish failed', { topic, error: error.message });
    });
  }
}
