import { examples } from '../../schemas/examples';
import { wrap } from '../../schemas/canonical-json';
import type { CanonicalEnvelope } from '../../schemas/index';
import type { OwnershipConfig } from '../config/schema';
import { migrate } from './migrations';
import {
  appendAudit,
  applyDocument,
  getDelivery,
  getObject,
  listDeadLetters,
  markReplayed,
  recordInvalid,
  unstartedReplayRequests,
  messageTrace,
  queryAudit,
  recordDead,
  recordDelivered,
  recordBatch,
  recordReceived,
  verifyAudit,
  type Db,
  type IntakeItem,
} from './index';
import { storeBackends } from './test-backends';

const ownership: OwnershipConfig = {
  onNonOwnerWrite: 'reject',
  ProductionOrder: { owner: 'erp', fields: { state: 'mes' } },
};

function order(messageId: string, overrides: Partial<CanonicalEnvelope> = {}, state = 'Released'): CanonicalEnvelope {
  const envelope = wrap(
    'ProductionOrder',
    { ...examples.ProductionOrder, state } as typeof examples.ProductionOrder,
    'erp',
  );
  return { ...envelope, messageId, occurredAt: '2024-05-02T05:00:00Z', ...overrides } as CanonicalEnvelope;
}

async function apply(db: Db, messageId: string, envelope: CanonicalEnvelope, receivedSeq = 1) {
  await recordReceived(db, {
    id: messageId,
    system: envelope.sourceSystem,
    receivedAt: envelope.receivedAt,
    receivedSeq,
    contentType: 'json',
    body: '{}',
    mapping: { name: 'canonical-json', documents: 1 },
  });
  return applyDocument(db, {
    messageId,
    docIndex: 0,
    envelope,
    receivedSeq,
    duplicateKey: false,
    partition: 0,
    ownership,
    plan: (decision) => (decision === 'accepted' ? [{ routeId: 'orders-to-mes', target: 'mes', kind: 'update' }] : []),
  });
}

describe.each(storeBackends)('stores on %s', (_name, open) => {
  let db: Db;
  let drop: () => Promise<void>;
  beforeEach(async () => {
    ({ db, drop } = await open());
  });
  afterEach(async () => {
    await db.close();
    await drop();
  });

  it('creates its tables idempotently', async () => {
    await migrate(db);
    await migrate(db);
    expect((await verifyAudit(db)).ok).toBe(true);
  });

  it('applies an accepted document: object, history, decision, planned delivery and audit in one go', async () => {
    const outcome = await apply(db, 'm1', order('m1'));
    expect(outcome).toMatchObject({
      decision: 'accepted',
      rule: 'ownership.ProductionOrder.owner = erp',
      revision: 1,
      replayed: false,
    });
    expect(outcome.deliveries).toEqual([expect.objectContaining({ id: 'm1-0-mes', target: 'mes', status: 'pending' })]);
    const object = await getObject(db, 'ProductionOrder', examples.ProductionOrder.id);
    expect(object).toMatchObject({
      owner: 'erp',
      revision: 1,
      data: { ...examples.ProductionOrder, state: 'Released' },
    });
    const trace = await messageTrace(db, 'm1');
    expect(trace!.decisions).toEqual([
      expect.objectContaining({ decision: 'accepted', rule: 'ownership.ProductionOrder.owner = erp' }),
    ]);
    expect(trace!.audit.map((record) => record.kind)).toEqual(['received', 'decision']);
  });

  it('writes one audit record per decision: a message’s receipt is in its first decision (or invalid) record', async () => {
    const received = (id: string, documents: number, receivedSeq: number): IntakeItem['message'] => ({
      id,
      system: 'erp',
      receivedAt: '2024-05-02T05:00:01Z',
      receivedSeq,
      contentType: 'json',
      idempotencyKey: `key-${id}`,
      body: `{"n":${receivedSeq}}`,
      mapping: { name: 'canonical-json', documents },
    });
    const second = order('two', { objectKey: 'PO-2' });
    (second.document as { id: string }).id = 'PO-2';
    const items: IntakeItem[] = [
      { message: received('two', 2, 1), ok: true, envelopes: [order('two'), second] },
      {
        message: received('bad', 0, 2),
        ok: false,
        code: 'CANONICAL_INVALID',
        problems: [{ path: '/0', reason: 'no' }],
      },
      { message: received('none', 0, 3), ok: true, envelopes: [] },
    ];
    await recordBatch(db, items, () => ({
      ownership,
      partition: 0,
      plan: () => [],
    }));
    const receipt = (id: string, documents: number, n: number) => ({
      contentType: 'json',
      bytes: `{"n":${n}}`.length,
      idempotencyKey: `key-${id}`,
      mapping: 'canonical-json',
      documents,
    });
    const records = await queryAudit(db, {});
    expect(records.map((record) => [record.messageId, record.kind, record.details.received])).toEqual([
      ['two', 'decision', receipt('two', 2, 1)],
      ['two', 'decision', undefined],
      ['bad', 'invalid', receipt('bad', 0, 2)],
      // A message that made no document has no decision to carry its receipt: it keeps a record of its own.
      ['none', 'received', undefined],
    ]);
    expect(records[3]!.details).toEqual(receipt('none', 0, 3));
    expect((await verifyAudit(db)).ok).toBe(true);
  });

  it('returns the first outcome when the same document is applied again after a crash, changing nothing', async () => {
    await apply(db, 'm1', order('m1'));
    const before = (await queryAudit(db, {})).length;
    const again = await apply(db, 'm1', order('m1'));
    expect(again).toMatchObject({ decision: 'accepted', replayed: true });
    expect(again.deliveries.map((delivery) => delivery.id)).toEqual(['m1-0-mes']);
    expect((await queryAudit(db, {})).length).toBe(before);
    expect((await getObject(db, 'ProductionOrder', examples.ProductionOrder.id))!.revision).toBe(1);
  });

  it('never lets an older version overwrite a newer one', async () => {
    await apply(db, 'm2', order('m2', { version: 5 }, 'Released'), 2);
    const stale = await apply(db, 'm1', order('m1', { version: 4, occurredAt: '2024-05-02T06:00:00Z' }, 'Held'), 3);
    expect(stale).toMatchObject({ decision: 'stale', rule: 'ordering.version', deliveries: [] });
    const object = await getObject(db, 'ProductionOrder', examples.ProductionOrder.id);
    expect(object).toMatchObject({ version: 5, revision: 1 });
  });

  it('merges a field owner’s change into the stored object and keeps its history', async () => {
    await apply(db, 'm1', order('m1'));
    const mes = {
      ...order('m2', {}, 'Running'),
      sourceSystem: 'mes',
      occurredAt: '2024-05-02T06:10:00Z',
    } as CanonicalEnvelope;
    expect(await apply(db, 'm2', mes, 2)).toMatchObject({
      decision: 'accepted',
      rule: 'ownership.ProductionOrder.fields.state = mes',
    });
    const object = await getObject(db, 'ProductionOrder', examples.ProductionOrder.id);
    expect(object!.data.state).toBe('Running');
    expect(object!.owner).toBe('erp');
    expect(object!.history.map((entry) => [entry.revision, entry.sourceSystem])).toEqual([
      [1, 'erp'],
      [2, 'mes'],
    ]);
  });

  it('records delivery outcomes once, and dead letters with their reason', async () => {
    await apply(db, 'm1', order('m1'));
    const delivery = (await getDelivery(db, 'm1-0-mes'))!;
    expect(delivery.envelope.document).toMatchObject({ id: examples.ProductionOrder.id });
    await recordDelivered(db, delivery, 2, 200, 15);
    await recordDelivered(db, delivery, 3, 200, 15);
    expect(await getDelivery(db, 'm1-0-mes')).toMatchObject({ status: 'delivered', attempts: 2, lastStatus: 200 });
    expect((await queryAudit(db, { messageId: 'm1' })).filter((record) => record.kind === 'delivery')).toHaveLength(1);

    const changed = {
      ...order('m3', { occurredAt: '2024-05-02T07:00:00Z' }),
      document: { ...examples.ProductionOrder, description: 'changed' },
    } as CanonicalEnvelope;
    await apply(db, 'm3', changed, 3);
    const second = (await getDelivery(db, 'm3-0-mes'))!;
    await recordDead(db, second, 8, 'ATTEMPTS_EXHAUSTED', 'HTTP 503 from http://127.0.0.1:1/x');
    expect(await listDeadLetters(db)).toEqual([
      expect.objectContaining({ stage: 'deliver', deliveryId: 'm3-0-mes', code: 'ATTEMPTS_EXHAUSTED', system: 'erp' }),
    ]);
    expect((await verifyAudit(db)).ok).toBe(true);
  });

  it('replays a dead delivery only while no newer revision reached its target', async () => {
    await apply(db, 'm1', order('m1'));
    const first = (await getDelivery(db, 'm1-0-mes'))!;
    await recordDead(db, first, 8, 'ATTEMPTS_EXHAUSTED', 'HTTP 503');
    const [letter] = await listDeadLetters(db);
    const changed = { ...order('m2', { occurredAt: '2024-05-02T07:00:00Z' }), document: { ...examples.ProductionOrder, description: 'changed' } } as CanonicalEnvelope; // prettier-ignore
    await apply(db, 'm2', changed, 2);
    await recordDelivered(db, (await getDelivery(db, 'm2-0-mes'))!, 1, 200, 5);
    expect(await markReplayed(db, letter!, 'operator', 'after the outage')).toEqual({
      ok: false,
      rollBack: expect.objectContaining({ deadLetter: letter!.id, revision: 1, deliveredRevision: 2, target: 'mes' }),
    });
    expect(await getDelivery(db, 'm1-0-mes')).toMatchObject({ status: 'dead' });
    const audit = await queryAudit(db, { messageId: 'm1' });
    expect(audit.at(-1)).toMatchObject({ kind: 'replay', decision: 'skipped', rule: 'replay.no-roll-back' });
    expect((await verifyAudit(db)).ok).toBe(true);
  });

  it('keeps one dead letter per invalid message however often ingest runs, and a durable replay request', async () => {
    const message = {
      id: 'bad-1',
      system: 'erp',
      receivedAt: '2024-05-02T06:00:00Z',
      receivedSeq: 1,
      contentType: 'json',
      body: '{}',
      mapping: { name: 'canonical-json', documents: 0 },
    };
    const problems = [{ path: '/', reason: 'no documents' }];
    const letter = await recordInvalid(db, message, 'CANONICAL_INVALID', problems);
    expect(await recordInvalid(db, message, 'CANONICAL_INVALID', problems)).toEqual(letter);
    expect(await listDeadLetters(db)).toHaveLength(1);
    expect(await markReplayed(db, letter, 'operator')).toEqual({
      ok: true,
      replay: 1,
      jobId: 'bad-1-replay-1',
      queue: 'ingest',
    });
    expect(await unstartedReplayRequests(db)).toEqual([
      expect.objectContaining({ id: 'bad-1-replay-1', deadLetterId: letter.id, messageId: 'bad-1' }),
    ]);
    // The replay's run finds it invalid again: a new dead letter, since the first one was replayed.
    expect((await recordInvalid(db, message, 'CANONICAL_INVALID', problems)).id).not.toBe(letter.id);
  });

  describe('the audit log proves it is complete and unaltered', () => {
    beforeEach(async () => {
      for (let i = 1; i <= 4; i += 1)
        await apply(db, `m${i}`, order(`m${i}`, { occurredAt: `2024-05-02T0${i}:00:00Z` }), i);
    });

    it('verifies an intact chain', async () => {
      expect(await verifyAudit(db)).toMatchObject({ ok: true, records: 8, headSeq: 8, problems: [] });
    });

    it('names an edited record', async () => {
      await db.execute(`UPDATE audit_log SET decision = 'rejected' WHERE seq = 4`);
      expect((await verifyAudit(db)).problems).toEqual([expect.objectContaining({ seq: 4, problem: 'edited' })]);
    });

    it('names a deleted record', async () => {
      await db.execute('DELETE FROM audit_log WHERE seq = 3');
      expect((await verifyAudit(db)).problems).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ seq: 4, problem: 'deleted', detail: 'records 3…3 are missing' }),
        ]),
      );
    });

    it('notices that the last records were removed', async () => {
      await db.execute('DELETE FROM audit_log WHERE seq >= 7');
      expect((await verifyAudit(db)).problems).toEqual([expect.objectContaining({ problem: 'truncated' })]);
    });

    it('names a record forged behind the last one the hub wrote', async () => {
      await db.execute(
        `INSERT INTO audit_log (seq, at, kind, details, prev_hash, hash) SELECT 9, at, 'decision', '{}', hash, hash FROM audit_log WHERE seq = 8`,
      );
      expect((await verifyAudit(db)).problems).toEqual([
        expect.objectContaining({ seq: 9, problem: 'edited' }),
        expect.objectContaining({
          seq: 9,
          problem: 'inserted',
          detail: 'records 9…9 were added after the last one the hub wrote (8)',
        }),
      ]);
    });

    it('names records renumbered to hide an insertion', async () => {
      // Two steps, so the primary key never collides mid-update.
      await db.execute('UPDATE audit_log SET seq = seq + 100 WHERE seq >= 7');
      await db.execute('UPDATE audit_log SET seq = seq - 99 WHERE seq >= 107');
      const problems = (await verifyAudit(db)).problems;
      expect(problems).toEqual(expect.arrayContaining([expect.objectContaining({ seq: 8, problem: 'deleted' })]));
      expect(problems).toEqual(expect.arrayContaining([expect.objectContaining({ seq: 8, problem: 'edited' })]));
    });

    it('stays intact while records are appended during the verification (one consistent view)', async () => {
      let writing = true;
      let written = 0;
      const writer = (async () => {
        while (writing) {
          await db.transaction((tx) => appendAudit(tx, [{ kind: 'received', messageId: `w${written}` }]));
          written += 1;
        }
      })();
      let rounds = 0;
      try {
        while (written < 100 || rounds < 10) {
          const result = await verifyAudit(db, 3);
          expect(result.problems).toEqual([]);
          expect(result.records).toBe(result.headSeq);
          rounds += 1;
          // Lets the writer's group commit run (SQLite flushes it on the next turn of the event loop).
          await new Promise((resolve) => setImmediate(resolve));
        }
      } finally {
        writing = false;
        await writer;
      }
      expect((await verifyAudit(db)).records).toBe(8 + written);
    });

    it('keeps the chain intact under concurrent writers', async () => {
      await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          apply(
            db,
            `c${i}`,
            order(`c${i}`, { occurredAt: `2024-05-03T00:00:${String(i).padStart(2, '0')}Z` }),
            100 + i,
          ),
        ),
      );
      expect(await verifyAudit(db)).toMatchObject({ ok: true, records: 48 });
    });
  });
});
