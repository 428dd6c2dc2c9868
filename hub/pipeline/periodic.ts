/** Work that runs every interval in one process at a time: the outbox sweep, retention. */
import type { HubContext } from '../context';

export interface Periodic {
  /** Stops the timer, signals a run in progress to end, and waits for it. */
  stop(): Promise<void>;
}

/**
 * Runs `work` every `intervalMs` while this process holds `lockKey` (a Redis lock taken with
 * SET NX PX for `lockMs`, so one process of all runs it per interval). A run slower than the
 * interval is not joined by a second one of the same process; a failing run goes to `onError`
 * and the next tick tries again.
 */
export function everyIntervalUnderLock(
  ctx: HubContext,
  options: { lockKey: string; intervalMs: number; lockMs: number; onError(error: unknown): void },
  work: (signal: AbortSignal) => Promise<unknown>,
): Periodic {
  const shutdown = new AbortController();
  let running: Promise<unknown> = Promise.resolve();
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    running = (async () => {
      const mine = await ctx.redis.set(options.lockKey, String(process.pid), 'PX', options.lockMs, 'NX');
      if (mine !== null) await work(shutdown.signal);
    })()
      .catch(options.onError)
      .finally(() => (busy = false));
  }, options.intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      shutdown.abort();
      await running;
    },
  };
}
