/**
 * The hub's BullMQ queues on one Redis connection. Completed jobs are removed at once: the
 * store and the audit log are the record, not Redis.
 */
import { Queue, type ConnectionOptions, type DefaultJobOptions } from 'bullmq';
import type { HubConfig } from '../config/schema';
import type { HubQueues } from '../context';
import { APPLY_QUEUE, INGEST_QUEUE, PREFIX, deliverQueue } from './queue-keys';

/** Ingest and apply retry transient failures (database or Redis down) for about a day, never dropping a job. */
export const JOB_OPTIONS: DefaultJobOptions = {
  attempts: 1000,
  backoff: { type: 'exponential', delay: 200 },
  removeOnComplete: true,
  removeOnFail: { count: 10000 },
};

export function createQueues(connection: ConnectionOptions, config: HubConfig): HubQueues {
  const queues = new Map<string, Queue>();
  const get = (name: string) => {
    let queue = queues.get(name);
    if (!queue) {
      queue = new Queue(name, { connection, prefix: PREFIX, defaultJobOptions: JOB_OPTIONS });
      queues.set(name, queue);
    }
    return queue;
  };
  const ingest = get(INGEST_QUEUE);
  const apply = get(APPLY_QUEUE);
  const targets = new Set(config.routes.map((route) => route.target));
  for (const target of targets) for (let p = 0; p < config.partitions; p += 1) get(deliverQueue(target, p));
  return {
    ingest,
    apply,
    deliver: (target, partition) => get(deliverQueue(target, partition)),
    all: () => [...queues.values()],
  };
}

/**
 * Lets each deliver partition queue run one job at a time across every worker process: a Worker's
 * `concurrency` counts only its own jobs, while BullMQ's global concurrency (a field of the queue's
 * meta hash in Redis) makes `moveToActive` hand out no job while the queue's active list is full.
 * Idempotent; every process sets it before its workers start, so no worker ever runs without it.
 */
export async function serialiseDeliveries(queues: HubQueues, config: HubConfig): Promise<void> {
  const targets = new Set(config.routes.map((route) => route.target));
  const settings: Promise<unknown>[] = [];
  for (const target of targets)
    for (let p = 0; p < config.partitions; p += 1) settings.push(queues.deliver(target, p).setGlobalConcurrency(1));
  await Promise.all(settings);
}
