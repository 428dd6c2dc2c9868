/** Bounded waits: a promise raced against a timer, for the places where Redis must never make the hub hang. */

/**
 * Settles like `work`, or rejects with `onTimeout()` after `ms`. `work` itself is not cancelled and
 * may still complete later; its late rejection is swallowed.
 * @example await withDeadline(redis.ping(), 500, () => new Error('no answer within 500 ms'))
 */
export function withDeadline<T>(work: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms);
  });
  work.catch(() => undefined);
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/** Waits for `work` at most `ms`; true if it settled in time (whether it succeeded or not). */
export async function settledWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  return withDeadline(
    work.then(
      () => true,
      () => true,
    ),
    ms,
    () => new Error('deadline'),
  ).catch(() => false);
}
