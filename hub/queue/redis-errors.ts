/**
 * One log line per Redis outage, not one per reconnect attempt: every ioredis and BullMQ object
 * reports its 'error' events here, and repeats of a message are counted and summarised rarely.
 */
import type { Logger } from 'pino';

/** Anything that emits 'error' (ioredis clients, BullMQ queues and workers). */
interface ErrorEmitter {
  on(event: 'error', listener: (error: Error) => void): unknown;
}

/** Repeats of one message are logged again at most this often, with how many were left out. */
const REPEAT_INTERVAL_MS = 60_000;

export interface RedisErrorLog {
  /** Sends `emitter`'s 'error' events to the log, named by `source`; an emitter without one would crash or flood. */
  watch(emitter: ErrorEmitter, source: string): void;
  /** Redis answers again: logged once, and the next failure is logged at once. */
  recovered(): void;
}

export function redisErrorLog(logger: Logger): RedisErrorLog {
  const seen = new Map<string, { loggedAt: number; repeats: number }>();
  const report = (source: string, error: Error) => {
    const key = error.message;
    const entry = seen.get(key);
    const now = Date.now();
    if (!entry) {
      seen.set(key, { loggedAt: now, repeats: 0 });
      logger.error({ err: error, source }, 'queue error (repeats are counted and logged once a minute)');
    } else if (now - entry.loggedAt >= REPEAT_INTERVAL_MS) {
      logger.error({ err: error, source, repeats: entry.repeats }, 'queue error continues');
      seen.set(key, { loggedAt: now, repeats: 0 });
    } else {
      entry.repeats += 1;
    }
  };
  return {
    watch: (emitter, source) => {
      emitter.on('error', (error) => report(source, error));
    },
    recovered: () => {
      if (seen.size === 0) return;
      const repeats = [...seen.values()].reduce((sum, entry) => sum + entry.repeats, 0);
      seen.clear();
      logger.info({ repeats }, 'redis reachable again');
    },
  };
}
