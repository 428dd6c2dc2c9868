/**
 * Pausing and resuming a target's deliveries: every partition queue of the target is paused in Redis
 * (BullMQ's global pause), so no worker process takes its jobs until it is resumed, and a drain that
 * is running stops at its next page (hub/pipeline/deliver.ts); ingest goes on and new deliveries wait
 * in order. Each change is audited with who asked and why.
 */
import type { HubContext } from '../context';
import { appendAudit } from '../store/index';

export interface TargetState {
  target: string;
  partitions: number;
  paused: boolean;
}

/** The delivery targets the configuration routes to, each paused or not; undefined for another name. */
export async function targetState(ctx: Pick<HubContext, 'queues'>, target: string): Promise<TargetState | undefined> {
  const lanes = ctx.queues.lanes().filter((lane) => lane.target === target);
  if (lanes.length === 0) return undefined;
  const paused = await Promise.all(lanes.map((lane) => ctx.queues.deliver(lane.target, lane.partition).isPaused()));
  return { target, partitions: lanes.length, paused: paused.every(Boolean) };
}

/** Pauses or resumes every partition of a target; false for a target the configuration does not route to. */
export async function setTargetPaused(
  ctx: Pick<HubContext, 'queues' | 'db' | 'logger'>,
  target: string,
  paused: boolean,
  by: string,
  reason: string,
): Promise<TargetState | undefined> {
  const lanes = ctx.queues.lanes().filter((lane) => lane.target === target);
  if (lanes.length === 0) return undefined;
  await Promise.all(
    lanes.map((lane) => {
      const queue = ctx.queues.deliver(lane.target, lane.partition);
      if (paused) return queue.pause();
      // A drain that stopped at the pause left its deliveries pending: wake the partition for them.
      return queue
        .resume()
        .then(() => queue.add('deliver', {}, { deduplication: { id: `wake-${lane.target}-${lane.partition}` } }));
    }),
  );
  await ctx.db.transaction((tx) =>
    appendAudit(tx, [
      {
        kind: 'operation',
        system: target,
        target,
        decision: paused ? 'paused' : 'resumed',
        rule: paused ? 'operator.pause' : 'operator.resume',
        details: { by, reason, partitions: lanes.length },
      },
    ]),
  );
  ctx.logger.info({ target, by, reason }, paused ? 'deliveries paused' : 'deliveries resumed');
  return { target, partitions: lanes.length, paused };
}
