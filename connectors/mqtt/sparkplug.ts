/**
 * Sparkplug B host state: per edge node the birth/death sequence (bdSeq), the message sequence
 * (seq, 0–255 wrapping), the alias → metric map from NBIRTH/DBIRTH and which devices are online.
 * Pure: it turns one decoded message into the messages to emit, a rebirth request if the node's
 * state was lost, and a commit applied only once the messages were queued.
 */
import type { PlainMetric, PlainPayload } from './sparkplug-codec';

/** A Sparkplug topic: `spBv1.0/{group}/{type}/{edge}[/{device}]`. */
export interface SparkplugTopic {
  groupId: string;
  messageType: string;
  edgeNodeId: string;
  deviceId?: string;
}

/** One metric value, as emitted to the hub. */
export interface SignalMessage {
  kind: 'signal';
  protocol: 'sparkplug';
  groupId: string;
  edgeNodeId: string;
  deviceId?: string;
  metric: string;
  alias?: number;
  value: unknown;
  datatype: string;
  timestamp: string | null;
  seq: number | null;
  historical?: boolean;
}

/** A node or device birth or death, as emitted to the hub. */
export interface LifecycleMessage {
  kind: 'lifecycle';
  protocol: 'sparkplug';
  event: 'birth' | 'death';
  groupId: string;
  edgeNodeId: string;
  deviceId?: string;
  bdSeq?: string;
  seq: number | null;
  timestamp: string | null;
}

/** What to do with one Sparkplug message. */
export interface SparkplugOutcome {
  messages: (SignalMessage | LifecycleMessage)[];
  /** Set when the edge node must be asked to rebirth (NCMD `Node Control/Rebirth`). */
  rebirth?: { groupId: string; edgeNodeId: string; reason: string };
  /** Why the message produced nothing, for debug logs. */
  ignored?: string;
  /** Applies the state change; call once the messages are durably queued. */
  commit(): void;
}

/** What the host knows about one edge node. */
export interface NodeState {
  online: boolean;
  /** Its state is not trusted (gap, unknown alias, data before birth) until it rebirths. */
  stale: boolean;
  bdSeq?: string;
  seq: number;
  aliases: Map<number, string>;
  devices: Map<string, boolean>;
  rebirthRequestedAt?: number;
}

/** A stale node that keeps sending without rebirthing is asked again after this long. */
export const REBIRTH_RETRY_MS = 10000;

const TYPES = new Set(['NBIRTH', 'NDATA', 'NDEATH', 'DBIRTH', 'DDATA', 'DDEATH', 'NCMD', 'DCMD']);

/** Parses a Sparkplug B topic; undefined for STATE and anything that is not one. */
export function parseSparkplugTopic(topic: string): SparkplugTopic | undefined {
  const [namespace, groupId, messageType, edgeNodeId, deviceId, ...rest] = topic.split('/');
  if (namespace !== 'spBv1.0' || !groupId || !messageType || !edgeNodeId || rest.length > 0) return undefined;
  if (!TYPES.has(messageType)) return undefined;
  const isDevice = messageType.startsWith('D');
  if (isDevice !== (deviceId !== undefined && deviceId !== '')) return undefined;
  return { groupId, messageType, edgeNodeId, ...(isDevice ? { deviceId } : {}) };
}

const nothing = (ignored: string): SparkplugOutcome => ({ messages: [], ignored, commit: () => undefined });

/** Tracks every edge node seen on the subscribed Sparkplug topics. */
export class SparkplugTracker {
  private readonly nodes = new Map<string, NodeState>();

  constructor(private readonly groupIds?: readonly string[]) {}

  /** The state of one edge node, if it was ever seen. */
  node(groupId: string, edgeNodeId: string): NodeState | undefined {
    return this.nodes.get(`${groupId}/${edgeNodeId}`);
  }

  /** A copy of one edge node's state, to {@link restore} if what was committed after it must be undone. */
  snapshot(groupId: string, edgeNodeId: string): NodeState | undefined {
    const state = this.node(groupId, edgeNodeId);
    return state && { ...state, aliases: new Map(state.aliases), devices: new Map(state.devices) };
  }

  /** Puts back a node's state as {@link snapshot} took it (undefined: the node was never seen). */
  restore(groupId: string, edgeNodeId: string, state: NodeState | undefined): void {
    if (state) this.nodes.set(`${groupId}/${edgeNodeId}`, state);
    else this.nodes.delete(`${groupId}/${edgeNodeId}`);
  }

  /** Decides what one decoded message means. `now` only times rebirth retries. */
  handle(topic: SparkplugTopic, payload: PlainPayload, now: number = Date.now()): SparkplugOutcome {
    if (this.groupIds && !this.groupIds.includes(topic.groupId)) return nothing('group not configured');
    switch (topic.messageType) {
      case 'NBIRTH':
        return this.nodeBirth(topic, payload);
      case 'NDEATH':
        return this.nodeDeath(topic, payload);
      case 'NCMD':
      case 'DCMD':
        return nothing('command');
      default:
        return this.sequenced(topic, payload, now);
    }
  }

  private nodeBirth(topic: SparkplugTopic, payload: PlainPayload): SparkplugOutcome {
    const bdSeq = bdSeqOf(payload);
    const aliases = new Map<number, string>();
    collectAliases(payload.metrics, aliases);
    const state: NodeState = { online: true, stale: false, seq: payload.seq ?? 0, aliases, devices: new Map() };
    if (bdSeq !== undefined) state.bdSeq = bdSeq;
    return {
      messages: [lifecycle(topic, 'birth', payload, bdSeq), ...signals(topic, payload, aliases)],
      commit: () => this.nodes.set(key(topic), state),
    };
  }

  private nodeDeath(topic: SparkplugTopic, payload: PlainPayload): SparkplugOutcome {
    const state = this.nodes.get(key(topic));
    if (!state || !state.online) return nothing('death of a node that is not online');
    const bdSeq = bdSeqOf(payload);
    // A broker sends a will late; one from an earlier session must not kill the current one.
    if (bdSeq !== state.bdSeq) return nothing(`NDEATH bdSeq ${bdSeq} does not match birth bdSeq ${state.bdSeq}`);
    return {
      messages: [lifecycle(topic, 'death', payload, bdSeq)],
      commit: () => {
        state.online = false;
        for (const device of state.devices.keys()) state.devices.set(device, false);
      },
    };
  }

  /** NDATA, DBIRTH, DDATA, DDEATH: each carries the node's next seq. */
  private sequenced(topic: SparkplugTopic, payload: PlainPayload, now: number): SparkplugOutcome {
    const state = this.nodes.get(key(topic));
    if (!state || !state.online) return this.rebirth(topic, state, now, `${topic.messageType} before NBIRTH`);
    if (state.stale) return this.rebirth(topic, state, now, 'node is stale, waiting for its rebirth');
    const seq = payload.seq;
    if (seq === state.seq) return nothing(`duplicate seq ${seq}`);
    if (seq !== (state.seq + 1) % 256) return this.rebirth(topic, state, now, `seq gap: ${state.seq} → ${seq}`);
    const advance = () => {
      state.seq = seq;
    };
    const device = topic.deviceId;
    if (topic.messageType === 'DBIRTH' && device !== undefined) {
      const aliases = new Map(state.aliases);
      collectAliases(payload.metrics, aliases);
      return {
        messages: [lifecycle(topic, 'birth', payload), ...signals(topic, payload, aliases)],
        commit: () => {
          advance();
          state.aliases = aliases;
          state.devices.set(device, true);
        },
      };
    }
    if (device !== undefined && state.devices.get(device) !== true) {
      if (topic.messageType === 'DDEATH')
        return { ...nothing('death of a device that is not online'), commit: advance };
      return this.rebirth(topic, state, now, `DDATA from device ${device} before its DBIRTH`);
    }
    if (topic.messageType === 'DDEATH' && device !== undefined) {
      return {
        messages: [lifecycle(topic, 'death', payload)],
        commit: () => {
          advance();
          state.devices.set(device, false);
        },
      };
    }
    const unknown = payload.metrics.find((m) => m.name === undefined && !state.aliases.has(m.alias ?? -1));
    if (unknown) return this.rebirth(topic, state, now, `unknown alias ${unknown.alias}`);
    return { messages: signals(topic, payload, state.aliases), commit: advance };
  }

  /** Marks the node stale and asks for one rebirth, again only after {@link REBIRTH_RETRY_MS}. */
  private rebirth(topic: SparkplugTopic, state: NodeState | undefined, now: number, reason: string): SparkplugOutcome {
    const asked = state?.rebirthRequestedAt;
    const ask = asked === undefined || now - asked >= REBIRTH_RETRY_MS;
    return {
      messages: [],
      ignored: reason,
      ...(ask ? { rebirth: { groupId: topic.groupId, edgeNodeId: topic.edgeNodeId, reason } } : {}),
      commit: () => {
        const node: NodeState = state ?? { online: false, stale: true, seq: 0, aliases: new Map(), devices: new Map() };
        node.stale = true;
        if (ask) node.rebirthRequestedAt = now;
        this.nodes.set(key(topic), node);
      },
    };
  }
}

function key(topic: SparkplugTopic): string {
  return `${topic.groupId}/${topic.edgeNodeId}`;
}

function bdSeqOf(payload: PlainPayload): string | undefined {
  const metric = payload.metrics.find((m) => m.name === 'bdSeq');
  return metric === undefined || metric.value === null ? undefined : String(metric.value);
}

function collectAliases(metrics: PlainMetric[], aliases: Map<number, string>): void {
  for (const metric of metrics) {
    if (metric.alias !== undefined && metric.name !== undefined) aliases.set(metric.alias, metric.name);
  }
}

function origin(topic: SparkplugTopic) {
  return {
    protocol: 'sparkplug' as const,
    groupId: topic.groupId,
    edgeNodeId: topic.edgeNodeId,
    ...(topic.deviceId !== undefined ? { deviceId: topic.deviceId } : {}),
  };
}

function lifecycle(
  topic: SparkplugTopic,
  event: 'birth' | 'death',
  payload: PlainPayload,
  bdSeq?: string,
): LifecycleMessage {
  return {
    kind: 'lifecycle',
    event,
    ...origin(topic),
    ...(bdSeq !== undefined ? { bdSeq } : {}),
    seq: payload.seq ?? null,
    timestamp: payload.timestamp,
  };
}

function signals(topic: SparkplugTopic, payload: PlainPayload, aliases: Map<number, string>): SignalMessage[] {
  return payload.metrics.map((metric) => ({
    kind: 'signal',
    ...origin(topic),
    metric: metric.name ?? aliases.get(metric.alias ?? -1) ?? '',
    ...(metric.alias !== undefined ? { alias: metric.alias } : {}),
    value: metric.value,
    datatype: metric.datatype,
    timestamp: metric.timestamp,
    seq: payload.seq ?? null,
    ...(metric.historical ? { historical: true } : {}),
  }));
}
