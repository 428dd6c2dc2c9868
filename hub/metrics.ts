/** Prometheus metrics of the hub (prom-client), served at /metrics. */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** One registry per hub instance, so tests can run several hubs in one process. */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'handover_process_' });
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
  };
}
export type Metrics = ReturnType<typeof createMetrics>;
