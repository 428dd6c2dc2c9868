/**
 * Where the hub's Redis is — one server (REDIS_URL, or the hub's own redis-server) or a Redis
 * Cluster (REDIS_CLUSTER_NODES) — and the clients the hub, BullMQ and the connector leases open on it.
 */
import type { ConnectionOptions } from 'bullmq';
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { ConfigError } from '../config/errors';
import { withDeadline } from '../deadline';
import { QueueError } from './errors';
import { ensureRedis } from './redis-server';

/** A client of either kind: the hub's parts use only commands both have. */
export type RedisClient = Redis | Cluster;

/** A cluster's seed nodes (any of its nodes; the client learns the rest) and the nodes' password. */
export interface ClusterSetting {
  nodes: Array<{ host: string; port: number }>;
  password?: string;
}

/** The hub's Redis: one server's URL, or a cluster. */
export type RedisTarget = { url: string } | { cluster: ClusterSetting };

/** The per-connection options the hub sets on its clients. */
export type ClientOptions = Pick<RedisOptions, 'maxRetriesPerRequest' | 'commandTimeout'>;

const CLUSTER_CHECK_MS = 10_000;

/**
 * Parses REDIS_CLUSTER_NODES: `host:port` seed nodes separated by commas (`[::1]:7000` for IPv6).
 * An entry that is not one stops start-up with REDIS_CLUSTER_NODES_INVALID naming it.
 *
 * @example parseClusterNodes('10.0.0.1:7000, redis-b:7000') // [{ host: '10.0.0.1', port: 7000 }, { host: 'redis-b', port: 7000 }]
 */
export function parseClusterNodes(text: string): ClusterSetting['nodes'] {
  const entries = text.split(',').map((entry) => entry.trim());
  const nodes: ClusterSetting['nodes'] = [];
  for (const entry of entries) {
    const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([^\s:[\]/@]+)):(\d{1,5})$/.exec(entry);
    const port = Number(match?.[3]);
    if (!match || port < 1 || port > 65535)
      throw invalid(
        entry === '' ? `"${text}" has an empty entry` : `"${entry}" is not host:port`,
        'list the seed nodes as host:port,host:port,…',
      );
    nodes.push({ host: match[1] ?? match[2]!, port });
  }
  return nodes;
}

/**
 * The Redis settings of the environment: REDIS_URL, or REDIS_CLUSTER_NODES with REDIS_PASSWORD (the
 * password of every cluster node, if they have one). Neither: the hub runs its own redis-server.
 */
export function redisSettings(env: NodeJS.ProcessEnv): { redisUrl?: string; redisCluster?: ClusterSetting } {
  const url = env.REDIS_URL || undefined;
  const nodes = env.REDIS_CLUSTER_NODES?.trim() || undefined;
  if (url && nodes) throw invalid('is set together with REDIS_URL', 'set one of them');
  if (url) return { redisUrl: url };
  if (!nodes) return {};
  const password = env.REDIS_PASSWORD || undefined;
  return { redisCluster: { nodes: parseClusterNodes(nodes), ...(password ? { password } : {}) } };
}

function invalid(problem: string, remedy: string): ConfigError {
  return new ConfigError('REDIS_CLUSTER_NODES_INVALID', '<environment>', [
    { path: 'REDIS_CLUSTER_NODES', reason: `${problem}; ${remedy}` },
  ]);
}

/**
 * The hub's Redis: the cluster, else the server at `redisUrl`, else its own redis-server for
 * `dataDir` (see ensureRedis); `stop()` shuts down a server the hub runs and leaves the others be.
 */
export async function useRedis(options: {
  dataDir: string;
  redisUrl?: string;
  redisCluster?: ClusterSetting;
  logger: (message: string) => void;
}): Promise<{ target: RedisTarget; stop(): Promise<void> }> {
  const { redisUrl, redisCluster } = options;
  if (redisUrl && redisCluster) throw invalid('is set together with REDIS_URL', 'set one of them');
  if (!redisCluster) {
    const server = await ensureRedis({
      dataDir: options.dataDir,
      ...(redisUrl ? { redisUrl } : {}),
      logger: options.logger,
    });
    return { target: { url: server.url }, stop: () => server.stop() };
  }
  await checkCluster(redisCluster);
  options.logger(`redis: using the Redis Cluster at ${seedList(redisCluster)}`);
  return { target: { cluster: redisCluster }, stop: async () => undefined };
}

/**
 * Resolves once the cluster answers and says `cluster_state:ok`; otherwise QueueError
 * REDIS_UNREACHABLE within 10 s, naming the seed nodes (never the password).
 */
export async function checkCluster(setting: ClusterSetting): Promise<void> {
  const client = new Cluster(setting.nodes, {
    redisOptions: nodeOptions(setting, { maxRetriesPerRequest: 1 }),
    lazyConnect: true,
    clusterRetryStrategy: () => null,
  });
  client.on('error', () => undefined);
  try {
    const info = await withDeadline(
      client.connect().then(() => client.cluster('INFO')),
      CLUSTER_CHECK_MS,
      () => new Error(`no answer within ${CLUSTER_CHECK_MS / 1000} s`),
    );
    const state = /cluster_state:(\w+)/.exec(String(info))?.[1];
    if (state !== 'ok') throw new Error(`cluster_state is ${state ?? 'unknown'}`);
  } catch (error) {
    throw new QueueError(
      'REDIS_UNREACHABLE',
      `the Redis Cluster at REDIS_CLUSTER_NODES=${seedList(setting)} is not usable (${(error as Error).message})`,
    );
  } finally {
    client.disconnect();
  }
}

/** Opens a client on the target: a Redis, or a Cluster whose every node connection has `options`. */
export function openRedis(target: RedisTarget, options: ClientOptions = {}): RedisClient {
  if ('url' in target) return new Redis(target.url, options);
  return new Cluster(target.cluster.nodes, { redisOptions: nodeOptions(target.cluster, options) });
}

/** Another client to the same Redis or cluster, with `options` changed (their signatures differ). */
export function duplicateRedis(client: RedisClient, options: ClientOptions): RedisClient {
  return client instanceof Cluster ? client.duplicate([], { redisOptions: options }) : client.duplicate(options);
}

/**
 * The `connection` for every BullMQ Queue and Worker. On one server, options: each Queue and Worker
 * opens connections of its own, as BullMQ does by default. On a cluster one shared Cluster client
 * (each Worker still duplicates it for its blocking connection), closed by `close()` once the queues
 * and workers are.
 */
export function bullConnection(target: RedisTarget): { connection: ConnectionOptions; close(): void } {
  if ('url' in target) return { connection: { url: target.url, maxRetriesPerRequest: null }, close: () => undefined };
  // Lazy: it connects once the first Queue has its error listener on it. A worker's blocking
  // connection must wait out an outage, never give up on a command.
  const cluster = new Cluster(target.cluster.nodes, {
    redisOptions: nodeOptions(target.cluster, { maxRetriesPerRequest: null }),
    lazyConnect: true,
  });
  return { connection: cluster, close: () => cluster.disconnect() };
}

function seedList(setting: ClusterSetting): string {
  return setting.nodes
    .map(({ host, port }) => (host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`))
    .join(',');
}

function nodeOptions(setting: ClusterSetting, options: ClientOptions): RedisOptions {
  return { ...options, ...(setting.password === undefined ? {} : { password: setting.password }) };
}
