/**
 * A local Redis Cluster for tests: three masters without replicas, each a password-protected
 * redis-server with its own port, directory and cluster-config-file, fsyncing every write, joined by
 * `redis-cli --cluster create`. `stop()` ends the servers and removes their files.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { waitFor } from './http-target';
import { freePort } from './hub-process';

export interface LocalRedisCluster {
  /** The three masters (every node of this cluster is one). */
  nodes: Array<{ host: string; port: number }>;
  /** The nodes as REDIS_CLUSTER_NODES wants them: `127.0.0.1:p1,127.0.0.1:p2,127.0.0.1:p3`. */
  seeds: string;
  /** Every node's password (REDIS_PASSWORD). */
  password: string;
  /** A plain client of one node (for SCAN and CLUSTER INFO): the caller disconnects it. */
  client(node: { host: string; port: number }): Redis;
  stop(): Promise<void>;
}

const NODES = 3;

/** Starts three redis-servers in a temporary directory and makes them one cluster with `cluster_state:ok`. */
export async function startRedisCluster(): Promise<LocalRedisCluster> {
  const root = mkdtempSync(join(tmpdir(), 'handover-redis-cluster-'));
  const password = `cluster-${process.pid}-${Date.now()}`;
  const servers: ChildProcess[] = [];
  const nodes: LocalRedisCluster['nodes'] = [];
  const client = (node: { host: string; port: number }) =>
    new Redis({ ...node, password, lazyConnect: true, maxRetriesPerRequest: 1 });

  const stop = async () => {
    await Promise.all(
      servers.map(async (server) => {
        if (server.exitCode !== null || server.signalCode !== null) return;
        const exited = once(server, 'exit');
        server.kill('SIGTERM');
        const timer = setTimeout(() => server.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }),
    );
    rmSync(root, { recursive: true, force: true });
  };

  const taken = new Set<number>();
  const distinctPort = async () => {
    for (;;) {
      const port = await freePort();
      if (taken.has(port)) continue;
      taken.add(port);
      return port;
    }
  };
  try {
    for (let index = 0; index < NODES; index += 1) {
      // The cluster bus gets a free port of its own: port + 10000 (the default) may be taken or past 65535.
      const [port, busPort] = [await distinctPort(), await distinctPort()];
      const dir = join(root, `node-${port}`);
      mkdirSync(dir);
      // Given by argument (no config file to write): each node keeps its cluster state in its own directory.
      const args = [
        ...['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--logfile', join(dir, 'redis.log')],
        ...['--cluster-enabled', 'yes', '--cluster-config-file', join(dir, 'nodes.conf')],
        ...['--cluster-port', String(busPort)],
        ...['--appendonly', 'yes', '--appendfsync', 'always', '--save', ''],
        ...['--maxmemory-policy', 'noeviction', '--requirepass', password, '--masterauth', password],
      ];
      servers.push(spawn('redis-server', args, { stdio: 'ignore' }));
      nodes.push({ host: '127.0.0.1', port });
    }
    for (const node of nodes) await waitFor(() => answers(client(node)), 10_000, `redis-server on ${node.port}`);
    await promisify(execFile)(
      'redis-cli',
      [
        '--cluster',
        'create',
        ...nodes.map(({ host, port }) => `${host}:${port}`),
        ...['--cluster-replicas', '0', '--cluster-yes'],
      ],
      { env: { ...process.env, REDISCLI_AUTH: password }, timeout: 30_000 },
    );
    for (const node of nodes) await waitFor(() => clusterOk(client(node)), 30_000, `cluster_state:ok on ${node.port}`);
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    nodes,
    seeds: nodes.map(({ host, port }) => `${host}:${port}`).join(','),
    password,
    client,
    stop,
  };
}

async function answers(redis: Redis): Promise<boolean> {
  try {
    await redis.connect();
    return (await redis.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    redis.disconnect();
  }
}

async function clusterOk(redis: Redis): Promise<boolean> {
  try {
    await redis.connect();
    return String(await redis.cluster('INFO')).includes('cluster_state:ok');
  } catch {
    return false;
  } finally {
    redis.disconnect();
  }
}
