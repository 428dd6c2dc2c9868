/**
 * A scaled-out hub for end-to-end tests: one shared Redis and one fresh PostgreSQL schema, and any
 * number of `handover start --role …` processes (from the build) on them, each with its own data directory.
 */
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { ensureRedis, type RedisHandle } from '../../hub/queue/redis-server';
import { waitFor } from './http-target';
import { freePort, hubReady, spawnHandover } from './hub-process';
import { freshSchema, type FreshSchema } from './postgres';

export interface HubProcess {
  role: 'api' | 'worker' | 'all';
  child: ChildProcess;
  /** The API's base URL (api and all roles). */
  url?: string;
}

export interface Topology {
  redisUrl: string;
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

/** Starts the shared Redis and schema; `env` adds to (or overrides) what every process is given. */
export async function startTopology(env: NodeJS.ProcessEnv = {}): Promise<Topology> {
  const root = mkdtempSync(join(tmpdir(), 'handover-topology-'));
  const redis: RedisHandle = await ensureRedis({ dataDir: join(root, 'shared-redis') });
  let schema: FreshSchema;
  try {
    schema = await freshSchema();
  } catch (error) {
    await redis.stop();
    throw error;
  }
  const processes: HubProcess[] = [];
  let serial = 0;

  const exited = (child: ChildProcess) =>
    child.exitCode !== null || child.signalCode !== null
      ? Promise.resolve()
      : once(child, 'exit').then(() => undefined);

  return {
    redisUrl: redis.url,
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
          REDIS_URL: redis.url,
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
      const queue = new Queue(queueName, { connection: { url: redis.url }, prefix: 'handover' });
      try {
        await waitFor(async () => (await queue.getWorkersCount()) >= count, 60000, `${count} workers on ${queueName}`);
      } finally {
        await queue.close();
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
      await redis.stop();
      await schema.drop();
      rmSync(root, { recursive: true, force: true });
    },
  };
}
