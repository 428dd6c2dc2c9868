/** The hub's metrics show an event-loop stall: the max since the last scrape, and a histogram of each second's longest delay. */
import { createMetrics } from './metrics';

function block(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until);
}

async function value(metrics: ReturnType<typeof createMetrics>, line: RegExp): Promise<number> {
  const match = line.exec(await metrics.registry.metrics());
  if (!match) throw new Error(`no ${String(line)} in /metrics`);
  return Number(match[1]);
}

test('a 250 ms stall shows as the max event-loop delay and as a second with a stall over 100 ms', async () => {
  const metrics = createMetrics();
  try {
    await metrics.registry.metrics();
    await new Promise((resolve) => setTimeout(resolve, 300));
    block(250);
    await new Promise((resolve) => setTimeout(resolve, 1200));
    expect(await value(metrics, /^handover_process_nodejs_eventloop_lag_max_seconds (\S+)$/m)).toBeGreaterThanOrEqual(
      0.2,
    );
    const count = await value(metrics, /^handover_event_loop_delay_seconds_count (\S+)$/m);
    const upTo100ms = await value(metrics, /^handover_event_loop_delay_seconds_bucket\{le="0.1"\} (\S+)$/m);
    expect(count).toBeGreaterThanOrEqual(1);
    expect(count - upTo100ms).toBeGreaterThanOrEqual(1);
    // The max gauge covers the time since the previous scrape: quiet since then, it is far below the stall.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await value(metrics, /^handover_process_nodejs_eventloop_lag_max_seconds (\S+)$/m)).toBeLessThan(0.2);
  } finally {
    metrics.stop();
  }
});
