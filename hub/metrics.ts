/** Prometheus metrics of the hub (prom-client), served at /metrics. */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** How often the longest event-loop delay of the past interval is observed. */
const EVENT_LOOP_WINDOW_MS = 1000;

/** The queue wait histogram's bucket bounds, seconds: the console's p95 wait is read off them. */
export const QUEUE_WAIT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900];

/** One registry per hub instance, so tests can run several hubs in one process. */
export function createMetrics() {
  const registry = new Registry();
  // Includes handover_process_nodejs_eventloop_lag_{max,p99,…}_seconds: monitorEventLoopDelay since the last scrape.
  collectDefaultMetrics({ register: registry, prefix: 'handover_process_' });
  const eventLoopDelay = new Histogram({
    name: 'handover_event_loop_delay_seconds',
    help: 'The longest event-loop delay of each second (monitorEventLoopDelay, 10 ms resolution); seconds with a stall over 100 ms = count - bucket{le="0.1"}',
    buckets: [0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const eventLoop = watchEventLoop(eventLoopDelay);
  return {
    registry,
    inbound: new Counter({
      name: 'handover_inbound_total',
      help: 'Inbound requests by system and outcome (accepted or an error code)',
      labelNames: ['system', 'outcome'] as const,
      registers: [registry],
    }),
    decisions: new Counter({
      name: 'handover_messages_total',
      help: 'Canonical documents by source system, type and ownership decision',
      labelNames: ['system', 'type', 'decision'] as const,
      registers: [registry],
    }),
    signals: new Counter({
      name: 'handover_context_signals_total',
      help: 'Signals the context engine took, by outcome (booked, or the code it was not booked under)',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    deliveries: new Counter({
      name: 'handover_deliveries_total',
      help: 'Delivery outcomes by target (delivered, retry, dead)',
      labelNames: ['target', 'outcome'] as const,
      registers: [registry],
    }),
    deliveryLatency: new Histogram({
      name: 'handover_delivery_latency_seconds',
      help: 'From receipt at the door to a 2xx from the target',
      labelNames: ['target'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: [registry],
    }),
    queueWait: new Histogram({
      name: 'handover_queue_wait_seconds',
      help: 'From a job being queued to its first start, by stage (ingest or deliver) and lane (the target of a deliver queue, else the queue)',
      labelNames: ['stage', 'lane'] as const,
      buckets: QUEUE_WAIT_BUCKETS,
      registers: [registry],
    }),
    deadLetters: new Counter({
      name: 'handover_dead_letters_total',
      help: 'Dead letters filed, by stage (ingest or deliver)',
      labelNames: ['stage'] as const,
      registers: [registry],
    }),
    queueDepth: new Gauge({
      name: 'handover_queue_depth',
      help: 'Jobs waiting, delayed or active per queue',
      labelNames: ['queue'] as const,
      registers: [registry],
    }),
    retentionRemoved: new Counter({
      name: 'handover_retention_removed_total',
      help: 'Rows retention removed: payload (a message’s raw payload) or delivery (a completed delivery)',
      labelNames: ['what'] as const,
      registers: [registry],
    }),
    retentionRuns: new Counter({
      name: 'handover_retention_runs_total',
      help: 'Retention runs by outcome: complete, partial (stopped at its time budget or shutdown) or failed',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    retentionBatch: new Histogram({
      name: 'handover_retention_batch_seconds',
      help: 'How long one retention batch (one store transaction) took',
      labelNames: ['what'] as const,
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers: [registry],
    }),
    eventLoopDelay,
    /** Stops the event-loop sampling (the hub's teardown). */
    stop: () => eventLoop.stop(),
  };
}
export type Metrics = ReturnType<typeof createMetrics>;

/**
 * Observes the longest event-loop delay of every second into `histogram`, so a stall shows in
 * Prometheus however often, and by whom, /metrics is scraped. monitorEventLoopDelay drops the
 * interval in which it is reset: a stall that held up this timer itself is taken from the timer's
 * own lateness instead.
 */
function watchEventLoop(histogram: Histogram): { stop(): void } {
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  let due = performance.now() + EVENT_LOOP_WINDOW_MS;
  const timer = setInterval(() => {
    const now = performance.now();
    const late = Math.max(0, now - due) / 1000;
    histogram.observe(Math.max(delay.count > 0 ? delay.max / 1e9 : 0, late));
    delay.reset();
    due = now + EVENT_LOOP_WINDOW_MS;
  }, EVENT_LOOP_WINDOW_MS);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      delay.disable();
    },
  };
}
