/**
 * Queue statistics on a real Redis: the hub's queues, opened as an API process opens them, hold a
 * payload that waits with no worker anywhere; once a worker hub joins on the same Redis and
 * PostgreSQL the counts drain. Stub queues show the deadline and a Redis that refuses CLIENT LIST.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import pino from 'pino';
import { parseConfig } from '../config/load';
import type { HubContext, HubQueues } from '../context';
import { startHub, type RunningHub } from '../hub';
import { createQueues } from '../queue/queues';
import { bullConnection } from '../queue/redis-connection';
import { ensureRedis, type RedisHandle } from '../queue/redis-server';
import { freshSchema, type FreshSchema } from '../../test/support/postgres';
import { orderEnvelopeJson } from '../../test/support/hub-process';
import { startHttpTarget, waitFor, type HttpTarget } from '../../test/support/http-target';
import type { IngestJob } from './jobs';
import { quantileOf, queueStats, type QueueFigures, type QueueStats } from './queue-stats';

function figures(stats: QueueStats[], name: string): QueueFigures {
  const found = stats.find((entry) => entry.name === name);
  if (!found?.ok) throw new Error(`no figures for ${name}: ${JSON.stringify(found)}`);
  return found;
}

describe('the hub’s queues on a real Redis, before and after a worker hub joins', () => {
  let redis: RedisHandle;
  let schema: FreshSchema;
  let target: HttpTarget;
  let queues: HubQueues;
  let client: Redis;
  let worker: RunningHub | undefined;
  const config = () =>
    parseConfig(`
systems:
  - { id: erp, name: ERP, processOwner: Planning, technicalOwner: IT }
  - { id: mes, name: MES, processOwner: Production, technicalOwner: IT }
ownership:
  ProductionOrder: { owner: erp }
routes:
  - { id: orders-to-mes, target: mes, types: [ProductionOrder], url: "${target.url}/orders", timeoutMs: 5000 }
partitions: 2
`);

  beforeAll(async () => {
    redis = await ensureRedis({ dataDir: mkdtempSync(join(tmpdir(), 'handover-queue-stats-redis-')) });
    schema = await freshSchema();
    target = await startHttpTarget();
    // What an API process of the hub has: the queues, and no worker.
    queues = createQueues(bullConnection({ url: redis.url }).connection, config());
    client = new Redis(redis.url);
  });
  afterAll(async () => {
    await worker?.stop();
    client?.disconnect();
    await Promise.all((queues?.all() ?? []).map((queue) => queue.close()));
    await target?.close();
    await schema?.drop();
    await redis?.stop();
  });

  it('names every queue with its stage, and a delivery queue with its target and partition', async () => {
    const stats = await queueStats({ queues, redis: client });
    expect(stats.map(({ name, stage, target, partition }) => ({ name, stage, target, partition }))).toEqual([
      { name: 'ingest', stage: 'ingest' },
      { name: 'deliver-mes-0', stage: 'deliver', target: 'mes', partition: 0 },
      { name: 'deliver-mes-1', stage: 'deliver', target: 'mes', partition: 1 },
    ]);
    for (const entry of stats)
      expect(entry).toMatchObject({
        ok: true,
        waiting: 0,
        active: 0,
        delayed: 0,
        failed: 0,
        prioritized: 0,
        workers: 0,
        noWorker: false,
      });
    expect(stats.every((entry) => entry.ok && entry.oldestWaitingMs === undefined)).toBe(true);
  });

  it('shows a job waiting with no worker: noWorker, and the age of the job next in line', async () => {
    // The ingest job the door queues for one payload.
    const ingestJob = (key: string, receivedSeq: number): IngestJob => ({
      messages: [
        {
          messageId: randomUUID(),
          system: 'erp',
          contentType: 'json',
          body: orderEnvelopeJson(key),
          receivedAt: new Date().toISOString(),
          receivedSeq,
        },
      ],
    });
    const queuedAt = Date.now();
    await queues.ingest.add('ingest', ingestJob('QS-1', 1), { jobId: randomUUID() });
    // A partition of a target no longer configured, with a wake-up no worker anywhere will take.
    await queues.deliver('old-mes', 1).add('deliver', {});
    await new Promise((resolve) => setTimeout(resolve, 60));
    // A newer job behind it does not make the queue look younger.
    await queues.ingest.add('ingest', ingestJob('QS-2', 2), { jobId: randomUUID() });
    const stats = await queueStats({ queues, redis: client });
    const ingest = figures(stats, 'ingest');
    expect(ingest).toMatchObject({ stage: 'ingest', waiting: 2, active: 0, workers: 0, noWorker: true });
    expect(ingest.oldestWaitingMs).toBeGreaterThanOrEqual(50);
    expect(ingest.oldestWaitingMs).toBeLessThanOrEqual(Date.now() - queuedAt + 5);
    expect(figures(stats, 'deliver-old-mes-1')).toMatchObject({
      stage: 'deliver',
      target: 'old-mes',
      partition: 1,
      waiting: 1,
      workers: 0,
      noWorker: true,
    });
    expect(figures(stats, 'deliver-mes-0')).toMatchObject({ waiting: 0, noWorker: false });
    // A second look a little later finds the same job, further along.
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(figures(await queueStats({ queues, redis: client }), 'ingest').oldestWaitingMs).toBeGreaterThan(
      ingest.oldestWaitingMs!,
    );
  });

  it('drains once a worker hub runs: its queues are empty and worked, the orphan partition still waits', async () => {
    worker = await startHub({
      config: config(),
      dataDir: mkdtempSync(join(tmpdir(), 'handover-queue-stats-worker-')),
      databaseUrl: schema.url,
      redisUrl: redis.url,
      role: 'worker',
      env: { HANDOVER_TOKEN_ERP: 'erp-token', HANDOVER_ADMIN_TOKEN: 'admin-token' },
      logger: pino({ level: 'silent' }),
    });
    await waitFor(() => target.received.length === 2, 20000, 'both orders to reach MES');
    const stats = await waitFor(async () => {
      const current = await queueStats({ queues, redis: client });
      const hubs = current.filter((entry) => entry.name !== 'deliver-old-mes-1');
      return hubs.every((entry) => entry.ok && entry.waiting + entry.active + entry.delayed === 0)
        ? current
        : undefined;
    });
    for (const name of ['ingest', 'deliver-mes-0', 'deliver-mes-1']) {
      const entry = figures(stats, name);
      expect(entry).toMatchObject({ waiting: 0, active: 0, delayed: 0, failed: 0, noWorker: false });
      expect(entry.workers).toBeGreaterThanOrEqual(1);
      expect(entry.oldestWaitingMs).toBeUndefined();
    }
    expect(figures(stats, 'deliver-old-mes-1')).toMatchObject({ waiting: 1, workers: 0, noWorker: true });
    // The worker hub sees its own queues the same way.
    expect(figures(await queueStats(worker.context), 'ingest').workers).toBeGreaterThanOrEqual(1);
    // The worker's waits reach the API process through Redis: the two orders waited from their
    // post until the worker hub started, their deliveries far less.
    const waits = await waitFor(async () => {
      const current = await queueStats({ queues, redis: client });
      const [ingest, mes0, mes1] = ['ingest', 'deliver-mes-0', 'deliver-mes-1'].map((name) => figures(current, name));
      return ingest!.p95WaitMs !== undefined && mes0!.p95WaitMs !== undefined ? { ingest, mes0, mes1 } : undefined;
    }, 10000);
    expect(waits.ingest!.p95WaitMs).toBeGreaterThanOrEqual(50);
    // A deliver queue's figure is its target's, over its partitions.
    expect(waits.mes1!.p95WaitMs).toBe(waits.mes0!.p95WaitMs);
    expect(figures(await queueStats({ queues, redis: client }), 'deliver-old-mes-1').p95WaitMs).toBeUndefined();
  });
});

describe('against queues that misbehave', () => {
  const stub = (
    name: string,
    parts: Partial<Record<'getJobCounts' | 'getWorkers' | 'getJobs', () => Promise<unknown>>>,
  ) =>
    ({
      name,
      getJobCounts: async () => ({ waiting: 2, active: 0, delayed: 0, failed: 0, prioritized: 0 }),
      getWorkers: async () => [],
      getJobs: async () => [{ timestamp: Date.now() - 1000 }],
      ...parts,
    }) as unknown as Queue;
  const contextOf = (queues: Queue[]) =>
    ({ queues: { all: () => queues, lanes: () => [] }, redis: { hgetall: async () => ({}) } }) as unknown as Pick<
      HubContext,
      'queues' | 'redis'
    >;

  it('reports a queue Redis does not answer for within the deadline, and still the others', async () => {
    const never = () => new Promise<never>(() => undefined);
    const began = Date.now();
    const stats = await queueStats(
      contextOf([stub('deliver-a-0', { getJobCounts: never }), stub('ingest', {}), stub('x', { getJobs: never })]),
      100,
    );
    expect(Date.now() - began).toBeLessThan(1000);
    expect(stats).toEqual([
      {
        name: 'deliver-a-0',
        stage: 'deliver',
        target: 'a',
        partition: 0,
        ok: false,
        error: 'Redis did not answer the job counts within 100 ms',
      },
      expect.objectContaining({ name: 'ingest', ok: true, waiting: 2, workers: 0, noWorker: true }),
      { name: 'x', stage: 'other', ok: false, error: 'Redis did not answer the next waiting job within 100 ms' },
    ]);
    expect((stats[1] as QueueFigures).oldestWaitingMs).toBeGreaterThanOrEqual(1000);
  });

  it('gives no worker count, and no noWorker alarm, where Redis refuses CLIENT LIST', async () => {
    const refused = async () => [{ name: 'GCP does not support client list' }];
    const [entry] = await queueStats(contextOf([stub('ingest', { getWorkers: refused })]));
    expect(entry).toMatchObject({ ok: true, waiting: 2, noWorker: false });
    expect((entry as QueueFigures).workers).toBeUndefined();
  });
});

describe('the p95 wait read off histogram buckets', () => {
  const buckets = (entries: Array<[string, number]>) => new Map(entries);
  it('interpolates inside the bucket the rank falls in, as histogram_quantile does', () => {
    // 100 waits: 90 under 100 ms, 10 between 100 ms and 250 ms.
    expect(
      quantileOf(
        buckets([
          ['0.1', 90],
          ['0.25', 100],
          ['+Inf', 100],
        ]),
        0.95,
      ),
    ).toBeCloseTo(0.175);
    expect(
      quantileOf(
        buckets([
          ['0.005', 20],
          ['+Inf', 20],
        ]),
        0.95,
      ),
    ).toBeCloseTo(0.00475);
  });
  it('answers the highest bound for waits past it, and nothing for no waits', () => {
    expect(
      quantileOf(
        buckets([
          ['900', 0],
          ['+Inf', 4],
        ]),
        0.95,
      ),
    ).toBe(900);
    expect(quantileOf(buckets([]), 0.95)).toBeUndefined();
  });
});
