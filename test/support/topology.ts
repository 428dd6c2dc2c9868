/**
 * A scaled-out hub for end-to-end tests: one shared Redis (or a local 3-master Redis Cluster) and one
 * fresh PostgreSQL schema, and any number of `handover start --role …` processes (from the build) on
 * them, each with its own data directory.
 */
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { queuePrefix } from '../../hub/queue/queue-keys';
import { bullConnection, type RedisTarget } from '../../hub/queue/redis-connection';
import { ensureRedis } from '../../hub/queue/redis-server';
import { waitFor } from './http-target';
import { freePort, hubReady, spawnHandover } from './hub-process';
import { freshSchema, type FreshSchema } from './postgres';
import { startRedisCluster, type LocalRedisCluster } from './redis-cluster';

export interface HubProcess {
  role: 'api' | 'worker' | 'all';
  child: ChildProcess;
  /** The API's base URL (api and all roles). */
  url?: string;
}

export interface Topology {
  /** The Redis every process shares. */
  redis: RedisTarget;
  /** The local Redis Cluster, when the topology was started on one. */
  cluster?: LocalRedisCluster;
  databaseUrl: string;
  /** Starts one hub process; resolves once its API answers /readyz (api, all) or once it runs (worker). */
  start(role: HubProcess['role'], configFile: string): Promise<HubProcess>;
  /** Resolves once `count` workers listen on the BullMQ queue `queueName`. */
  workersOn(queueName: string, count: number): Promise<void>;
  /** kill -9, and resolves once the process is gone. */
  kill(hub: HubProcess): Promise<void>;
  /** Stops every process, the Redis and the schema. */
  close(): Promise<void>;
}

/** The environment every process of a topology shares: tokens and the common stores. */
export const TOKENS = {
  HANDOVER_ADMIN_TOKEN: 'admin-token',
  HANDOVER_TOKEN_ERP: 'erp-token',
};

/**
 * Starts the shared Redis (a 3-master Redis Cluster with `{ cluster: true }`) and schema; `env` adds
 * to (or overrides) what every process is given.
 */
export async function startTopology(
  env: NodeJS.ProcessEnv = {},
  options: { cluster?: boolean } = {},
): Promise<Topology> {
  const root = mkdtempSync(join(tmpdir(), 'handover-topology-'));
  let cluster: LocalRedisCluster | undefined;
  let redis: RedisTarget;
  // What every process is told about Redis, as an operator would set it.
  let redisEnv: NodeJS.ProcessEnv;
  let stopRedis: () => Promise<void>;
  if (options.cluster) {
    cluster = await startRedisCluster();
    redis = { cluster: { nodes: cluster.nodes, password: cluster.password } };
    redisEnv = { REDIS_CLUSTER_NODES: cluster.seeds, REDIS_PASSWORD: cluster.password, REDIS_URL: '' };
    stopRedis = cluster.stop;
  } else {
    const server = await ensureRedis({ dataDir: join(root, 'shared-redis') });
    redis = { url: server.url };
    redisEnv = { REDIS_URL: server.url, REDIS_CLUSTER_NODES: '' };
    stopRedis = server.stop;
  }
  let schema: FreshSchema;
  try {
    schema = await freshSchema();
  } catch (error) {
    await stopRedis();
    throw error;
  }
  const processes: HubProcess[] = [];
  let serial = 0;

  const exited = (child: ChildProcess) =>
    child.exitCode !== null || child.signalCode !== null
      ? Promise.resolve()
      : once(child, 'exit').then(() => undefined);

  return {
    redis,
    ...(cluster ? { cluster } : {}),
    databaseUrl: schema.url,
    async start(role, configFile) {
      serial += 1;
      const port = role === 'worker' ? 0 : await freePort();
      const child = spawnHandover(['start', '--config', configFile, '--role', role, '--port', String(port)], {
        fromBuild: true,
        env: {
          ...process.env,
          ...TOKENS,
          ...env,
          HANDOVER_DATA_DIR: join(root, `${role}-${serial}`),
          ...redisEnv,
          DATABASE_URL: schema.url,
          LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
        },
      });
      const hub: HubProcess = { role, child, ...(role === 'worker' ? {} : { url: `http://127.0.0.1:${port}` }) };
      processes.push(hub);
      if (hub.url) await hubReady(hub.url);
      return hub;
    },
    async workersOn(queueName, count) {
      const bull = bullConnection(redis);
      const queue = new Queue(queueName, { connection: bull.connection, prefix: queuePrefix(queueName) });
      try {
        await waitFor(async () => (await queue.getWorkersCount()) >= count, 60000, `${count} workers on ${queueName}`);
      } finally {
        await queue.close();
        bull.close();
      }
    },
    async kill(hub) {
      hub.child.kill('SIGKILL');
      await exited(hub.child);
    },
    async close() {
      await Promise.all(
        processes.map(async ({ child }) => {
          child.kill('SIGTERM');
          const timer = setTimeout(() => child.kill('SIGKILL'), 10000);
          await exited(child);
          clearTimeout(timer);
        }),
      );
      await stopRedis();
      await schema.drop();
      rmSync(root, { recursive: true, force: true });
    },
  };
}
