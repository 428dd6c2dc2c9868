/**
 * Every queue name and Redis key the hub uses, in one place. Each BullMQ queue carries a Redis
 * Cluster hash tag of its own (see {@link queuePrefix}); every other key is used by single-key
 * commands only, so on a cluster each lands wherever its own name hashes.
 */
import { createHash } from 'node:crypto';

/** Every hub key in Redis starts with it. */
export const KEY_PREFIX = 'handover';

/**
 * Raw inbound payloads, as accepted at the door, a batch per job; its worker translates, decides,
 * stores and routes them. Worked concurrently: the store serialises writes to one object and orders
 * them by version, time and arrival, so no partitioning is needed here (signals are another matter:
 * {@link CONTEXT_INGEST_QUEUE}).
 */
export const INGEST_QUEUE = 'ingest';

/**
 * The payloads of the systems that feed the context engine (context.sources), a batch per job,
 * worked by the same processor as {@link INGEST_QUEUE} but one job at a time across every worker
 * process (BullMQ global concurrency 1): the engine applies a work unit's signals in the order the
 * door accepted them, which concurrent jobs could not promise (docs/architecture.md, "The context
 * engine's order").
 */
export const CONTEXT_INGEST_QUEUE = 'ingest-context';

/** True for both ingest queues: their failed jobs file ingest dead letters. */
export function isIngestQueue(queue: string): boolean {
  return queue === INGEST_QUEUE || queue === CONTEXT_INGEST_QUEUE;
}

/** Deliveries to one target, partitioned by object (partitionOf) so one object's deliveries stay in order. */
export function deliverQueue(target: string, partition: number): string {
  return `deliver-${target}-${partition}`;
}

/**
 * The BullMQ `prefix` of one queue: every Queue and Worker of that queue must be given it. BullMQ's
 * Lua scripts touch several keys of a queue at once, which a Redis Cluster allows only within one
 * hash slot; the queue's name as a hash tag (`{…}`) keeps a queue's keys in one slot and puts every
 * queue — every partition of every target — in a slot of its own, so the queues spread over the
 * cluster's masters. On a single Redis the tag is only part of the name.
 *
 * @example queuePrefix('ingest') // 'handover:{ingest}': keys 'handover:{ingest}:ingest:wait', …
 */
export function queuePrefix(queue: string): string {
  return `${KEY_PREFIX}:{${queue}}`;
}

/** Monotonic counter giving every accepted message its arrival order. */
export const RECEIVED_SEQUENCE_KEY = `${KEY_PREFIX}:received-seq`;

/** Maps a system's Idempotency-Key to the message id it was first answered with. */
export function idempotencyKey(system: string, key: string): string {
  return `${KEY_PREFIX}:idempotency:${system}:${createHash('sha256').update(key).digest('hex')}`;
}

/**
 * The lease that lets one hub process at a time run a connector's inbound side (its value names
 * the holder; see hub/queue/lease.ts).
 */
export function connectorLeaseKey(connectorId: string): string {
  return `${KEY_PREFIX}:lease:connector:${connectorId}`;
}

/** The ordering partition of an object: the same type and key always land in the same one. */
export function partitionOf(type: string, objectKey: string, partitions: number): number {
  return createHash('sha1').update(`${type}\u0000${objectKey}`).digest().readUInt32BE(0) % partitions;
}

/** Held by the process running the outbox sweep, so several workers do not sweep at once. */
export const SWEEP_LOCK_KEY = `${KEY_PREFIX}:outbox-sweep`;

/** Held by the process running retention (pipeline/retention.ts) for one interval. */
export const RETENTION_LOCK_KEY = `${KEY_PREFIX}:retention`;

/** Claimed by the one process that files the dead letter of a job that failed for good. */
export function parkedJobKey(queue: string, jobId: string): string {
  return `${KEY_PREFIX}:parked:${queue}:${jobId}`;
}

/** Held by the process moving silent lines' event time on (pipeline/context-clock.ts) for one interval. */
export const CONTEXT_CLOCK_LOCK_KEY = `${KEY_PREFIX}:context-clock`;
