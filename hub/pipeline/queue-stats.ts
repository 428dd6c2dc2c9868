/**
 * What each of the hub's BullMQ queues holds and who works it, for the operations console: counts,
 * how long the next job has waited, and whether any worker is connected at all.
 */
import type { Queue } from 'bullmq';
import type { DeliveryLane, HubContext } from '../context';
import { withDeadline } from '../deadline';
import { QUEUE_WAIT_BUCKETS } from '../metrics';
import { isIngestQueue } from '../queue/queue-keys';
import { readFlow } from './flow';

/** How long each Redis call may take, as /metrics allows. */
export const QUEUE_STATS_TIMEOUT_MS = 700;

/** ingest: `ingest` and `ingest-context`; deliver: one target's partition. */
export type QueueStage = 'ingest' | 'deliver' | 'other';

export interface QueueIdentity {
  name: string;
  stage: QueueStage;
  /** Deliver queues: the target and partition. */
  target?: string;
  partition?: number;
}

export interface QueueFigures extends QueueIdentity {
  ok: true;
  waiting: number;
  active: number;
  delayed: number;
  failed: number;
  prioritized: number;
  /** Since the job next in line was first added, in ms (a retried job counts from its first add); absent when none waits. */
  oldestWaitingMs?: number;
  /**
   * The 95th percentile of the waits (queued to first start) of the jobs its stage and lane started
   * in the last P95_WINDOW_SECONDS, in every process: read off the shared histogram buckets, so an
   * estimate within one bucket. A deliver queue's figure is its target's, over all its partitions.
   * Absent when no job started in that time.
   */
  p95WaitMs?: number;
  /** Workers connected to the queue, in every process; absent when Redis does not list its clients (CLIENT LIST refused). */
  workers?: number;
  /** Jobs wait (waiting, prioritized or delayed) and no worker is connected to take them. */
  noWorker: boolean;
}

/** A queue Redis did not answer for in time (the others are still reported). */
export interface QueueUnanswered extends QueueIdentity {
  ok: false;
  error: string;
}

export type QueueStats = QueueFigures | QueueUnanswered;

/** BullMQ's answer when CLIENT LIST is refused (Google Memorystore and others): no count at all. */
const CLIENT_LIST_REFUSED = 'GCP does not support client list';

/**
 * One entry per queue of `ctx.queues.all()`, in that order. Each Redis call is bounded by
 * `timeoutMs`; a queue whose calls do not all answer in time is reported with `ok: false` and the
 * reason. Costs per queue: one counts script, one CLIENT LIST (BullMQ counts a queue's workers by
 * their client names) and, when jobs wait, one read of the next job; and for all queues together,
 * one read of the flow buckets of the last P95_WINDOW_SECONDS for the p95 waits.
 */
export async function queueStats(
  ctx: Pick<HubContext, 'queues' | 'redis'>,
  timeoutMs = QUEUE_STATS_TIMEOUT_MS,
): Promise<QueueStats[]> {
  const lanes = new Map(ctx.queues.lanes().map((lane) => [lane.queue, lane]));
  const [stats, p95] = await Promise.all([
    Promise.all(ctx.queues.all().map((queue) => statsOf(queue, identify(queue.name, lanes), timeoutMs))),
    withDeadline(p95Waits(ctx), timeoutMs, () => new Error('no flow buckets in time')).catch(() => new Map()),
  ]);
  for (const figures of stats) {
    const lane = laneOf(figures.name);
    const wait = p95.get(`${lane.stage}:${lane.lane}`);
    if (figures.ok && wait !== undefined) figures.p95WaitMs = wait;
  }
  return stats;
}

/** The window of the p95 waits. */
export const P95_WINDOW_SECONDS = 600;

/** The queue wait histogram's labels for a queue: its stage, and its target (deliver) or its name. */
export function laneOf(name: string): { stage: QueueStage; lane: string } {
  if (isIngestQueue(name)) return { stage: 'ingest', lane: name };
  const parsed = DELIVER_QUEUE.exec(name);
  return parsed ? { stage: 'deliver', lane: parsed[1]! } : { stage: 'other', lane: name };
}

/** Per `stage:lane`, the p95 wait in ms over the window, from the flow buckets' `wait:<stage>:<lane>:<le>` counts. */
async function p95Waits(ctx: Pick<HubContext, 'redis'>): Promise<Map<string, number>> {
  const counts = new Map<string, Map<string, number>>();
  for (const bucket of await readFlow(ctx, P95_WINDOW_SECONDS))
    for (const [field, count] of Object.entries(bucket.counts)) {
      if (!field.startsWith('wait:')) continue;
      const at = field.lastIndexOf(':');
      const lane = field.slice('wait:'.length, at);
      const byBound = counts.get(lane) ?? new Map<string, number>();
      byBound.set(field.slice(at + 1), (byBound.get(field.slice(at + 1)) ?? 0) + count);
      counts.set(lane, byBound);
    }
  const waits = new Map<string, number>();
  for (const [lane, byBound] of counts) {
    const wait = quantileOf(byBound, 0.95);
    if (wait !== undefined) waits.set(lane, Math.round(wait * 1000));
  }
  return waits;
}

/**
 * A quantile of a histogram's cumulative bucket counts (by `le`, `+Inf` the total), interpolated
 * linearly inside its bucket as Prometheus's histogram_quantile does; the highest finite bound when it
 * falls in the +Inf bucket. Undefined for no observations.
 * @example quantileOf(new Map([['0.1', 90], ['0.25', 100], ['+Inf', 100]]), 0.95) // 0.175
 */
export function quantileOf(byBound: Map<string, number>, q: number): number | undefined {
  const total = byBound.get('+Inf') ?? 0;
  if (total <= 0) return undefined;
  const rank = q * total;
  let lower = 0;
  let below = 0;
  for (const bound of QUEUE_WAIT_BUCKETS) {
    const count = byBound.get(String(bound)) ?? below;
    if (count >= rank) return lower + ((bound - lower) * (rank - below)) / Math.max(count - below, 1e-9);
    lower = bound;
    below = count;
  }
  return lower;
}

async function statsOf(queue: Queue, identity: QueueIdentity, timeoutMs: number): Promise<QueueStats> {
  const bounded = <T>(work: Promise<T>, what: string) =>
    withDeadline(work, timeoutMs, () => new Error(`Redis did not answer ${what} within ${timeoutMs} ms`));
  try {
    const [counts, workers] = await Promise.all([
      bounded(queue.getJobCounts('waiting', 'active', 'delayed', 'failed', 'prioritized'), 'the job counts'),
      bounded(queue.getWorkers(), 'the worker list'),
    ]);
    const count = (state: string) => counts[state] ?? 0;
    const figures: QueueFigures = {
      ...identity,
      ok: true,
      waiting: count('waiting'),
      active: count('active'),
      delayed: count('delayed'),
      failed: count('failed'),
      prioritized: count('prioritized'),
      noWorker: false,
    };
    if (!workers.some((worker) => worker.name === CLIENT_LIST_REFUSED)) figures.workers = workers.length;
    if (figures.waiting > 0) {
      // The wait list's far end is the next job to run (BullMQ pushes new jobs at the other end).
      const [next] = await bounded(queue.getJobs(['waiting'], 0, 0, true), 'the next waiting job');
      if (next) figures.oldestWaitingMs = Math.max(0, Date.now() - next.timestamp);
    }
    figures.noWorker = figures.workers === 0 && figures.waiting + figures.prioritized + figures.delayed > 0;
    return figures;
  } catch (error) {
    return { ...identity, ok: false, error: (error as Error).message };
  }
}

/** Matches `deliverQueue` in queue-keys.ts: the partition is the last dash-separated part, so a target may hold dashes. */
const DELIVER_QUEUE = /^deliver-(.+)-(\d+)$/;

/**
 * A queue's stage and, for a deliver queue, its target and partition: from the configured lanes, or
 * from the name for a queue of a target no longer configured (a replay or the outbox sweep can
 * still open one for deliveries left pending).
 */
function identify(name: string, lanes: Map<string, DeliveryLane>): QueueIdentity {
  if (isIngestQueue(name)) return { name, stage: 'ingest' };
  const lane = lanes.get(name);
  if (lane) return { name, stage: 'deliver', target: lane.target, partition: lane.partition };
  const parsed = DELIVER_QUEUE.exec(name);
  if (parsed) return { name, stage: 'deliver', target: parsed[1]!, partition: Number(parsed[2]) };
  return { name, stage: 'other' };
}
