/**
 * The context engine's clock: in one worker process at a time, every `clockEverySeconds`, silent
 * lines' event time moves on (hub/context-engine/engine.ts, advanceClock) and what that completes is
 * recorded and delivered like any document of the engine.
 */
import type { HubContext } from '../context';
import { CONTEXT_CLOCK_LOCK_KEY } from '../queue/queue-keys';
import { recordClockTick } from '../store/intake';
import { newMessageId } from './enqueue';
import { documentInputOf, report, wakeDeliveries } from './ingest';
import { everyIntervalUnderLock, type Periodic } from './periodic';

export function startContextClock(ctx: HubContext): Periodic {
  const engine = ctx.engine;
  if (!engine) return { stop: async () => undefined };
  const intervalMs = engine.config.clockEverySeconds * 1000;
  return everyIntervalUnderLock(
    ctx,
    {
      lockKey: CONTEXT_CLOCK_LOCK_KEY,
      intervalMs,
      lockMs: intervalMs,
      onError: (error) => ctx.logger.error({ err: error }, 'context clock tick failed'),
    },
    async () => {
      const now = await clockNow(ctx);
      const outcomes = await recordClockTick(ctx.db, { engine, newMessageId }, documentInputOf(ctx), now);
      if (outcomes.length === 0) return;
      report(ctx, [], outcomes);
      await wakeDeliveries(ctx, outcomes);
    },
  );
}

/**
 * The time the clock moves silent lines on to (less the lateness): the wall clock, held back to when
 * the oldest batch of the engine's sources still queued arrived. A backlog is not silence: moving on
 * past it would find its signals late (bench/context-opcua-throughput.ts, with a jest run on the same
 * cores, waited up to 13 s in the queue against a lateness of 10 s).
 */
export async function clockNow(ctx: HubContext, wall = Date.now()): Promise<number> {
  const queue = ctx.queues.contextIngest;
  if (!queue) return wall;
  const oldest = await queue.getJobs(['active', 'wait', 'delayed', 'prioritized'], 0, 0, true);
  return Math.min(wall, ...oldest.map((job) => job.timestamp));
}
