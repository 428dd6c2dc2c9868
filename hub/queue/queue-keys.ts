/** Every queue name and Redis key the hub uses, in one place. */
import { createHash } from 'node:crypto';

/** BullMQ key prefix: every hub key in Redis starts with it. */
export const PREFIX = 'handover';

/** Raw inbound payloads, as accepted at the door. */
export const INGEST_QUEUE = 'ingest';

/**
 * Ownership + store + routing. Worked concurrently: the store serialises writes to one object and
 * orders them by version, time and arrival, so no partitioning is needed here.
 */
export const APPLY_QUEUE = 'apply';

/** Deliveries to one target, partitioned by object (partitionOf) so one object's deliveries stay in order. */
export function deliverQueue(target: string, partition: number): string {
  return `deliver-${target}-${partition}`;
}

/** Monotonic counter giving every accepted message its arrival order. */
export const RECEIVED_SEQUENCE_KEY = `${PREFIX}:received-seq`;

/** Maps a system's Idempotency-Key to the message id it was first answered with. */
export function idempotencyKey(system: string, key: string): string {
  return `${PREFIX}:idempotency:${system}:${createHash('sha256').update(key).digest('hex')}`;
}

/**
 * The lease that lets one hub process at a time run a connector's inbound side (its value names
 * the holder; see hub/queue/lease.ts).
 */
export function connectorLeaseKey(connectorId: string): string {
  return `${PREFIX}:lease:connector:${connectorId}`;
}

/** The ordering partition of an object: the same type and key always land in the same one. */
export function partitionOf(type: string, objectKey: string, partitions: number): number {
  return createHash('sha1').update(`${type}\u0000${objectKey}`).digest().readUInt32BE(0) % partitions;
}

/** Held by the process running the outbox sweep, so several workers do not sweep at once. */
export const SWEEP_LOCK_KEY = `${PREFIX}:outbox-sweep`;

/** Held by the process running retention (pipeline/retention.ts) for one interval. */
export const RETENTION_LOCK_KEY = `${PREFIX}:retention`;

/** Claimed by the one process that files the dead letter of a job that failed for good. */
export function parkedJobKey(queue: string, jobId: string): string {
  return `${PREFIX}:parked:${queue}:${jobId}`;
}
