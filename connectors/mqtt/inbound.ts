/**
 * Inbound MQTT messages → hub payloads. JSON payloads pass unchanged; Sparkplug B payloads are
 * decoded, their aliases resolved and each metric emitted as its own JSON message.
 */
import { createHash } from 'node:crypto';
import type { ConnectorContext, InboundPayload } from '../types';
import type { ResolvedConfig } from './config';
import { decodeSparkplug, rebirthCommand } from './sparkplug-codec';
import {
  parseSparkplugTopic,
  SparkplugTracker,
  type LifecycleMessage,
  type SignalMessage,
  type SparkplugTopic,
} from './sparkplug';
import { SignalIndex } from './signals';

/** Publishes a command (the rebirth request); fire-and-forget, QoS 0 as Sparkplug asks. */
export type CommandPublisher = (topic: string, payload: Uint8Array) => void;

/** The longest idempotency key the hub's inbound API accepts. */
const MAX_KEY_LENGTH = 255;

/**
 * True when an MQTT topic filter (`+`, `#`, `$share/<group>/…`) matches a topic name.
 * @example topicMatches('spBv1.0/+/NDATA/#', 'spBv1.0/G/NDATA/edge') // true
 */
export function topicMatches(filter: string, topic: string): boolean {
  const plain = filter.startsWith('$share/') ? filter.split('/').slice(2).join('/') : filter;
  const wanted = plain.split('/');
  const levels = topic.split('/');
  // [MQTT-4.7.2-1]: wildcards at the first level do not match topics starting with $.
  if (topic.startsWith('$') && (wanted[0] === '+' || wanted[0] === '#')) return false;
  for (let i = 0; i < wanted.length; i += 1) {
    if (wanted[i] === '#') return true;
    if (i >= levels.length) return false;
    if (wanted[i] !== '+' && wanted[i] !== levels[i]) return false;
  }
  return wanted.length === levels.length;
}

/**
 * The idempotency key of a message: `<topic>#<sha256 of the payload, hex>`, plus `/<part>` for
 * each message made from one Sparkplug payload. A broker redelivery (QoS 1) gives the same key; a
 * topic long enough to push the key past 255 characters is replaced by its own sha256.
 */
export function idempotencyKey(topic: string, payload: Uint8Array, part?: string): string {
  return keyOf(topic, sha256(payload), part);
}

function sha256(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

function keyOf(topic: string, digest: string, part: string | undefined): string {
  const suffix = `#${digest}${part === undefined ? '' : `/${part}`}`;
  return (topic.length + suffix.length <= MAX_KEY_LENGTH ? topic : sha256(topic)) + suffix;
}

/** The connection an edge node's messages last came on, and whether a refusal there undid its state. */
interface NodeConnection {
  connection: AbortSignal;
  restored: boolean;
}

/**
 * Routes each received message by the first subscription its topic matches. Messages are handled
 * concurrently. A Sparkplug edge node's messages are judged (seq, aliases, births) in the order they
 * arrive, each against the state its predecessor committed at once, without waiting for the hub to
 * queue the predecessor: one edge node gets many messages on their way in, not one. If the hub
 * refuses one, the intake acknowledges nothing more on that connection and the broker redelivers
 * it and those after it; the node's state is put back to what it was before the refused message, so
 * the redelivery is judged as the first delivery was.
 */
export class InboundHandler {
  private readonly tracker: SparkplugTracker;
  private readonly signals: SignalIndex;
  private readonly nodeConnections = new Map<string, NodeConnection>();

  constructor(
    private readonly config: Pick<ResolvedConfig, 'system' | 'subscriptions' | 'groupIds'> &
      Partial<Pick<ResolvedConfig, 'signals'>>,
    private readonly context: Pick<ConnectorContext, 'emit' | 'logger'>,
    private readonly publishCommand: CommandPublisher,
  ) {
    this.tracker = new SparkplugTracker(config.groupIds);
    this.signals = new SignalIndex(config.signals ?? []);
  }

  /** Sparkplug state, for health details and tests. */
  get sparkplug(): SparkplugTracker {
    return this.tracker;
  }

  /**
   * Handles one message; resolves once everything it yields is durably queued (only then may the
   * message be acknowledged), rejects if the hub did not take it. `connection` is aborted when the
   * connection the message came on is gone (the broker redelivers what it did not acknowledge).
   */
  async handle(
    topic: string,
    payload: Uint8Array,
    connection: AbortSignal = new AbortController().signal,
  ): Promise<void> {
    const subscription = this.config.subscriptions.find((s) => topicMatches(s.topic, topic));
    if (!subscription) {
      this.context.logger.debug({ topic }, 'mqtt message on a topic no subscription matches');
      return;
    }
    if (subscription.format === 'json') {
      // No key: a device repeating the same bytes later states a new fact (running again), and a
      // QoS 1 redelivery is absorbed downstream as identical content.
      const text = Buffer.from(payload).toString('utf8');
      const bound = this.signals.topic(topic, text);
      // A bound topic's payload that is not JSON goes on as it is: the hub files it as invalid.
      await this.emit(bound ? JSON.stringify(bound) : text);
      return;
    }
    const parsed = parseSparkplugTopic(topic);
    if (!parsed) {
      this.context.logger.debug({ topic }, 'not a Sparkplug B node or device topic, ignored');
      return;
    }
    await this.handleSparkplug(topic, parsed, payload, connection);
  }

  private handleSparkplug(
    topic: string,
    parsed: SparkplugTopic,
    payload: Uint8Array,
    connection: AbortSignal,
  ): Promise<void> {
    let decoded;
    try {
      decoded = decodeSparkplug(payload);
    } catch (error) {
      // Acknowledged and dropped: redelivering bytes that are not a Sparkplug payload cannot help.
      this.context.logger.warn({ topic, error: (error as Error).message }, 'undecodable Sparkplug payload dropped');
      return Promise.resolve();
    }
    const { groupId, edgeNodeId } = parsed;
    const node = `${groupId}/${edgeNodeId}`;
    let seen = this.nodeConnections.get(node);
    if (seen?.connection !== connection) {
      seen = { connection, restored: false };
      this.nodeConnections.set(node, seen);
    }
    const before = this.tracker.snapshot(groupId, edgeNodeId);
    const outcome = this.tracker.handle(parsed, decoded);
    // Committed now, so the node's next message is judged against it; undone below if refused.
    outcome.commit();
    if (outcome.ignored) this.context.logger.debug({ topic, reason: outcome.ignored }, 'Sparkplug message not emitted');
    if (outcome.rebirth) {
      const { reason } = outcome.rebirth;
      this.context.logger.info({ groupId, edgeNodeId, reason }, 'Sparkplug rebirth requested');
      this.publishCommand(`spBv1.0/${groupId}/NCMD/${edgeNodeId}`, rebirthCommand());
    }
    let queued: Promise<void>;
    if (this.signals.bindsSparkplug) {
      // Bound metrics only, as one payload: births and deaths, and metrics no binding names, are not
      // emitted (the tracker still follows them).
      const bound = this.signals.sparkplug(
        outcome.messages.filter((message): message is SignalMessage => message.kind === 'signal'),
      );
      queued = bound.length > 0 ? this.emit(JSON.stringify(bound)) : Promise.resolve();
    } else queued = this.emitEach(topic, payload, outcome.messages);
    const mine = seen;
    return queued.catch((error: unknown) => {
      // The first refusal on this connection: the state goes back to before it (later messages on
      // it were judged after it, and are redelivered too).
      if (this.nodeConnections.get(node) === mine && !mine.restored) {
        mine.restored = true;
        this.tracker.restore(groupId, edgeNodeId, before);
      }
      throw error;
    });
  }

  /** Without Sparkplug bindings: every birth, death and metric as a message of its own. */
  private emitEach(topic: string, payload: Uint8Array, messages: readonly (SignalMessage | LifecycleMessage)[]) {
    const digest = sha256(payload);
    // Handed to the hub all at once (it keeps their order), so they can travel in one batch.
    const emitted = messages.map((message) => {
      // Only births and deaths carry a key (remembered 7 days in Redis): their number follows the
      // nodes' lifecycles. A key per metric value grew Redis by one key per metric per message. A
      // repeated signal needs none: the tracker drops a repeated seq on a live connection, data
      // after a restart waits for a rebirth, and what a signal maps to is keyed by equipment and
      // source time, so a repeat is absorbed as identical content.
      const key = message.kind === 'lifecycle' ? keyOf(topic, digest, message.event) : undefined;
      return this.emit(JSON.stringify(message), key);
    });
    return Promise.all(emitted).then(() => undefined);
  }

  private async emit(body: string, key?: string): Promise<void> {
    const message: InboundPayload = {
      system: this.config.system,
      contentType: 'json',
      body,
      ...(key === undefined ? {} : { idempotencyKey: key }),
    };
    await this.context.emit(message);
  }
}
