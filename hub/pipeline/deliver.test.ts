/** The delivery worker's retry sleep on the hub's long-lived shutdown signal. */
import { getEventListeners } from 'node:events';
import { sleep } from './deliver';

describe('retry sleep', () => {
  it('leaves no listener on the shutdown signal after many retries', async () => {
    const shutdown = new AbortController();
    for (let n = 0; n < 500; n += 1) await sleep(0, shutdown.signal);
    expect(getEventListeners(shutdown.signal, 'abort')).toHaveLength(0);
  });

  it('still ends at once when the hub stops', async () => {
    const shutdown = new AbortController();
    const waiting = sleep(60000, shutdown.signal);
    shutdown.abort(new Error('hub stopping'));
    await expect(waiting).rejects.toThrow('hub stopping');
    await expect(sleep(10, shutdown.signal)).rejects.toThrow('hub stopping');
  });
});
