/**
 * One MQTT connector instance: a persistent-session client that (re)subscribes when the broker lost
 * its session, acknowledges a message only once the hub queued it, announces Sparkplug STATE, and
 * reports health.
 */
import { randomBytes } from 'node:crypto';
import {
  connect,
  validateTopics,
  type IClientOptions,
  type IConnackPacket,
  type IPublishPacket,
  type MqttClient,
} from 'mqtt';
import type {
  Connector,
  ConnectorContext,
  ConnectorHealth,
  ConnectionTest,
  OutboundDocument,
  SendResult,
} from '../types';
import { readCredentials, type ResolvedConfig } from './config';
import { MqttError } from './errors';
import { InboundHandler } from './inbound';
import { ConnectionIntake } from './intake';
import { checkTopicTemplate, publishDocument } from './outbound';
import { shown, testConnection } from './probe';

/** CONNACK codes for "this broker does not speak that MQTT version" (3.1.1 and 5). */
const UNSUPPORTED_VERSION = new Set([1, 132]);

/** The MQTT connector: see README.md for what it sends and receives. */
export class MqttSession implements Connector {
  private client: MqttClient | undefined;
  private readonly inbound: InboundHandler;
  private stopping = new AbortController();
  private readonly url: string;
  private readyWaiters: (() => void)[] = [];
  private subscribed = false;
  private refusedTopics: string[] = [];
  private lastError: string | undefined;
  /** The broker's session holds our subscriptions (a SUBACK came back since it last lost them). */
  private sessionSubscribed = false;
  /** The messages of the current connection on their way into the hub. */
  private intake: ConnectionIntake | undefined;
  private stateTimestamp = Date.now();
  /** Set when the broker refused MQTT 5 and the next attempt uses 3.1.1: start() waits for it. */
  private fellBack = false;

  private readonly config: ResolvedConfig;
  readonly receives: boolean;

  constructor(
    given: ResolvedConfig,
    private readonly context: ConnectorContext,
  ) {
    const config = context.mode === 'outbound' ? outboundOnly(given, context.instanceId) : given;
    this.config = config;
    this.receives = config.subscriptions.length > 0 || config.hostId !== undefined;
    checkTopicTemplate(config.publish.topicTemplate);
    const invalid = config.subscriptions.length > 0 ? validateTopics(config.subscriptions.map((s) => s.topic)) : null;
    if (invalid !== null) throw new MqttError('MQTT_TOPIC_FILTER_INVALID', `not a valid topic filter: ${invalid}`);
    this.url = shown(config.url);
    this.inbound = new InboundHandler(config, context, (topic, payload) => {
      this.client?.publish(topic, Buffer.from(payload), { qos: 0, retain: false });
    });
  }

  /** Sparkplug host state, for tests and diagnostics. */
  get sparkplug() {
    return this.inbound.sparkplug;
  }

  /** Connects; resolves once subscribed, or once the first attempt failed (reconnects continue). */
  async start(): Promise<void> {
    if (this.client) return;
    this.stopping = new AbortController();
    // A session left from an earlier run may hold other filters than this configuration's.
    this.sessionSubscribed = false;
    const client = connect(this.config.url, this.options());
    this.client = client;
    client.handleMessage = (packet, done) => this.onMessage(packet, done);
    client.on('connect', (connack) => this.onConnect(connack));
    client.on('close', () => this.onClose());
    client.on('error', (error) => this.onError(error));
    await new Promise<void>((resolve) => {
      this.readyWaiters.push(resolve);
      const onClose = () => {
        if (this.fellBack) this.fellBack = false;
        else {
          client.off('close', onClose);
          resolve();
        }
      };
      client.on('close', onClose);
    });
  }

  /** Announces STATE offline (if a Sparkplug host), disconnects cleanly and leaves no timers. */
  async stop(): Promise<void> {
    const client = this.client;
    if (!client) return;
    this.stopping.abort(new MqttError('MQTT_NOT_CONNECTED', 'the connector is stopping'));
    const limit = this.config.connectTimeoutMs;
    // Messages already on their way in are acknowledged once queued; later ones wait at the broker.
    if (this.intake) await within(this.intake.drain(), limit).catch(() => undefined);
    if (client.connected && this.config.hostId) {
      await within(client.publishAsync(...this.stateMessage(false)), limit).catch(() => undefined);
    }
    // A broker that stops answering must not hold the hub's shutdown.
    const ended = await within(client.endAsync(false), limit).then(
      () => true,
      () => false,
    );
    if (!ended) client.stream.destroy();
    this.client = undefined;
    this.subscribed = false;
  }

  /** 'up' when connected and every subscription was granted. */
  health(): ConnectorHealth {
    if (!this.client?.connected) {
      return { status: 'down', detail: `not connected to ${this.url}: ${this.lastError ?? 'connecting'}` };
    }
    if (this.refusedTopics.length > 0) {
      return { status: 'down', detail: `the broker refused subscriptions: ${this.refusedTopics.join(', ')}` };
    }
    if (!this.subscribed) return { status: 'down', detail: 'connected, subscribing' };
    return { status: 'up', detail: `connected to ${this.url} (MQTT ${this.protocolName()})` };
  }

  /** Connects a separate, short-lived client with the configured URL and credentials. */
  test(): Promise<ConnectionTest> {
    return testConnection(this.config);
  }

  /** Publishes one document; resolves on PUBACK (QoS 1). */
  send(document: OutboundDocument, signal: AbortSignal): Promise<SendResult> {
    return publishDocument(this.client, this.config.publish, document, AbortSignal.any([signal, this.stopping.signal]));
  }

  private options(): IClientOptions {
    const { config } = this;
    const options: IClientOptions = {
      ...readCredentials(config),
      clientId: config.clientId,
      clean: config.cleanSession,
      protocolVersion: config.protocolVersion,
      reconnectPeriod: config.reconnectPeriodMs,
      connectTimeout: config.connectTimeoutMs,
      // The connector decides when to subscribe: only when the broker has no session for it.
      resubscribe: false,
      reconnectOnConnackError: true,
    };
    if (config.protocolVersion === 5) {
      // Without it a broker may keep as few unacknowledged messages in flight as it likes (Mosquitto: 20).
      options.properties = { receiveMaximum: config.receiveWindow };
      // MQTT 5 ends a session at disconnect unless it has an expiry: a persistent session needs one.
      if (!config.cleanSession) options.properties.sessionExpiryInterval = config.sessionExpirySec;
    }
    if (config.hostId) {
      const [topic, payload, { qos, retain }] = this.stateMessage(false);
      options.will = { topic, payload, qos, retain };
    }
    return options;
  }

  /** Sparkplug 3.0 host STATE: retained JSON; the will and the next birth share one timestamp. */
  private stateMessage(online: boolean): [string, Buffer, { qos: 1; retain: true }] {
    const payload = Buffer.from(JSON.stringify({ online, timestamp: this.stateTimestamp }));
    return [`spBv1.0/STATE/${this.config.hostId}`, payload, { qos: 1, retain: true }];
  }

  private protocolName(): string {
    return this.client?.options.protocolVersion === 5 ? '5' : '3.1.1';
  }

  private onConnect(connack: IConnackPacket): void {
    const client = this.client;
    if (!client) return;
    this.lastError = undefined;
    this.context.logger.info(
      { url: this.url, sessionPresent: connack.sessionPresent, protocol: this.protocolName() },
      'mqtt connected',
    );
    if (!connack.sessionPresent) this.sessionSubscribed = false;
    const topics = this.config.subscriptions.map((s) => s.topic);
    if (this.sessionSubscribed || topics.length === 0) {
      this.ready(client);
      return;
    }
    const filters = Object.fromEntries(this.config.subscriptions.map((s) => [s.topic, { qos: s.qos }]));
    client.subscribe(filters, (error, _granted, suback) => {
      const codes = suback?.granted ?? [];
      if (error && codes.length === 0) {
        // The connection went away before a SUBACK: the next connection subscribes again.
        this.lastError = `subscribe failed: ${error.message}`;
        return;
      }
      this.sessionSubscribed = true;
      this.refusedTopics = topics.filter((_, index) => Number(codes[index] ?? 0) >= 0x80);
      if (this.refusedTopics.length > 0) {
        this.context.logger.error({ topics: this.refusedTopics }, 'mqtt subscriptions refused by the broker');
      }
      this.ready(client);
    });
  }

  private ready(client: MqttClient): void {
    this.subscribed = true;
    if (this.config.hostId) client.publish(...this.stateMessage(true));
    for (const resolve of this.readyWaiters.splice(0)) resolve();
  }

  private onClose(): void {
    this.subscribed = false;
    this.intake?.close(new Error('connection closed; the broker redelivers what was not acknowledged'));
    this.intake = undefined;
    this.lastError ??= 'connection closed';
    const client = this.client;
    if (!client || this.stopping.signal.aborted) return;
    if (this.config.hostId && client.options.will) {
      // The next connection announces a new birth, and its will must carry the same timestamp.
      this.stateTimestamp = Date.now();
      client.options.will.payload = this.stateMessage(false)[1];
    }
  }

  private onError(error: Error & { code?: unknown }): void {
    const message = error.message;
    if (message !== this.lastError) this.context.logger.warn({ url: this.url, error: message }, 'mqtt error');
    this.lastError = message;
    const client = this.client;
    if (client?.options.protocolVersion === 5 && UNSUPPORTED_VERSION.has(Number(error.code))) {
      this.context.logger.warn('the broker refuses MQTT 5; falling back to MQTT 3.1.1');
      client.options.protocolVersion = 4;
      delete client.options.properties;
      this.fellBack = true;
    }
  }

  /**
   * Hands the message to the hub without waiting for earlier ones; the intake acknowledges it once
   * it and every message before it are queued. If the hub refuses one, nothing more is acknowledged
   * on this connection and it is dropped: the broker redelivers from the first unacknowledged message
   * after the reconnect.
   */
  private onMessage(packet: IPublishPacket, done: (error?: Error) => void): void {
    const client = this.client;
    if (!client) {
      done(new Error('not acknowledged: the connector is stopping'));
      return;
    }
    if (this.intake?.stream !== client.stream) {
      // Keyed by the stream, not the 'connect' event: MQTT.js emits that only after it has handled
      // the messages that came right behind the CONNACK.
      this.intake?.close(new Error('connection replaced; the broker redelivers'));
      this.intake = new ConnectionIntake(client, client.stream, this.config.receiveWindow, (refused, error) =>
        this.onRefused(refused, error),
      );
    }
    const intake = this.intake;
    if (!intake.accepting) {
      done(new Error('not acknowledged: the hub refused an earlier message on this connection'));
      return;
    }
    const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
    intake.accept(packet, this.inbound.handle(packet.topic, payload, intake.signal), done);
  }

  /** No PUBACK: dropping the connection makes the broker redeliver this and later messages. */
  private onRefused(packet: IPublishPacket, error: Error): void {
    this.context.logger.error({ topic: packet.topic, error: error.message }, 'hub did not queue an mqtt message');
    this.lastError = `hub did not queue a message: ${error.message}`;
    const stream = this.intake?.stream;
    // After MQTT.js has written the PUBACKs already sent (it corks the socket until the next tick).
    if (stream && stream === this.client?.stream) setImmediate(() => stream.destroy());
  }
}

/**
 * The configuration of an instance that only publishes: no subscriptions and no Sparkplug STATE
 * (the full instance elsewhere has them), a client id of its own so the broker never disconnects
 * the full instance for it, and a clean session so finished processes leave no sessions behind.
 */
export function outboundOnly(config: ResolvedConfig, instanceId = randomBytes(4).toString('hex')): ResolvedConfig {
  const suffix = instanceId.replace(/[^A-Za-z0-9_-]/g, '-');
  const outbound: ResolvedConfig = {
    ...config,
    subscriptions: [],
    clientId: `${config.clientId}-out-${suffix}`,
    cleanSession: true,
  };
  delete outbound.hostId;
  return outbound;
}

/** Settles like `promise`, or rejects after `ms`; the timer never outlives the race. */
function within<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
