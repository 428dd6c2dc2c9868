/**
 * Starting and stopping a hub: Redis (given or its own child), the store, the queues, the
 * workers and the HTTP API. `role` lets the API and the workers scale out separately.
 */
import { randomBytes } from 'node:crypto';
import { once, setMaxListeners } from 'node:events';
import { hostname } from 'node:os';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { resolve } from 'node:path';
import { Worker } from 'bullmq';
import { MappingRegistry } from '../mappings/engine/registry';
import pino, { type Logger } from 'pino';
import { createApp } from './api/app';
import { startConnectors, type ProcessConnectors } from './connectors';
import type { HubConfig } from './config/schema';
import { readCredentials } from './config/secrets';
import { ContextEngine } from './context-engine/stage';
import type { HubContext } from './context';
import { createMetrics } from './metrics';
import { deliverProcessor, stopRouteTransports } from './pipeline/deliver';
import { guarded, logFailures } from './pipeline/failures';
import { inOrder, ingestProcessor } from './pipeline/ingest';
import { startContextClock } from './pipeline/context-clock';
import { startFlowRecorder } from './pipeline/flow';
import { startOutboxSweeper, sweepOutbox } from './pipeline/outbox';
import { startRetention } from './pipeline/retention';
import { CONTEXT_INGEST_QUEUE, INGEST_QUEUE, partitionOf } from './queue/queue-keys';
import { createQueues, serialiseOrderedQueues, workerOptions } from './queue/queues';
import { withDeadline, settledWithin } from './deadline';
import { bullConnection, openRedis, useRedis, type ClusterSetting, type RedisClient } from './queue/redis-connection';
import { redisErrorLog } from './queue/redis-errors';
import { openStore, realignPartitions, type Db } from './store/index';
import { keepLoadedVersions } from './mappings/kept';

export type Role = 'all' | 'api' | 'worker';

export interface HubOptions {
  config: HubConfig;
  dataDir: string;
  databaseUrl?: string;
  /** The operator's Redis (REDIS_URL); without it or `redisCluster` the hub runs its own redis-server. */
  redisUrl?: string;
  /** A Redis Cluster (REDIS_CLUSTER_NODES, REDIS_PASSWORD) instead of one Redis. */
  redisCluster?: ClusterSetting;
  port?: number;
  host?: string;
  role?: Role;
  env?: NodeJS.ProcessEnv;
  logger?: Logger;
  /** Ingest jobs (batches of messages) the worker runs at once. */
  ingestConcurrency?: number;
  /** Mapping files (`<dir>/<system>/*.yaml`); default `./mappings`. */
  mappingsDir?: string;
  /** How often workers sweep committed-but-unqueued work into its queue; default 30 s. */
  sweepIntervalMs?: number;
  /** How often workers run retention; default `retention.intervalMinutes` of the configuration. */
  retentionIntervalMs?: number;
}

export interface RunningHub {
  url?: string;
  context: HubContext;
  stop(): Promise<void>;
}

/** Starts a hub and resolves once it listens (API) and its workers run. */
export async function startHub(options: HubOptions): Promise<RunningHub> {
  const role = options.role ?? 'all';
  // Names this process to operators (connector leadership) and to peers; unique per start.
  const processId = `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const logger = options.logger ?? pino({ name: 'handover', level: process.env.LOG_LEVEL ?? 'info' });
  // Checked before anything starts, so a configuration error leaves no redis-server behind.
  const credentials = readCredentials(options.config.systems, options.env ?? process.env);
  const redisHandle = await useRedis({
    dataDir: options.dataDir,
    ...(options.redisUrl ? { redisUrl: options.redisUrl } : {}),
    ...(options.redisCluster ? { redisCluster: options.redisCluster } : {}),
    logger: (message) => logger.info(message),
  });
  const bull = bullConnection(redisHandle.target);
  let db: Db | undefined;
  let redis: RedisClient | undefined;
  let context: HubContext | undefined;
  let connectors: ProcessConnectors | undefined;
  let sweeper: { stop(): Promise<void> } | undefined;
  let contextClock: { stop(): Promise<void> } | undefined;
  let retention: { stop(): Promise<void> } | undefined;
  let flow: { stop(): Promise<void> } | undefined;
  let server: Server | undefined;
  let url: string | undefined;
  const shutdown = new AbortController();
  // Every delivery in flight (one per partition) listens on it for its own duration: many, none leaked.
  setMaxListeners(0, shutdown.signal);
  const workers: Worker[] = [];

  /** Stops whatever has started, in order, every wait bounded: also after a start-up that failed half-way. */
  const teardown = async () => {
    if (server?.listening) {
      server.closeAllConnections();
      await new Promise((resolve) => server!.close(resolve));
    }
    // With Redis down, closing a worker or a queue never finishes on its own.
    if (connectors) await settledWithin(connectors.stopInbound(), 3000);
    await settledWithin(sweeper?.stop() ?? Promise.resolve(), 2000);
    await settledWithin(contextClock?.stop() ?? Promise.resolve(), 2000);
    await settledWithin(retention?.stop() ?? Promise.resolve(), 2000);
    await settledWithin(flow?.stop() ?? Promise.resolve(), 1000);
    shutdown.abort(new Error('hub stopping'));
    const queues = context?.queues.all() ?? [];
    const closed = await settledWithin(
      Promise.all([...workers.map((worker) => worker.close()), ...queues.map((queue) => queue.close())]),
      4000,
    );
    if (!closed) {
      logger.warn('workers and queues did not close within 4 s (Redis unreachable?); disconnecting them');
      await settledWithin(Promise.allSettled([...workers, ...queues].map((part) => part.disconnect())), 1000);
    }
    if (connectors) await settledWithin(connectors.stopOutbound(), 3000);
    if (context) await stopRouteTransports(context);
    bull.close();
    redis?.disconnect();
    context?.metrics.stop();
    await db?.close();
    await redisHandle.stop();
  };

  try {
    db = await openStore({
      dataDir: options.dataDir,
      ...(options.databaseUrl ? { databaseUrl: options.databaseUrl } : {}),
    });
    const redisErrors = redisErrorLog(logger);
    redis = openRedis(redisHandle.target, { maxRetriesPerRequest: null });
    redisErrors.watch(redis, 'hub');
    redis.on('ready', () => redisErrors.recovered());
    // The door answers 503 until this connection is ready, so it is ready before the door opens.
    await withDeadline(redis.ping(), 10_000, () => new Error('Redis did not answer PING within 10 s'));
    context = {
      config: options.config,
      credentials,
      db,
      redis,
      queues: createQueues(bull.connection, options.config),
      metrics: createMetrics(),
      logger,
      mappings: new MappingRegistry(options.mappingsDir ?? resolve('mappings'), {
        timeoutMs: options.config.limits.mappingTimeoutMs,
      }),
      ...(options.config.context ? { engine: new ContextEngine(options.config.context) } : {}),
    };
    for (const failure of context.mappings.failures)
      logger.error({ file: failure.file, problems: failure.problems }, 'mapping not loaded');
    // Every version a message may name: a replay with its original mapping runs it after the file changed.
    await keepLoadedVersions(context);

    // Before any worker runs, so a delivery through a connector always finds its outbound instance.
    connectors = await startConnectors(context, {
      dataDir: options.dataDir,
      processId,
      inbound: role !== 'worker',
      outbound: role !== 'api',
    });
    context.connectors = connectors.running;
    if (role !== 'api') {
      // Before this process's first delivery worker runs: no partition is ever worked two at a time,
      // and every pending delivery sits in the partition this configuration gives its object.
      await serialiseOrderedQueues(context.queues);
      const partitions = options.config.partitions;
      const moved = await realignPartitions(db, (type, key) => partitionOf(type, key, partitions));
      if (moved > 0) logger.info({ moved, partitions }, 'pending deliveries moved to their partitions');
      workers.push(
        new Worker(INGEST_QUEUE, guarded(context, INGEST_QUEUE, ingestProcessor(context)), {
          ...workerOptions(bull.connection, INGEST_QUEUE),
          concurrency: options.ingestConcurrency ?? 16,
        }),
      );
      if (context.queues.contextIngest) {
        // One job at a time here, and (global concurrency, set above) across every worker process.
        const processor = inOrder(ingestProcessor(context), shutdown.signal);
        workers.push(
          new Worker(CONTEXT_INGEST_QUEUE, guarded(context, CONTEXT_INGEST_QUEUE, processor, shutdown.signal), {
            ...workerOptions(bull.connection, CONTEXT_INGEST_QUEUE),
            concurrency: 1,
          }),
        );
      }
      for (const { queue, target, partition } of context.queues.lanes()) {
        // One job at a time here, and (global concurrency, set above) across every worker process.
        const processor = deliverProcessor(context, target, partition, shutdown.signal);
        workers.push(
          new Worker(queue, guarded(context, queue, processor, shutdown.signal), {
            ...workerOptions(bull.connection, queue),
            concurrency: 1,
          }),
        );
      }
      for (const worker of workers) {
        redisErrors.watch(worker, `worker ${worker.name}`);
        logFailures(context, worker);
      }
      await sweepOutbox(context);
      sweeper = startOutboxSweeper(context, options.sweepIntervalMs);
      contextClock = startContextClock(context);
      retention = startRetention(
        context,
        options.retentionIntervalMs ?? options.config.retention.intervalMinutes * 60_000,
      );
      if (role === 'worker') logger.info({ role, processId }, 'hub workers running');
    }

    for (const queue of context.queues.all()) redisErrors.watch(queue, `queue ${queue.name}`);
    flow = startFlowRecorder(context);

    if (role !== 'worker') {
      server = createApp(context).listen(options.port ?? 0, options.host ?? '127.0.0.1');
      await once(server, 'listening');
      const address = server.address() as AddressInfo;
      url = `http://${address.address.includes(':') ? `[${address.address}]` : address.address}:${address.port}`;
      logger.info({ url, role, processId }, 'hub listening');
    }
  } catch (error) {
    // A half-started hub must not linger: it could hold a connector's lease while serving nothing.
    logger.error({ err: error }, 'hub did not start; stopping what had started');
    await teardown().catch(() => undefined);
    throw error;
  }

  return { ...(url ? { url } : {}), context, stop: teardown };
}
