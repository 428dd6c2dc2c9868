/**
 * The hub on a Redis Cluster: a local cluster of three masters (REDIS_CLUSTER_NODES, REDIS_PASSWORD),
 * one `--role api` and two `--role worker` processes on PostgreSQL. The end-to-end flow and the
 * model-based test hold there, and every queue has a hash slot of its own, so the hub's keys sit
 * on all three masters. Needs `npm run build`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Lease } from '../hub/queue/lease';
import { connectorLeaseKey } from '../hub/queue/queue-keys';
import { checkCluster, duplicateRedis, openRedis } from '../hub/queue/redis-connection';
import { freePort, spawnHandover } from './support/hub-process';
import { waitFor } from './support/http-target';
import { repoRoot } from './support/paths';
import { runHistories } from './model/run';
import { startTopology, type RunningTopology } from './model/topology';

const schedule = readFileSync(
  join(repoRoot, 'seeds', 'packaging-line', 'b2mml', 'process-operations-schedule.xml'),
  'utf8',
);

let topology: RunningTopology;

beforeAll(async () => {
  topology = await startTopology('api+2 workers on a Redis Cluster');
}, 120_000);

afterAll(async () => {
  await topology?.stop();
}, 60_000);

const admin = (path: string, init: RequestInit = {}) =>
  fetch(`${topology.url}${path}`, { ...init, headers: { authorization: `Bearer ${topology.adminToken}` } });

describe('the hub on a 3-master Redis Cluster with an api and two worker processes', () => {
  it('takes a B2MML schedule in, delivers its orders, and traces and audits them', async () => {
    topology.setFaulty(false);
    const post = () =>
      fetch(`${topology.url}/api/v1/inbound/erp`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${topology.tokens.erp}`,
          'content-type': 'application/xml',
          'idempotency-key': 'cluster-schedule-1',
        },
        body: schedule,
      });
    const accepted = await post();
    expect(accepted.status).toBe(202);
    const { messageId } = (await accepted.json()) as { messageId: string };

    const trace = await waitFor(
      async () => {
        const response = await admin(`/api/v1/messages/${messageId}`);
        if (response.status !== 200) return undefined;
        const body = (await response.json()) as {
          status: string;
          decisions: Array<{ decision: string }>;
          deliveries: Array<{ target: string; status: string }>;
        };
        const settled = body.deliveries.length > 0 && body.deliveries.every((d) => d.status !== 'pending');
        return body.status === 'routed' && settled ? body : undefined;
      },
      30_000,
      `trace of ${messageId}`,
    );
    expect(trace.decisions.map((decision) => decision.decision)).toEqual(['accepted', 'accepted']);
    // Two orders, each to the MES and to reporting (never back to the ERP that sent them).
    expect(trace.deliveries.map((delivery) => `${delivery.target} ${delivery.status}`).sort()).toEqual([
      'bi delivered',
      'bi delivered',
      'mes delivered',
      'mes delivered',
    ]);
    const received = topology.received.filter((request) => request.headers['x-handover-message-id'] === messageId);
    expect(received.map((request) => request.path).sort()).toEqual(['/bi', '/bi', '/mes', '/mes']);

    // The Idempotency-Key lives in Redis (on whichever master its slot is): a repeat gets the first id.
    const repeat = await post();
    expect(((await repeat.json()) as { messageId: string }).messageId).toBe(messageId);
    const verify = await admin('/api/v1/audit/verify');
    expect(verify.status).toBe(200);
  }, 60_000);

  it('keeps its queues in slots of their own, spread over all three masters', async () => {
    const cluster = topology.cluster!;
    const perMaster = await Promise.all(
      cluster.nodes.map(async (node) => {
        const client = cluster.client(node);
        try {
          await client.connect();
          const keys: string[] = [];
          let cursor = '0';
          do {
            const [next, batch] = await client.scan(cursor, 'MATCH', 'handover:*', 'COUNT', 1000);
            cursor = next;
            keys.push(...batch);
          } while (cursor !== '0');
          return keys;
        } finally {
          client.disconnect();
        }
      }),
    );
    for (const keys of perMaster) {
      // Every master holds some queue's keys (`handover:{<queue>}:…`), not only the hub's single keys.
      expect(keys.filter((key) => key.startsWith('handover:{')).length).toBeGreaterThan(0);
    }
    // A queue's keys never straddle two masters: BullMQ's scripts need them in one slot.
    const queueOf = (key: string) => /^handover:\{([^}]+)\}/.exec(key)?.[1];
    const mastersOf = new Map<string, Set<number>>();
    perMaster.forEach((keys, master) => {
      for (const queue of keys.map(queueOf).filter(Boolean) as string[])
        mastersOf.set(queue, (mastersOf.get(queue) ?? new Set()).add(master));
    });
    expect(mastersOf.size).toBeGreaterThanOrEqual(3);
    expect([...mastersOf].filter(([, masters]) => masters.size > 1)).toEqual([]);
  }, 30_000);

  it('holds connector leases on a duplicate of the cluster client, as hub/connectors.ts opens them', async () => {
    const { nodes, password } = topology.cluster!;
    const hubClient = openRedis({ cluster: { nodes, password } }, { maxRetriesPerRequest: null });
    const leaseClient = duplicateRedis(hubClient, { maxRetriesPerRequest: 1, commandTimeout: 2000 });
    try {
      const key = connectorLeaseKey(`cluster-test-${Date.now()}`);
      const a = new Lease(leaseClient, key, 'process-a', 5000);
      const b = new Lease(leaseClient, key, 'process-b', 5000);
      expect(await a.acquire()).toBe(true);
      expect(await b.acquire()).toBe(false);
      expect(await b.renew()).toBe(false);
      expect(await a.renew()).toBe(true);
      await a.release();
      expect(await b.acquire()).toBe(true);
      expect(await a.currentHolder()).toBe('process-b');
      await b.release();
    } finally {
      leaseClient.disconnect();
      hubClient.disconnect();
    }
  }, 30_000);

  // The model test's own seeds and batch size (test/model/model.test.ts), here on the cluster.
  it.each([101, 202])(
    'ends where the sequential model says: concurrent histories, seed %i',
    async (seed) => {
      topology.setFaulty(true);
      const result = await runHistories(topology, { seed, objects: 8, concurrency: 24 });
      expect(result.problems).toEqual([]);
    },
    120_000,
  );

  it('makes every decision the model makes: sequential histories with scope moves', async () => {
    topology.setFaulty(true);
    const result = await runHistories(topology, { seed: 102, objects: 3, concurrency: 1, sequential: true });
    expect(result.problems).toEqual([]);
  }, 120_000);
});

describe('REDIS_CLUSTER_NODES', () => {
  const start = async (env: NodeJS.ProcessEnv) => {
    const child = spawnHandover(['start', '--port', '0'], {
      fromBuild: true,
      stderr: 'pipe',
      env: { ...process.env, HANDOVER_ADMIN_TOKEN: 'admin', REDIS_URL: '', REDIS_CLUSTER_NODES: '', ...env },
    });
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    return { code, stderr };
  };

  it('stops start-up with REDIS_CLUSTER_NODES_INVALID, naming the entry it cannot read', async () => {
    const bad = await start({ REDIS_CLUSTER_NODES: '127.0.0.1:7000,redis-b' });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('REDIS_CLUSTER_NODES_INVALID');
    expect(bad.stderr).toContain('"redis-b" is not host:port');
    const both = await start({ REDIS_CLUSTER_NODES: '127.0.0.1:7000', REDIS_URL: 'redis://127.0.0.1:6379' });
    expect(both.code).toBe(1);
    expect(both.stderr).toContain('is set together with REDIS_URL');
  }, 30_000);

  it('is REDIS_UNREACHABLE at start-up when no seed node answers', async () => {
    const port = await freePort();
    await expect(checkCluster({ nodes: [{ host: '127.0.0.1', port }] })).rejects.toThrow(
      `REDIS_UNREACHABLE: the Redis Cluster at REDIS_CLUSTER_NODES=127.0.0.1:${port} is not usable`,
    );
  }, 30_000);
});
