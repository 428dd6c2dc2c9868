/** What every hub part is given: configuration, stores, queues, metrics and a logger. */
import type { Queue } from 'bullmq';
import type { Logger } from 'pino';
import type { HubConfig } from './config/schema';
import type { Credentials } from './config/secrets';
import type { MappingRegistry } from '../mappings/engine/registry';
import type { RunningConnector } from './connectors';
import type { Metrics } from './metrics';
import type { RedisClient } from './queue/redis-connection';
import type { ContextEngine } from './context-engine/stage';
import type { Db } from './store/index';

/** A deliver queue: one target's partition. */
export interface DeliveryLane {
  queue: string;
  target: string;
  partition: number;
}

export interface HubQueues {
  ingest: Queue;
  /** The ingest queue of the context engine's sources, when the configuration has a `context` section. */
  contextIngest?: Queue;
  /** The ingest queue a system's payloads go to: the context engine's for its sources, else `ingest`. */
  ingestFor(system: string): Queue;
  deliver(target: string, partition: number): Queue;
  /** Every configured target partition, with its queue's name. */
  lanes(): DeliveryLane[];
  /** Every queue that exists, for depth metrics and shutdown. */
  all(): Queue[];
}

export interface HubContext {
  config: HubConfig;
  credentials: Credentials;
  db: Db;
  /** The hub's own client: one Redis, or a Redis Cluster (REDIS_CLUSTER_NODES). */
  redis: RedisClient;
  queues: HubQueues;
  metrics: Metrics;
  logger: Logger;
  mappings: MappingRegistry;
  /** The operational-context engine, when the configuration has a `context` section. */
  engine?: ContextEngine;
  /** The connectors this process runs (set once they have started). */
  connectors?: RunningConnector[];
}
