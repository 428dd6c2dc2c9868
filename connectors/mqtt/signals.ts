/**
 * Signal bindings of the MQTT connector: which Sparkplug metric or JSON topic carries which signal
 * of which piece of equipment. A bound value is emitted as the same signal message the OPC UA
 * connector emits (`kind: "signal"`, `equipmentId`, `signal`, `value`, `quality`,
 * `sourceTimestamp`), so the context engine takes a line's signals alike from either connector.
 */
import { Type, type Static } from '@sinclair/typebox';
import type { Problem } from '../../schemas/problem';
import type { SignalMessage as SparkplugSignal } from './sparkplug';

const Binding = Type.Object(
  {
    node: Type.Optional(
      Type.String({
        pattern: '^[^/+#]+/[^/+#]+(/[^/+#]+)?$',
        description: 'Sparkplug: the edge node or device the metric belongs to, as group/edgeNode[/device]',
        examples: ['packaging/line1/capper'],
      }),
    ),
    metric: Type.Optional(
      Type.String({
        minLength: 1,
        description: 'Sparkplug: the metric name, as its birth names it',
        examples: ['State'],
      }),
    ),
    topic: Type.Optional(
      Type.String({
        minLength: 1,
        pattern: '^[^+#]*$',
        description:
          'JSON: the MQTT topic (no wildcards) of a JSON subscription whose payload is the value, a JSON scalar or an object with `value` and optional `timestamp` (ISO 8601 or epoch milliseconds) and `quality` (good, uncertain, bad)',
        examples: ['plant1/line1/filler/state'],
      }),
    ),
    equipmentId: Type.String({
      minLength: 1,
      description: 'ISA-95 equipment id the signal belongs to',
      examples: ['FILLER-01'],
    }),
    signal: Type.String({
      minLength: 1,
      description: 'Name of the signal on that equipment, as the context engine and mappings refer to it',
      examples: ['state'],
    }),
  },
  {
    additionalProperties: false,
    description:
      'A Sparkplug metric (node and metric) or a JSON topic (topic) bound to a signal of a piece of equipment',
  },
);

/** JSON Schema of the `signals` list. */
export const SignalBindings = Type.Array(Binding, {
  description:
    'Metrics and topics bound to equipment signals, each emitted as a signal message (docs/context.md). With any Sparkplug binding, only bound Sparkplug metrics are emitted, as one payload per Sparkplug message',
  examples: [
    [
      { node: 'packaging/line1/filler', metric: 'State', equipmentId: 'FILLER-01', signal: 'state' },
      { topic: 'plant1/line1/filler/state', equipmentId: 'FILLER-01', signal: 'state' },
    ],
  ],
});

/** What the schema cannot say: each binding names one source, and each source and signal is bound once. */
export function bindingProblems(bindings: readonly SignalBinding[]): Problem[] {
  const problems: Problem[] = [];
  const sources = new Set<string>();
  const signals = new Set<string>();
  bindings.forEach((binding, index) => {
    const sparkplug = binding.node !== undefined || binding.metric !== undefined;
    if (sparkplug === (binding.topic !== undefined) || (sparkplug && (!binding.node || !binding.metric))) {
      problems.push({ path: `/signals/${index}`, reason: 'give either node and metric (Sparkplug), or topic (JSON)' });
      return;
    }
    const source = binding.topic ?? `${binding.node}:${binding.metric}`;
    if (sources.has(source)) problems.push({ path: `/signals/${index}`, reason: `${source} is bound twice` });
    const signal = `${binding.equipmentId}/${binding.signal}`;
    if (signals.has(signal))
      problems.push({ path: `/signals/${index}/signal`, reason: `${signal} is bound to two sources` });
    sources.add(source);
    signals.add(signal);
  });
  return problems;
}

export type SignalBinding = Static<typeof SignalBindings>[number];

type Quality = 'good' | 'uncertain' | 'bad';

/** What either kind of binding emits. */
export interface BoundSignalMessage {
  kind: 'signal';
  equipmentId: string;
  signal: string;
  value: unknown;
  quality: Quality;
  /** ISO 8601 UTC, as the device stamped the value; null when it gave none. */
  sourceTimestamp: string | null;
  protocol: 'sparkplug' | 'mqtt';
  /** Where it came from: the Sparkplug metric (`group/edge[/device]:metric`) or the MQTT topic. */
  source: string;
  datatype?: string;
  seq?: number | null;
}

/** The bindings of one connector, looked up by Sparkplug metric and by topic. */
export class SignalIndex {
  private readonly metrics = new Map<string, SignalBinding>();
  private readonly topics = new Map<string, SignalBinding>();

  constructor(bindings: readonly SignalBinding[]) {
    for (const binding of bindings)
      if (binding.topic !== undefined) this.topics.set(binding.topic, binding);
      else this.metrics.set(JSON.stringify([binding.node, binding.metric]), binding);
  }

  /** True when Sparkplug metrics are bound: only those are emitted then. */
  get bindsSparkplug(): boolean {
    return this.metrics.size > 0;
  }

  /** The signal messages of a Sparkplug message's bound metrics (as the tracker resolved them), in order. */
  sparkplug(metrics: readonly SparkplugSignal[]): BoundSignalMessage[] {
    const messages: BoundSignalMessage[] = [];
    for (const metric of metrics) {
      const node = `${metric.groupId}/${metric.edgeNodeId}${metric.deviceId === undefined ? '' : `/${metric.deviceId}`}`;
      const binding = this.metrics.get(JSON.stringify([node, metric.metric]));
      if (!binding) continue;
      messages.push({
        kind: 'signal',
        equipmentId: binding.equipmentId,
        signal: binding.signal,
        value: metric.value,
        // Sparkplug's is_null: the device has no value for it.
        quality: metric.value === null ? 'bad' : 'good',
        sourceTimestamp: metric.timestamp,
        protocol: 'sparkplug',
        source: `${node}:${metric.metric}`,
        datatype: metric.datatype,
        seq: metric.seq,
      });
    }
    return messages;
  }

  /** The signal message of a JSON payload on a bound topic; undefined when the topic is not bound or the payload is not JSON. */
  topic(topic: string, payload: string): BoundSignalMessage | undefined {
    const binding = this.topics.get(topic);
    if (!binding) return undefined;
    let parsed: unknown;
    try {
      parsed = JSON.parse(payload);
    } catch {
      return undefined;
    }
    const object = typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) && 'value' in parsed;
    const fields = object ? (parsed as { value: unknown; timestamp?: unknown; quality?: unknown }) : undefined;
    const quality = fields?.quality;
    return {
      kind: 'signal',
      equipmentId: binding.equipmentId,
      signal: binding.signal,
      value: fields ? fields.value : parsed,
      quality: quality === 'uncertain' || quality === 'bad' ? quality : 'good',
      sourceTimestamp: timestampOf(fields?.timestamp),
      protocol: 'mqtt',
      source: topic,
    };
  }
}

/** An ISO 8601 string or epoch milliseconds as ISO 8601 UTC; anything else is no time stamp. */
function timestampOf(value: unknown): string | null {
  const ms = typeof value === 'number' ? value : typeof value === 'string' ? Date.parse(value) : Number.NaN;
  return Number.isFinite(ms) ? new Date(ms).toISOString() : null;
}
