/**
 * Poison jobs on a real hub (its own Redis, real SQLite): retries are bounded in number and in
 * backoff, every failure is logged, and what cannot be processed ends as a dead letter with an
 * audit record, never a job retried forever or parked silently.
 */
import { cpSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Queue, Worker } from 'bullmq';
import pino from 'pino';
import { parseConfig } from '../hub/config/load';
import { startHub, type RunningHub } from '../hub/hub';
import type { HubContext } from '../hub/context';
import { enqueueInbound } from '../hub/pipeline/enqueue';
import { sweepOutbox } from '../hub/pipeline/outbox';
import { JOB_OPTIONS, MAX_BACKOFF_MS, WORKER_LOCKS, cappedBackoff } from '../hub/queue/queues';
import { listDeadLetters, messageTrace, queryAudit } from '../hub/store/index';
import { waitFor } from './support/http-target';
import { repoRoot } from './support/paths';

const logs: Array<Record<string, unknown>> = [];
const logStream = new Writable({
  write(chunk: Buffer, _encoding, done) {
    for (const line of chunk.toString('utf8').split('\n').filter(Boolean))
      logs.push(JSON.parse(line) as Record<string, unknown>);
    done();
  },
});

let hub: RunningHub;

/** The shipped scada mappings, and a mapping of system `loop` whose expression never ends. */
function mappingsWithALoop(): string {
  const dir = mkdtempSync(join(tmpdir(), 'handover-poison-mappings-'));
  cpSync(join(repoRoot, 'mappings', 'scada'), join(dir, 'scada'), { recursive: true });
  mkdirSync(join(dir, 'loop'));
  writeFileSync(
    join(dir, 'loop', 'forever.yaml'),
    [
      'id: loop-forever',
      'version: 1',
      'system: loop',
      'direction: inbound',
      'contentType: json',
      'types: [DowntimeEvent]',
      "expression: '($f := function($n) { $f($n + 1) }; $f(0))'",
      'timeoutMs: 100',
      '',
    ].join('\n'),
  );
  writeFileSync(join(dir, 'loop', 'forever.test.yaml'), 'cases: [{ name: never ends, input: {}, expected: [] }]\n');
  return dir;
}

beforeAll(async () => {
  hub = await startHub({
    config: parseConfig(`
systems:
  - { id: scada, name: SCADA, processOwner: Production, technicalOwner: OT }
  - { id: loop, name: Looping system, processOwner: Production, technicalOwner: OT }
ownership:
  DowntimeEvent: { owner: scada }
routes: []
`),
    dataDir: mkdtempSync(join(tmpdir(), 'handover-poison-')),
    mappingsDir: mappingsWithALoop(),
    env: { HANDOVER_TOKEN_SCADA: 'scada-token', HANDOVER_ADMIN_TOKEN: 'admin-token' },
    logger: pino({ level: 'info' }, logStream),
  });
});

afterAll(() => hub?.stop());

describe('retry bounds', () => {
  it('caps the backoff at 5 minutes and bounds attempts and stalls, so a job ends within hours', () => {
    const attempts = JOB_OPTIONS.attempts!;
    const job = { opts: { backoff: JOB_OPTIONS.backoff } };
    const waits = Array.from({ length: attempts - 1 }, (_, index) =>
      cappedBackoff(index + 1, 'capped', undefined, job),
    );
    expect(Math.max(...waits)).toBeLessThanOrEqual(MAX_BACKOFF_MS * 1.1);
    expect(MAX_BACKOFF_MS).toBeLessThanOrEqual(5 * 60 * 1000);
    expect(waits.reduce((sum, wait) => sum + wait, 0)).toBeLessThan(6 * 3600 * 1000);
    expect(attempts).toBeLessThanOrEqual(50);
    expect(WORKER_LOCKS.maxStalledCount).toBeLessThanOrEqual(5);
  });
});

describe('a payload that cannot be parsed for a mapping', () => {
  it('is an ingest dead letter at once, PAYLOAD_MALFORMED, without a retry', async () => {
    const messageId = await enqueueInbound(
      hub.context,
      { system: 'scada', contentType: 'json', body: 'state=running', receivedAt: new Date().toISOString() },
      undefined,
    );
    const trace = await waitFor(
      async () => {
        const found = await messageTrace(hub.context.db, messageId);
        return found?.status === 'invalid' ? found : undefined;
      },
      15000,
      'the message to be dead-lettered',
    );
    expect(trace.error).toMatchObject({ code: 'PAYLOAD_MALFORMED', problems: [{ path: '/' }] });
    const letters = await listDeadLetters(hub.context.db);
    expect(letters.find((letter) => letter.messageId === messageId)).toMatchObject({
      stage: 'ingest',
      code: 'PAYLOAD_MALFORMED',
    });
    expect(logs.filter((line) => line.msg === 'job failed' && line.jobId === messageId)).toEqual([]);
  });
});

describe('a mapping expression that never ends', () => {
  it('is stopped at its time limit: a MAPPING_TIMEOUT dead letter naming the mapping, and the worker goes on', async () => {
    const looping = await enqueueInbound(
      hub.context,
      { system: 'loop', contentType: 'json', body: '{"a":1}', receivedAt: new Date().toISOString() },
      undefined,
    );
    const trace = await waitFor(
      async () => {
        const found = await messageTrace(hub.context.db, looping);
        return found?.status === 'invalid' ? found : undefined;
      },
      15000,
      'the looping message to be dead-lettered',
    );
    expect(trace.error).toMatchObject({
      code: 'MAPPING_TIMEOUT',
      problems: [{ path: '/expression', reason: expect.stringContaining('loop-forever@1') }],
    });
    const next = await enqueueInbound(
      hub.context,
      { system: 'scada', contentType: 'json', body: 'still not json', receivedAt: new Date().toISOString() },
      undefined,
    );
    await waitFor(async () => (await messageTrace(hub.context.db, next))?.status === 'invalid', 15000, 'the next one');
  });
});

describe('a job that throws on every attempt', () => {
  it('is logged on each failure and becomes a PROCESSING_FAILED dead letter with an audit record', async () => {
    const jobId = 'poison-ingest-batch';
    // A message without its body (a corrupt job): translating it throws a TypeError every time.
    await hub.context.queues.ingest.add(
      'ingest',
      {
        messages: [
          {
            messageId: 'poison-ingest',
            system: 'erp',
            contentType: 'xml',
            receivedAt: new Date().toISOString(),
            receivedSeq: 1,
          },
        ],
      },
      { jobId, attempts: 3, backoff: { type: 'exponential', delay: 20 } },
    );
    const letter = await waitFor(
      async () => (await listDeadLetters(hub.context.db)).find((candidate) => candidate.messageId === 'poison-ingest'),
      20000,
      'the poison job to be dead-lettered',
    );
    expect(letter).toMatchObject({ stage: 'ingest', code: 'PROCESSING_FAILED' });
    expect(letter.reason).toMatch(/^ingest job poison-ingest-batch failed on attempt 3 of 3: TypeError: .* \(at .+\)$/);
    const failed = logs.filter((line) => line.msg === 'job failed' && line.jobId === jobId);
    expect(failed.map((line) => [line.queue, line.attempt])).toEqual([
      ['ingest', 1],
      ['ingest', 2],
    ]);
    expect(String(failed[0]!.error)).toMatch(/^TypeError: /);
    const audit = (await queryAudit(hub.context.db, { messageId: 'poison-ingest' })).find(
      (record) => record.kind === 'dead-letter',
    );
    expect(audit).toMatchObject({
      kind: 'dead-letter',
      decision: 'dead-letter',
      rule: 'processing',
      details: { code: 'PROCESSING_FAILED', jobId, queue: 'ingest', attempts: 3 },
    });
    // Nothing is left in Redis to be retried or to sit in the failed set unseen.
    expect(await hub.context.queues.ingest.getJob(jobId)).toBeUndefined();
  });
});

describe('a job that failed for good outside the guard (stall limit, or its dead letter could not be written)', () => {
  it('is filed as a PROCESSING_FAILED dead letter by the outbox sweep and removed from Redis', async () => {
    // Queues of their own (another prefix), so the hub's workers leave the job to the test's worker.
    const connection = hub.context.queues.ingest.opts.connection;
    const prefix = 'handover-sweep-test';
    const ingest = new Queue('ingest', { connection, prefix });
    const queues: HubContext['queues'] = {
      ingest,
      ingestFor: () => ingest,
      deliver: () => ingest,
      lanes: () => [],
      all: () => [ingest],
    };
    const ctx: HubContext = { ...hub.context, queues };
    const messageId = 'failed-for-good-1';
    await ingest.add(
      'ingest',
      {
        messageId,
        system: 'scada',
        contentType: 'json',
        body: '{}',
        receivedAt: new Date().toISOString(),
        receivedSeq: 1,
      },
      { jobId: messageId, attempts: 1 },
    );
    const worker = new Worker(
      'ingest',
      async () => {
        throw new Error('job stalled more than allowable limit');
      },
      { connection, prefix },
    );
    await waitFor(async () => (await ingest.getFailed()).length === 1, 10000, 'the job to fail');
    await worker.close();
    expect(await sweepOutbox(ctx)).toMatchObject({ parked: 1 });
    const letter = (await listDeadLetters(hub.context.db)).find((candidate) => candidate.messageId === messageId);
    expect(letter).toMatchObject({ code: 'PROCESSING_FAILED', reason: expect.stringContaining('stalled more than') });
    expect((await messageTrace(hub.context.db, messageId))?.status).toBe('failed');
    expect(await ingest.getJob(messageId)).toBeUndefined();
    expect(await sweepOutbox(ctx)).toMatchObject({ parked: 0 });
    await ingest.obliterate({ force: true });
    await ingest.close();
  });
});
