/**
 * Replay on a real hub (its own Redis, real SQLite, real HTTP target): a replay never sends an
 * older revision over a newer one (409 for one, skipped and audited in bulk), and a replay that was
 * committed but never queued (a crash in between) is queued by the periodic outbox sweep.
 */
import { cpSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import request from 'supertest';
import { parseConfig } from '../hub/config/load';
import { startHub, type RunningHub } from '../hub/hub';
import { partitionOf } from '../hub/queue/queue-keys';
import { getDelivery, listDeadLetters, markReplayed, messageTrace, queryAudit } from '../hub/store/index';
import { examples } from '../schemas/examples';
import { startHttpTarget, waitFor, type HttpTarget } from './support/http-target';
import { repoRoot } from './support/paths';

let hub: RunningHub;
let mes: HttpTarget;
let api: ReturnType<typeof request>;
const mappingsDir = mkdtempSync(join(tmpdir(), 'handover-replay-mappings-'));

const admin = () => ({ authorization: 'Bearer admin-token' });

beforeAll(async () => {
  mes = await startHttpTarget();
  const config = parseConfig(`
systems:
  - { id: erp, name: ERP, processOwner: Planning, technicalOwner: IT }
  - { id: mes, name: MES, processOwner: Production, technicalOwner: IT }
  - { id: qms, name: QMS, processOwner: Quality, technicalOwner: IT }
ownership:
  ProductionOrder: { owner: erp }
  QualityResult: { owner: qms }
routes:
  - { id: orders-to-mes, target: mes, types: [ProductionOrder], url: "${mes.url}/orders", retry: { attempts: 2, backoffMs: 10, maxBackoffMs: 20 } }
partitions: 2
`);
  hub = await startHub({
    config,
    dataDir: mkdtempSync(join(tmpdir(), 'handover-replay-')),
    mappingsDir,
    sweepIntervalMs: 300,
    env: { HANDOVER_TOKEN_ERP: 'erp-token', HANDOVER_TOKEN_QMS: 'qms-token', HANDOVER_ADMIN_TOKEN: 'admin-token' },
    logger: pino({ level: 'silent' }),
  });
  api = request(hub.url!);
});

afterAll(async () => {
  await hub?.stop();
  await mes?.close();
});

beforeEach(() => {
  mes.respond = () => 200;
});

/** Sends version `version` of order `key` from ERP and returns its message id. */
async function sendOrder(key: string, version: number): Promise<string> {
  const response = await api
    .post('/api/v1/inbound/erp')
    .set('authorization', 'Bearer erp-token')
    .set('content-type', 'application/json')
    .send(
      JSON.stringify({
        messageId: 'ignored',
        type: 'ProductionOrder',
        objectKey: key,
        version,
        sourceSystem: 'erp',
        occurredAt: `2024-05-02T0${version}:00:00Z`,
        receivedAt: '2024-05-02T06:00:00Z',
        document: { ...examples.ProductionOrder, id: key, description: `v${version}` },
      }),
    );
  expect(response.status).toBe(202);
  return response.body.messageId as string;
}

async function deadLetterOf(messageId: string) {
  return waitFor(
    async () => (await listDeadLetters(hub.context.db)).find((letter) => letter.messageId === messageId),
    20000,
    `the dead letter of ${messageId}`,
  );
}

async function delivered(messageId: string) {
  return waitFor(
    async () => (await messageTrace(hub.context.db, messageId))?.deliveries.find((d) => d.status === 'delivered'),
    20000,
    `the delivery of ${messageId}`,
  );
}

const receivedBy = (messageId: string) =>
  mes.received.filter((r) => r.headers['x-handover-message-id'] === messageId).length;

/** Revision 1 of `key` dead-lettered, then revision 2 delivered. */
async function deadThenNewer(key: string): Promise<{ older: string; newer: string }> {
  mes.respond = () => 500;
  const older = await sendOrder(key, 1);
  await deadLetterOf(older);
  mes.respond = () => 200;
  const newer = await sendOrder(key, 2);
  await delivered(newer);
  return { older, newer };
}

describe('a replay never rolls a target back', () => {
  it('answers a single replay of an older revision 409 REPLAY_WOULD_ROLL_BACK with both revisions', async () => {
    const { older } = await deadThenNewer('PO-RB-1');
    const letter = await deadLetterOf(older);
    // A delivery is rendered with the outbound mapping loaded now: there is no original to choose.
    const original = await api
      .post(`/api/v1/dead-letters/${letter.id}/replay`)
      .set(admin())
      .send({ mapping: 'original' });
    expect(original.status).toBe(400);
    expect(original.body.error.details).toEqual([{ path: '/mapping', reason: expect.stringContaining('ingest') }]);
    const answer = await api.post(`/api/v1/dead-letters/${letter.id}/replay`).set(admin());
    expect(answer.status).toBe(409);
    expect(answer.body.error).toMatchObject({
      code: 'REPLAY_WOULD_ROLL_BACK',
      details: { deadLetter: letter.id, target: 'mes', objectKey: 'PO-RB-1', revision: 1, deliveredRevision: 2 },
    });
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(receivedBy(older)).toBe(0);
    expect((await getDelivery(hub.context.db, letter.deliveryId!))?.status).toBe('dead');
    // Nothing is left to do for it: it leaves the open dead letters (bulk replays move on) and says why.
    expect((await listDeadLetters(hub.context.db)).some((l) => l.id === letter.id)).toBe(false);
    const all = await listDeadLetters(hub.context.db, { includeReplayed: true });
    expect(all.find((l) => l.id === letter.id)?.supersededAt).toEqual(expect.any(String));
  });

  it('replays what is safe in bulk, skips the roll-backs, counts both and audits each skip', async () => {
    // Dead letters of the test before stay out of this one's selection.
    const from = new Date().toISOString();
    const { older: rolledBack } = await deadThenNewer('PO-RB-2');
    mes.respond = () => 500;
    const safe = await sendOrder('PO-SAFE-2', 1);
    const safeLetter = await deadLetterOf(safe);
    const skippedLetter = await deadLetterOf(rolledBack);
    mes.respond = () => 200;

    const missingReason = await api.post('/api/v1/dead-letters/replay').set(admin()).send({ target: 'mes' });
    expect(missingReason.status).toBe(400);
    expect(missingReason.body.error.details).toEqual([expect.objectContaining({ path: '/reason' })]);

    const answer = await api.post('/api/v1/dead-letters/replay').set(admin()).send({
      stage: 'deliver',
      target: 'mes',
      code: 'ATTEMPTS_EXHAUSTED',
      from,
      reason: 'MES is back after its outage',
    });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ replayed: 1, skipped: 1 });
    expect(answer.body.replays).toEqual([expect.objectContaining({ deadLetter: safeLetter.id })]);
    expect(answer.body.skips).toEqual([
      expect.objectContaining({ deadLetter: skippedLetter.id, revision: 1, deliveredRevision: 2 }),
    ]);
    await delivered(safe);
    expect(receivedBy(rolledBack)).toBe(0);
    const audit = await queryAudit(hub.context.db, { messageId: rolledBack });
    expect(audit.find((record) => record.kind === 'replay')).toMatchObject({
      decision: 'skipped',
      target: 'mes',
      details: {
        code: 'REPLAY_WOULD_ROLL_BACK',
        revision: 1,
        deliveredRevision: 2,
        reason: 'MES is back after its outage',
      },
    });
  });
});

describe('a replay that raced a newer revision', () => {
  it('is never sent after the newer one: superseded and audited', async () => {
    // The replay of revision 1 passed its check while revision 2 was still on its way; 2 then arrived first.
    const { older } = await deadThenNewer('PO-RACE-1');
    const [dead] = (await messageTrace(hub.context.db, older))!.deliveries;
    await hub.context.db.execute(`UPDATE deliveries SET status = 'pending', attempts = 0 WHERE id = $1`, [dead!.id]);
    const partition = partitionOf('ProductionOrder', 'PO-RACE-1', 2);
    await hub.context.queues
      .deliver('mes', partition)
      .add('deliver', { deliveryId: dead!.id }, { jobId: `${dead!.id}-replay-race` });
    const settled = await waitFor(
      async () => {
        const row = await getDelivery(hub.context.db, dead!.id);
        return row && row.status !== 'pending' ? row : undefined;
      },
      20000,
      'the raced replay settled',
    );
    expect(settled.status).toBe('superseded');
    expect(receivedBy(older)).toBe(0);
    const audit = await queryAudit(hub.context.db, { messageId: older });
    expect(audit.find((record) => record.decision === 'superseded')).toMatchObject({
      rule: 'replay.no-roll-back',
      details: { revision: 1, deliveredRevision: 2, code: 'REPLAY_WOULD_ROLL_BACK' },
    });
  });
});

describe('the outbox sweep', () => {
  it('delivers a replayed delivery that was committed but never queued', async () => {
    mes.respond = () => 500;
    const messageId = await sendOrder('PO-CRASH-1', 1);
    const letter = await deadLetterOf(messageId);
    mes.respond = () => 200;
    // The crash window: the replay is committed, the process dies before it queues the job.
    const marked = await markReplayed(hub.context.db, letter, 'operator');
    await delivered(messageId);
    expect(receivedBy(messageId)).toBe(1);
    expect(marked).toMatchObject({ ok: true });
  });

  it('runs an ingest replay that was committed but never queued (after a mapping fix)', async () => {
    const payload = {
      resultId: 'QR-REPLAY-1',
      sampleId: 'SMP-1',
      specification: 'TS-SEAL-01',
      approvedAt: '2024-05-02T09:55:00Z',
      disposition: 'A',
      results: [{ parameter: 'Appearance', value: 'clear' }],
    };
    const posted = await api
      .post('/api/v1/inbound/qms')
      .set('authorization', 'Bearer qms-token')
      .set('content-type', 'application/json')
      .send(JSON.stringify(payload));
    const letter = await deadLetterOf(posted.body.messageId);
    expect(letter).toMatchObject({ stage: 'ingest', code: 'CANONICAL_INVALID' });
    mkdirSync(join(mappingsDir, 'qms'), { recursive: true });
    cpSync(join(repoRoot, 'mappings', 'qms', 'lims-result.yaml'), join(mappingsDir, 'qms', 'lims-result.yaml'));
    hub.context.mappings.reload();
    const marked = await markReplayed(hub.context.db, letter, 'operator');
    const trace = await waitFor(
      async () => {
        const found = await messageTrace(hub.context.db, posted.body.messageId);
        return found?.decisions.length ? found : undefined;
      },
      20000,
      'the replayed message to be decided',
    );
    expect(trace).toMatchObject({ status: 'routed', decisions: [{ objectKey: 'QR-REPLAY-1', decision: 'accepted' }] });
    expect(marked).toMatchObject({ ok: true });
  });

  it('is a no-op when a finished delivery is queued again (BullMQ removed its job)', async () => {
    const messageId = await sendOrder('PO-AGAIN-1', 1);
    const done = await delivered(messageId);
    const queue = hub.context.queues.deliver('mes', partitionOf('ProductionOrder', 'PO-AGAIN-1', 2));
    await queue.add('deliver', { deliveryId: done.id }, { jobId: done.id });
    await new Promise((resolve) => setTimeout(resolve, 800));
    expect(receivedBy(messageId)).toBe(1);
  });
});
