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

/** The last message of one edge node on its way in, and the connection it came on. */
interface NodeTurn {
  /** Resolves once that message is settled: true when queued. */
  settled: Promise<boolean>;
  connection: AbortSignal;
}

/**
 * Routes each received message by the first subscription its topic matches. Messages are handled
 * concurrently, except that one Sparkplug edge node's messages go one after another: each is
 * checked against the state its predecessor committed (seq, aliases, births).
 */
export class InboundHandler {
  private readonly tracker: SparkplugTracker;
  private readonly signals: SignalIndex;
  private readonly nodeTurns = new Map<string, NodeTurn>();

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
    await this.inTurn(`${parsed.groupId}/${parsed.edgeNodeId}`, connection, () =>
      this.handleSparkplug(topic, parsed, payload),
    );
  }

  /**
   * Runs `work` once the node's previous message is settled. After a failure on the same connection
   * it does not run: that connection acknowledges nothing more, and the broker redelivers both.
   */
  private async inTurn(node: string, connection: AbortSignal, work: () => Promise<void>): Promise<void> {
    const previous = this.nodeTurns.get(node);
    const run = async () => {
      const queued = previous ? await previous.settled : true;
      if (!queued && previous?.connection === connection)
        throw new Error('an earlier message of this edge node was not queued');
      if (connection.aborted) throw new Error('the connection is gone; the broker redelivers');
      await work();
    };
    const done = run();
    const settled = done.then(
      () => true,
      () => false,
    );
    this.nodeTurns.set(node, { settled, connection });
    // The map holds only nodes with a message on its way in.
    void settled.then(() => {
      if (this.nodeTurns.get(node)?.settled === settled) this.nodeTurns.delete(node);
    });
    await done;
  }

  private async handleSparkplug(topic: string, parsed: SparkplugTopic, payload: Uint8Array): Promise<void> {
    let decoded;
    try {
      decoded = decodeSparkplug(payload);
    } catch (error) {
      // Acknowledged and dropped: redelivering bytes that are not a Sparkplug payload cannot help.
      this.context.logger.warn({ topic, error: (error as Error).message }, 'undecodable Sparkplug payload dropped');
      return;
    }
    const outcome = this.tracker.handle(parsed, decoded);
    if (this.signals.bindsSparkplug) {
      // Bound metrics only, as one payload: births and deaths, and metrics no binding names, are not
      // emitted (the tracker still follows them).
      const bound = this.signals.sparkplug(
        outcome.messages.filter((message): message is SignalMessage => message.kind === 'signal'),
      );
      if (bound.length > 0) await this.emit(JSON.stringify(bound));
    } else await this.emitEach(topic, payload, outcome.messages);
    outcome.commit();
    if (outcome.ignored) this.context.logger.debug({ topic, reason: outcome.ignored }, 'Sparkplug message not emitted');
    if (outcome.rebirth) {
      const { groupId, edgeNodeId, reason } = outcome.rebirth;
      this.context.logger.info({ groupId, edgeNodeId, reason }, 'Sparkplug rebirth requested');
      this.publishCommand(`spBv1.0/${groupId}/NCMD/${edgeNodeId}`, rebirthCommand());
    }
  }

  /** Without Sparkplug bindings: every birth, death and metric as a message of its own. */
  private async emitEach(topic: string, payload: Uint8Array, messages: readonly (SignalMessage | LifecycleMessage)[]) {
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
    await Promise.all(emitted);
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
