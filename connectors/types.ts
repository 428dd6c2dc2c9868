/**
 * The connector contract: each connector folder exports one definition (kind, config schema,
 * create) whose instances start, stop, report health and test their connection.
 */
import type { TSchema, Static } from '@sinclair/typebox';
import type { Logger } from 'pino';
import type { Problem } from '../schemas/problem';

/** A raw payload a connector received, handed to the hub's ingest queue unchanged. */
export interface InboundPayload {
  /** The configured system the payload comes from (the connector authenticates it). */
  system: string;
  contentType: 'json' | 'xml';
  body: string;
  /** Stable for the same fact, so a re-sent payload is recognised (e.g. `<node>@<sourceTimestamp>`). */
  idempotencyKey?: string;
}

/**
 * What an instance is for. `full`: it receives from its peer and may send; the hub runs one at a
 * time across all its processes. `outbound`: it only sends (no subscriptions, no emit, no presence
 * announcements), so every delivering process can run one beside the full instance elsewhere.
 */
export type ConnectorMode = 'full' | 'outbound';

/** What the hub gives a connector. */
export interface ConnectorContext {
  logger: Logger;
  /** Queues a payload for ingest; resolves with its message id once it is durably queued. */
  emit(payload: InboundPayload): Promise<string>;
  /** A directory the connector may keep files in (certificates, session state). */
  dataDir: string;
  /** `full` when absent. */
  mode?: ConnectorMode;
  /**
   * Unique to this hub process and start: a connector whose peer allows one connection per client
   * identity (an MQTT client id) makes its outbound instances' identity from it.
   */
  instanceId?: string;
}

export type HealthStatus = 'up' | 'degraded' | 'down';

export interface ConnectorHealth {
  status: HealthStatus;
  detail?: string;
}

/** The outcome of an operator's connection test. */
export interface ConnectionTest {
  ok: boolean;
  detail: string;
}

/** One canonical document to send to a target system. */
export interface OutboundDocument {
  /** Same for every attempt of this delivery. */
  idempotencyKey: string;
  contentType: 'application/json' | 'application/xml';
  body: string;
  /** Canonical type, for connectors that choose a topic or node by type. */
  type: string;
  /** Hub metadata a transport may carry along (HTTP headers, MQTT user properties): message id, kind. */
  metadata?: Record<string, string>;
}

/** What the target answered, for the audit record. */
export interface SendResult {
  status?: number;
  detail?: string;
  /** The answer's body, where the protocol has one (the first 64 KiB). */
  body?: string;
}

/** A connector instance: inert until `start()` (creating one does no I/O). */
export interface Connector {
  /**
   * True when the instance takes messages in from its peer (subscriptions, monitored items): the hub
   * then runs it in one process at a time, under a lease. Absent means it only sends.
   */
  readonly receives?: boolean;
  start(): Promise<void>;
  stop(): Promise<void>;
  health(): ConnectorHealth;
  test(): Promise<ConnectionTest>;
  /**
   * Outbound connectors only: send one document. Throw to have the hub retry with backoff; throw
   * a {@link SendFailure} with `permanent: true` when sending the same document again cannot succeed.
   */
  send?(document: OutboundDocument, signal: AbortSignal): Promise<SendResult>;
}

/**
 * The one failure vocabulary of every connector: `permanent` means retrying the same document can
 * never succeed (the target refused it, a credential or setting is missing), so the delivery becomes
 * a TARGET_REFUSED dead letter at once; anything else thrown is retried until the route's attempts
 * run out (ATTEMPTS_EXHAUSTED).
 */
export interface SendFailure extends Error {
  readonly permanent: boolean;
  /** The target's status, where the protocol has one (HTTP). */
  readonly status?: number;
}

/** True when `error` is a connector failure that says retrying cannot help. */
export function isPermanent(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { permanent?: unknown }).permanent === true;
}

/** What a connector folder's index.ts exports. */
export interface ConnectorDefinition<S extends TSchema = TSchema> {
  kind: string;
  description: string;
  /** JSON Schema of the connector's configuration: description, default and example on every field. */
  configSchema: S;
  /** What the schema cannot say about a configuration the schema accepts: paths relative to it. */
  problems?(config: Static<S>): Problem[];
  create(config: Static<S>, context: ConnectorContext): Connector;
}

/** Helper that keeps a definition's config type tied to its schema. */
export function defineConnector<S extends TSchema>(definition: ConnectorDefinition<S>): ConnectorDefinition<S> {
  return definition;
}
