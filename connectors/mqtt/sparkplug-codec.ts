/**
 * Sparkplug B payloads: protobuf decode (sparkplug-payload) into plain JSON-safe values, and the
 * rebirth command the connector sends to an edge node whose state it lost.
 */

/** A metric as sparkplug-payload reads and writes it (`type` is the datatype name, e.g. `Int64`). */
export interface WireMetric {
  name?: string | null;
  alias?: unknown;
  timestamp?: unknown;
  type: string;
  value: unknown;
  isHistorical?: boolean | null;
}

/** A payload as sparkplug-payload reads and writes it; 64-bit fields come back as Long objects. */
export interface WirePayload {
  timestamp?: unknown;
  seq?: unknown;
  metrics?: WireMetric[] | null;
}

interface SparkplugPayloadModule {
  get(
    namespace: string,
  ): { encodePayload(payload: WirePayload): Uint8Array; decodePayload(bytes: Uint8Array): WirePayload } | null;
}

// sparkplug-payload's own .d.ts does not compile with skipLibCheck off (its `import Long from 'long'`
// resolves to the hoisted long@5, whose types differ: TS2702), so it is loaded untyped and typed above.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const sparkplugPayload = require('sparkplug-payload') as SparkplugPayloadModule;
const codec = sparkplugPayload.get('spBv1.0');
if (!codec) throw new Error('sparkplug-payload does not know the spBv1.0 namespace');
const sparkplug = codec;

/** One metric with JSON-safe values: 64-bit integers as decimal strings, times as ISO 8601. */
export interface PlainMetric {
  name?: string;
  alias?: number;
  datatype: string;
  value: unknown;
  /** The metric's timestamp, else the payload's; null when neither is set. */
  timestamp: string | null;
  historical?: boolean;
}

/** A decoded Sparkplug B payload. */
export interface PlainPayload {
  timestamp: string | null;
  seq?: number;
  metrics: PlainMetric[];
}

/** protobufjs hands 64-bit fields out as Long objects (of whichever copy of `long` it found). */
interface LongLike {
  low: number;
  high: number;
  unsigned: boolean;
}

function isLong(value: unknown): value is LongLike {
  return typeof value === 'object' && value !== null && 'low' in value && 'high' in value && 'unsigned' in value;
}

function toBigInt(value: unknown, signed: boolean): bigint | undefined {
  let raw: bigint;
  if (isLong(value)) raw = (BigInt(value.high >>> 0) << 32n) | BigInt(value.low >>> 0);
  else if (typeof value === 'number' && Number.isFinite(value)) raw = BigInt(Math.trunc(value));
  else return undefined;
  return signed ? BigInt.asIntN(64, raw) : BigInt.asUintN(64, raw);
}

function toNumber(value: unknown): number | undefined {
  const big = toBigInt(value, false);
  return big === undefined ? undefined : Number(big);
}

function toIso(value: unknown): string | null {
  const ms = toNumber(value);
  return ms === undefined ? null : new Date(ms).toISOString();
}

/** The shortest decimal that reads back as the same float32 (12.1, not 12.100000381469727). */
function shortFloat(value: number): number {
  if (!Number.isFinite(value)) return value;
  for (let digits = 1; digits <= 9; digits += 1) {
    const candidate = Number(value.toPrecision(digits));
    if (Math.fround(candidate) === value) return candidate;
  }
  return value;
}

/** Nested values (DataSet cells, templates, property sets): Longs become strings, bytes base64. */
function plainDeep(value: unknown): unknown {
  if (isLong(value)) return String(toBigInt(value, !value.unsigned));
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (Array.isArray(value)) return value.map(plainDeep);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, plainDeep(inner)]));
  }
  return value;
}

/** Converts a metric value by its Sparkplug datatype. */
export function plainValue(datatype: string, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  switch (datatype) {
    case 'Int64':
      return String(toBigInt(value, true));
    case 'UInt64':
      return String(toBigInt(value, false));
    case 'UInt32':
      // sparkplug-payload's Long.toInt() would turn values above 2^31 negative.
      return Number(BigInt.asUintN(32, toBigInt(value, false) ?? 0n));
    case 'DateTime':
      return toIso(value);
    case 'Float':
      return typeof value === 'number' ? shortFloat(value) : value;
    case 'Bytes':
    case 'File':
      return value instanceof Uint8Array ? Buffer.from(value).toString('base64') : plainDeep(value);
    default:
      return plainDeep(value);
  }
}

function plainMetric(metric: WireMetric, payloadTimestamp: string | null): PlainMetric {
  const datatype = String(metric.type);
  const alias = metric.alias === null || metric.alias === undefined ? undefined : toNumber(metric.alias);
  return {
    ...(metric.name ? { name: metric.name } : {}),
    ...(alias !== undefined ? { alias } : {}),
    datatype,
    value: plainValue(datatype, metric.value),
    timestamp: metric.timestamp === null || metric.timestamp === undefined ? payloadTimestamp : toIso(metric.timestamp),
    ...(metric.isHistorical ? { historical: true } : {}),
  };
}

/** Decodes a Sparkplug B protobuf payload; throws on bytes that are not one. */
export function decodeSparkplug(bytes: Uint8Array): PlainPayload {
  const payload = sparkplug.decodePayload(bytes);
  const timestamp = payload.timestamp === null || payload.timestamp === undefined ? null : toIso(payload.timestamp);
  const seq = payload.seq === null || payload.seq === undefined ? undefined : toNumber(payload.seq);
  return {
    timestamp,
    ...(seq !== undefined ? { seq } : {}),
    metrics: (payload.metrics ?? []).map((metric) => plainMetric(metric, timestamp)),
  };
}

/** Encodes a Sparkplug B payload (used for commands, and by tests to publish samples). */
export function encodeSparkplug(payload: WirePayload): Uint8Array {
  return sparkplug.encodePayload(payload);
}

/** The NCMD payload that asks an edge node to publish its births again. */
export function rebirthCommand(now: number = Date.now()): Uint8Array {
  return encodeSparkplug({
    timestamp: now,
    metrics: [{ name: 'Node Control/Rebirth', type: 'Boolean', value: true, timestamp: now }],
  });
}
