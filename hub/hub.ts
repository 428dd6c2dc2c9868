/**
 * Starting and stopping a hub: Redis (given or its own child), the store, the queues, the
 * workers and the HTTP API. `role` lets the API and the workers scale out separately.
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { hostname } from 'node:os';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { resolve } from 'node:path';
import { Worker } from 'bullmq';
import { MappingRegistry } from '../mappings/engine/registry';
import { Redis } from 'ioredis';
import pino, { type Logger } from 'pino';
import { createApp } from './api/app';
import { startConnectors } from './connectors';
import type { HubConfig } from './config/schema';
import { readCredentials } from './config/secrets';
import type { HubContext } from './context';
import { createMetrics } from './metrics';
import { applyProcessor } from './pipeline/apply';
import { deliverProcessor } from './pipeline/deliver';
import { guarded, logFailures } from './pipeline/failures';
import { ingestProcessor } from './pipeline/ingest';
import { startOutboxSweeper, sweepOutbox } from './pipeline/outbox';
import { APPLY_QUEUE, INGEST_QUEUE, PREFIX, deliverQueue } from './queue/queue-keys';
import { WORKER_LOCKS, WORKER_SETTINGS, createQueues, serialiseDeliveries } from './queue/queues';
import { ensureRedis } from './queue/redis-server';
import { openStore } from './store/index';

export type Role = 'all' | 'api' | 'worker';

export interface HubOptions {
  config: HubConfig;
  dataDir: string;
  databaseUrl?: string;
  redisUrl?: string;
  port?: number;
  host?: string;
  role?: Role;
  env?: NodeJS.ProcessEnv;
  logger?: Logger;
  /** Jobs the ingest worker runs at once. */
  ingestConcurrency?: number;
  /** Mapping files (`<dir>/<system>/*.yaml`); default `./mappings`. */
  mappingsDir?: string;
  /** Documents the apply worker decides at once. */
  applyConcurrency?: number;
  /** How often workers sweep committed-but-unqueued work into its queue; default 30 s. */
  sweepIntervalMs?: number;
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
  const redisHandle = await ensureRedis({
    dataDir: options.dataDir,
    ...(options.redisUrl ? { redisUrl: options.redisUrl } : {}),
    logger: (message) => logger.info(message),
  });
  const db = await openStore({
    dataDir: options.dataDir,
    ...(options.databaseUrl ? { databaseUrl: options.databaseUrl } : {}),
  });
  const redis = new Redis(redisHandle.url, { maxRetriesPerRequest: null });
  const connection = { url: redisHandle.url, maxRetriesPerRequest: null } as const;
  const context: HubContext = {
    config: options.config,
    credentials: readCredentials(options.config.systems, options.env ?? process.env),
    db,
    redis,
    queues: createQueues(connection, options.config),
    metrics: createMetrics(),
    logger,
    mappings: new MappingRegistry(options.mappingsDir ?? resolve('mappings')),
  };
  for (const failure of context.mappings.failures)
    logger.error({ file: failure.file, problems: failure.problems }, 'mapping not loaded');

  const shutdown = new AbortController();
  const workers: Worker[] = [];
  await serialiseDeliveries(context.queues, options.config);
  // Before any worker runs, so a delivery through a connector always finds its outbound instance.
  const connectors = await startConnectors(context, {
    dataDir: options.dataDir,
    processId,
    inbound: role !== 'worker',
    outbound: role !== 'api',
  });
  context.connectors = connectors.running;
  let sweeper: { stop(): Promise<void> } | undefined;
  if (role !== 'api') {
    const workerOptions = { connection, prefix: PREFIX, ...WORKER_LOCKS, settings: WORKER_SETTINGS };
    workers.push(
      new Worker(INGEST_QUEUE, guarded(context, INGEST_QUEUE, ingestProcessor(context)), {
        ...workerOptions,
        concurrency: options.ingestConcurrency ?? 64,
      }),
    );
    workers.push(
      new Worker(APPLY_QUEUE, guarded(context, APPLY_QUEUE, applyProcessor(context)), {
        ...workerOptions,
        concurrency: options.applyConcurrency ?? 64,
      }),
    );
    for (let partition = 0; partition < options.config.partitions; partition += 1) {
      for (const target of new Set(options.config.routes.map((route) => route.target))) {
        // One job at a time here, and (global concurrency, set above) across every worker process.
        const name = deliverQueue(target, partition);
        workers.push(
          new Worker(name, guarded(context, name, deliverProcessor(context, shutdown.signal), shutdown.signal), {
            ...workerOptions,
            concurrency: 1,
          }),
        );
      }
    }
    for (const worker of workers) {
      worker.on('error', (error) => logger.error({ err: error, queue: worker.name }, 'worker error'));
      logFailures(context, worker);
    }
    await sweepOutbox(context);
    sweeper = startOutboxSweeper(context, options.sweepIntervalMs);
    if (role === 'worker') logger.info({ role, processId }, 'hub workers running');
  }

  let server: Server | undefined;
  let url: string | undefined;
  if (role !== 'worker') {
    server = createApp(context).listen(options.port ?? 0, options.host ?? '127.0.0.1');
    await once(server, 'listening');
    const address = server.address() as AddressInfo;
    url = `http://${address.address.includes(':') ? `[${address.address}]` : address.address}:${address.port}`;
    logger.info({ url, role, processId }, 'hub listening');
  }

  return {
    ...(url ? { url } : {}),
    context,
    async stop() {
      if (server) {
        server.closeAllConnections();
        await new Promise((resolve) => server!.close(resolve));
      }
      await connectors.stopInbound();
      await sweeper?.stop();
      shutdown.abort(new Error('hub stopping'));
      await Promise.all(workers.map((worker) => worker.close()));
      await connectors.stopOutbound();
      await Promise.all(context.queues.all().map((queue) => queue.close()));
      redis.disconnect();
      await db.close();
      await redisHandle.stop();
    },
  };
}
