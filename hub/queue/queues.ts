/**
 * The hub's BullMQ queues and the options of their workers, each queue under its own prefix (a
 * Redis Cluster hash tag, see queue-keys.ts). Completed jobs are removed at once: the store and the
 * audit log are the record, not Redis.
 */
import {
  Queue,
  type AdvancedOptions,
  type ConnectionOptions,
  type DefaultJobOptions,
  type WorkerOptions,
} from 'bullmq';
import type { HubConfig } from '../config/schema';
import type { DeliveryLane, HubQueues } from '../context';
import { CONTEXT_INGEST_QUEUE, INGEST_QUEUE, deliverQueue, queuePrefix } from './queue-keys';

/** The longest wait between two attempts of a job. */
export const MAX_BACKOFF_MS = 5 * 60 * 1000;

/**
 * Ingest and delivery jobs retry failures (database or Redis down) with a backoff doubling from 200 ms up
 * to {@link MAX_BACKOFF_MS}: 30 attempts span about 1.5 hours. The last failure becomes a dead
 * letter (hub/pipeline/failures.ts), so no job is retried forever or parked silently.
 */
export const JOB_OPTIONS: DefaultJobOptions = {
  attempts: 30,
  backoff: { type: 'capped', delay: 200 },
  removeOnComplete: true,
  removeOnFail: { count: 10000 },
};

/**
 * The `capped` backoff: exponential from the job's `delay`, never longer than MAX_BACKOFF_MS, with
 * ±10 % jitter so jobs that failed together do not all come back at the same instant.
 */
export function cappedBackoff(
  attemptsMade: number,
  _type?: string,
  _error?: Error,
  job?: { opts: { backoff?: unknown } },
): number {
  const backoff = job?.opts.backoff as { delay?: number } | undefined;
  const base = Math.min(MAX_BACKOFF_MS, (backoff?.delay ?? 200) * 2 ** Math.min(attemptsMade - 1, 30));
  return Math.round(base * (0.9 + Math.random() * 0.2));
}

/** Every worker knows the `capped` strategy, whichever queue it works. */
export const WORKER_SETTINGS: AdvancedOptions = { backoffStrategy: cappedBackoff };

/**
 * Lock and stall handling of every worker: a job whose process died is taken over after about
 * 15 s, and a job that stalls 3 times (it crashes or blocks its process) fails for good and
 * becomes a dead letter instead of bringing every worker down in turn.
 */
export const WORKER_LOCKS = { lockDuration: 15000, stalledInterval: 5000, maxStalledCount: 3 } as const;

/** What every Worker of `queue` is given besides its concurrency: the queue's prefix, locks and backoff. */
export function workerOptions(connection: ConnectionOptions, queue: string): WorkerOptions {
  return { connection, prefix: queuePrefix(queue), ...WORKER_LOCKS, settings: WORKER_SETTINGS };
}

export function createQueues(connection: ConnectionOptions, config: HubConfig): HubQueues {
  const queues = new Map<string, Queue>();
  const get = (name: string) => {
    let queue = queues.get(name);
    if (!queue) {
      queue = new Queue(name, {
        connection,
        prefix: queuePrefix(name),
        defaultJobOptions: JOB_OPTIONS,
        // BullMQ's event stream per queue (10 000 entries by default): nothing of the hub reads it, so
        // a short one keeps Redis memory small and flat.
        streams: { events: { maxLen: 100 } },
      });
      queues.set(name, queue);
    }
    return queue;
  };
  const ingest = get(INGEST_QUEUE);
  const contextIngest = config.context ? get(CONTEXT_INGEST_QUEUE) : undefined;
  const sources = new Set(config.context?.sources ?? []);
  const lanes: DeliveryLane[] = [];
  for (const target of new Set(config.routes.map((route) => route.target)))
    for (let partition = 0; partition < config.partitions; partition += 1) {
      lanes.push({ queue: deliverQueue(target, partition), target, partition });
      get(deliverQueue(target, partition));
    }
  return {
    ingest,
    ...(contextIngest ? { contextIngest } : {}),
    ingestFor: (system) => (contextIngest && sources.has(system) ? contextIngest : ingest),
    deliver: (target, partition) => get(deliverQueue(target, partition)),
    lanes: () => lanes,
    all: () => [...queues.values()],
  };
}

/**
 * Lets each deliver partition queue, and the context engine's ingest queue, run one job at a time
 * across every worker process: a Worker's
 * `concurrency` counts only its own jobs, while BullMQ's global concurrency (a field of the queue's
 * meta hash in Redis) makes `moveToActive` hand out no job while the queue's active list is full.
 * Idempotent; every process that runs workers sets it before they start, so no worker ever runs without it.
 */
export async function serialiseOrderedQueues(queues: HubQueues): Promise<void> {
  await Promise.all([
    ...queues.lanes().map((lane) => queues.deliver(lane.target, lane.partition).setGlobalConcurrency(1)),
    // The context engine's sources: one batch at a time, in the order the door queued them.
    queues.contextIngest?.setGlobalConcurrency(1),
  ]);
}
