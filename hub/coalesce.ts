/**
 * Many callers, one write at a time: what arrives while a write runs is written together next (a
 * group commit of the caller's own). Each call resolves once the write that took its item is done,
 * or rejects with that write's error, as does every other call of the same write.
 */
export function coalesced<T>(
  write: (items: T[]) => Promise<void>,
  options: {
    /**
     * The first write waits for the I/O callbacks of this turn of the loop, so calls made by the jobs
     * one event woke up (a group commit resolving them together) share it.
     */
    afterTurn?: boolean;
  } = {},
): (item: T) => Promise<void> {
  let queued: Array<{ item: T; resolve(): void; reject(error: unknown): void }> = [];
  let writing = false;
  const flush = async (): Promise<void> => {
    writing = true;
    while (queued.length > 0) {
      const batch = queued;
      queued = [];
      try {
        await write(batch.map((entry) => entry.item));
        for (const entry of batch) entry.resolve();
      } catch (error) {
        for (const entry of batch) entry.reject(error);
      }
    }
    writing = false;
  };
  return (item) =>
    new Promise<void>((resolve, reject) => {
      queued.push({ item, resolve, reject });
      if (writing) return;
      if (!options.afterTurn) void flush();
      else if (queued.length === 1) setImmediate(() => void flush());
    });
}
