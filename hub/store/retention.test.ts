/**
 * Retention on SQLite and PostgreSQL, with rows dated in the past: old payloads and completed
 * deliveries go, recent ones and everything still needed stay, the audit log verifies, and a
 * retained-away message still has its trace.
 */
import pino from 'pino';
import { examples } from '../../schemas/examples';
import { wrap } from '../../schemas/canonical-json';
import type { CanonicalEnvelope } from '../../schemas/index';
import { DEFAULT_RETENTION, type HubConfig, type OwnershipConfig, type RetentionConfig } from '../config/schema';
import type { HubContext } from '../context';
import { createMetrics, type Metrics } from '../metrics';
import { runRetention } from '../pipeline/retention';
import { migrate } from './migrations';
import {
  applyDocument,
  getDelivery,
  getObject,
  listDeadLetters,
  markReplayed,
  messageTrace,
  newerDelivered,
  queryAudit,
  recordDead,
  recordDelivered,
  recordInvalid,
  recordReceived,
  removePayloads,
  storedMessage,
  verifyAudit,
  WALK_START,
  type Db,
} from './index';
import { storeBackends } from './test-backends';

const ownership: OwnershipConfig = { onNonOwnerWrite: 'reject', ProductionOrder: { owner: 'erp' } };
const DAY = 86_400_000;
const daysAgo = (days: number) => new Date(Date.now() - days * DAY).toISOString();

/** Receives and applies version `version` of order `key` as message `id`, received `age` days ago. */
async function receive(db: Db, id: string, key: string, version: number, age: number): Promise<void> {
  const envelope = {
    ...wrap(
      'ProductionOrder',
      { ...examples.ProductionOrder, id: key, description: `v${version}` } as typeof examples.ProductionOrder,
      'erp',
    ),
    messageId: id,
    version,
    occurredAt: `2024-05-02T0${version}:00:00Z`,
  } as CanonicalEnvelope;
  await recordReceived(db, {
    id,
    system: 'erp',
    receivedAt: daysAgo(age),
    receivedSeq: version,
    contentType: 'json',
    body: JSON.stringify(envelope),
    mapping: { name: 'canonical-json', documents: 1 },
  });
  await applyDocument(db, {
    messageId: id,
    docIndex: 0,
    envelope,
    receivedSeq: version,
    duplicateKey: false,
    partition: 0,
    ownership,
    plan: (decision) => (decision === 'accepted' ? [{ routeId: 'orders-to-mes', target: 'mes', kind: 'update' }] : []),
  });
  // The delivery was planned when the message came in.
  await db.execute('UPDATE deliveries SET created_at = $2 WHERE message_id = $1', [id, daysAgo(age)]);
}

/** Marks message `id`'s delivery delivered, `age` days ago. */
async function deliver(db: Db, id: string, age: number): Promise<void> {
  await recordDelivered(db, (await getDelivery(db, `${id}-0-mes`))!, 1, 200, 5);
  await db.execute('UPDATE deliveries SET delivered_at = $2 WHERE id = $1', [`${id}-0-mes`, daysAgo(age)]);
}

async function payloadOf(db: Db, id: string): Promise<string | undefined> {
  return (await storedMessage(db, id))?.body;
}

describe.each(storeBackends)('retention on %s', (_name, open) => {
  let db: Db;
  let drop: () => Promise<void>;
  let metrics: Metrics;
  beforeEach(async () => {
    ({ db, drop } = await open());
    metrics = createMetrics();
  });
  afterEach(async () => {
    metrics.stop();
    await db.close();
    await drop();
  });

  /** The parts of a hub a retention run uses, on the real store. */
  function context(retention: Partial<RetentionConfig> = {}): HubContext {
    return {
      config: { retention: { ...DEFAULT_RETENTION, ...retention } } as HubConfig,
      db,
      metrics,
      logger: pino({ level: 'silent' }),
    } as HubContext;
  }

  it('removes old payloads and completed deliveries and keeps recent, pending and dead ones', async () => {
    await receive(db, 'old-1', 'PO-A', 1, 40);
    await deliver(db, 'old-1', 40);
    await receive(db, 'old-2', 'PO-B', 1, 35);
    await deliver(db, 'old-2', 35);
    await receive(db, 'old-pending', 'PO-C', 1, 40);
    await receive(db, 'old-dead', 'PO-D', 1, 40);
    await recordDead(db, (await getDelivery(db, 'old-dead-0-mes'))!, 8, 'ATTEMPTS_EXHAUSTED', 'HTTP 503');
    await receive(db, 'recent', 'PO-E', 1, 2);
    await deliver(db, 'recent', 2);
    const auditBefore = (await queryAudit(db, { limit: 10000 })).length;

    const run = await runRetention(context());

    expect(run).toMatchObject({
      complete: true,
      payloads: { days: 30, removed: 4, kept: 0 },
      deliveries: { days: 30, removed: 2, kept: 0, remembered: 0 },
    });
    for (const id of ['old-1', 'old-2', 'old-pending', 'old-dead']) expect(await payloadOf(db, id)).toBeUndefined();
    expect(await payloadOf(db, 'recent')).toContain('PO-E');
    expect(await getDelivery(db, 'old-1-0-mes')).toBeUndefined();
    expect(await getDelivery(db, 'old-2-0-mes')).toBeUndefined();
    expect(await getDelivery(db, 'old-pending-0-mes')).toMatchObject({ status: 'pending' });
    expect(await getDelivery(db, 'old-dead-0-mes')).toMatchObject({ status: 'dead' });
    expect(await getDelivery(db, 'recent-0-mes')).toMatchObject({ status: 'delivered' });
    // Objects, their history and the dead letter stay.
    expect(await getObject(db, 'ProductionOrder', 'PO-A')).toMatchObject({ revision: 1, data: { description: 'v1' } });
    expect(await listDeadLetters(db)).toEqual([expect.objectContaining({ deliveryId: 'old-dead-0-mes' })]);

    // The audit log is whole, with one more record: the run's.
    expect(await verifyAudit(db)).toMatchObject({ ok: true, records: auditBefore + 1 });
    const [record] = await queryAudit(db, { afterSeq: auditBefore });
    expect(record).toMatchObject({
      kind: 'retention',
      decision: 'removed',
      rule: 'retention',
      details: {
        complete: true,
        payloads: { removed: 4, cutoff: run.payloads!.cutoff },
        deliveries: { removed: 2, cutoff: run.deliveries!.cutoff },
      },
    });
    expect(Date.parse(run.payloads!.cutoff)).toBeLessThan(Date.now() - 29 * DAY);

    const metricsText = await metrics.registry.metrics();
    expect(metricsText).toContain('handover_retention_removed_total{what="payload"} 4');
    expect(metricsText).toContain('handover_retention_removed_total{what="delivery"} 2');
  });

  it('still traces a message whose payload and delivery were removed, and says when', async () => {
    await receive(db, 'old-1', 'PO-A', 1, 40);
    await deliver(db, 'old-1', 40);
    await runRetention(context());
    const trace = await messageTrace(db, 'old-1');
    expect(trace).toMatchObject({
      messageId: 'old-1',
      system: 'erp',
      status: 'routed',
      retention: { payloadRemovedAt: expect.any(String), deliveriesRemovedAt: expect.any(String) },
      decisions: [expect.objectContaining({ decision: 'accepted', objectKey: 'PO-A' })],
      deliveries: [],
    });
    // What happened is still in the message's audit records: received, decided, delivered.
    expect(trace!.audit.map((record) => [record.kind, record.decision ?? null])).toEqual([
      ['received', null],
      ['decision', 'accepted'],
      ['delivery', 'delivered'],
    ]);
    expect((await messageTrace(db, 'recent-none'))?.retention).toBeUndefined();
  });

  it('keeps the payload an ingest dead letter needs and the deliveries a dead letter names', async () => {
    const invalid = {
      id: 'bad-1',
      system: 'erp',
      receivedAt: daysAgo(40),
      receivedSeq: 1,
      contentType: 'json',
      body: '{"not":"canonical"}',
      mapping: { name: 'canonical-json', documents: 0 },
    };
    const letter = await recordInvalid(db, invalid, 'CANONICAL_INVALID', [{ path: '/', reason: 'no documents' }]);
    // A dead delivery, replayed and then delivered: its (closed) dead letter can be replayed again.
    await receive(db, 'old-1', 'PO-A', 1, 40);
    const delivery = (await getDelivery(db, 'old-1-0-mes'))!;
    await recordDead(db, delivery, 8, 'ATTEMPTS_EXHAUSTED', 'HTTP 503');
    const [deadDelivery] = (await listDeadLetters(db)).filter((l) => l.deliveryId);
    await markReplayed(db, deadDelivery!, 'operator');
    await deliver(db, 'old-1', 39);
    await markReplayed(db, letter, 'operator');

    const run = await runRetention(context());

    expect(run.payloads).toMatchObject({ removed: 1, kept: 1 });
    expect(run.deliveries).toMatchObject({ removed: 0, kept: 1 });
    expect(await payloadOf(db, 'bad-1')).toBe('{"not":"canonical"}');
    expect(await payloadOf(db, 'old-1')).toBeUndefined();
    expect(await getDelivery(db, 'old-1-0-mes')).toMatchObject({ status: 'delivered' });
    expect((await verifyAudit(db)).ok).toBe(true);
  });

  it('counts a delivery from its last delivery: one replayed and delivered lately stays', async () => {
    await receive(db, 'old-1', 'PO-A', 1, 40);
    await deliver(db, 'old-1', 3);
    const run = await runRetention(context());
    expect(run.deliveries).toMatchObject({ removed: 0, kept: 1 });
    expect(await getDelivery(db, 'old-1-0-mes')).toMatchObject({ status: 'delivered' });
  });

  it('still refuses to replay an older revision over a newer one whose delivery retention removed', async () => {
    await receive(db, 'rev-1', 'PO-A', 1, 40);
    await recordDead(db, (await getDelivery(db, 'rev-1-0-mes'))!, 8, 'ATTEMPTS_EXHAUSTED', 'HTTP 503');
    await receive(db, 'rev-2', 'PO-A', 2, 40);
    await deliver(db, 'rev-2', 40);
    // Another object's old delivery has nothing older left waiting: it is not remembered.
    await receive(db, 'other', 'PO-B', 1, 40);
    await deliver(db, 'other', 40);

    const run = await runRetention(context());

    expect(run.deliveries).toMatchObject({ removed: 2, remembered: 1 });
    expect(await getDelivery(db, 'rev-2-0-mes')).toBeUndefined();
    const dead = (await getDelivery(db, 'rev-1-0-mes'))!;
    expect(await newerDelivered(db, dead)).toBe(2);
    const [letter] = await listDeadLetters(db);
    expect(await markReplayed(db, letter!, 'operator')).toEqual({
      ok: false,
      rollBack: expect.objectContaining({ revision: 1, deliveredRevision: 2, target: 'mes' }),
    });
    expect(await db.query('SELECT target, type, object_key, revision FROM delivered_heads')).toEqual([
      { target: 'mes', type: 'ProductionOrder', object_key: 'PO-A', revision: 2 },
    ]);
  });

  it('walks in batches of batchSize and removes nothing with 0 days', async () => {
    for (let i = 1; i <= 5; i += 1) {
      await receive(db, `old-${i}`, `PO-${i}`, 1, 40);
      await deliver(db, `old-${i}`, 40);
    }
    const forever = await runRetention(context({ payloadDays: 0, deliveryDays: 0 }));
    expect(forever).toMatchObject({ complete: true, batches: 0 });
    expect(forever.payloads).toBeUndefined();
    expect(await payloadOf(db, 'old-3')).toContain('PO-3');

    const batch = await removePayloads(db, daysAgo(30), WALK_START, 2);
    expect(batch).toMatchObject({ scanned: 2, removed: 2, next: { id: 'old-2' } });

    const run = await runRetention(context({ batchSize: 2 }));
    // Payloads: the 3 left in batches of 2 (2, 1); deliveries: 5 in batches of 2 (2, 2, 1).
    expect(run).toMatchObject({ payloads: { removed: 3 }, deliveries: { removed: 5 }, batches: 5 });
    expect(await db.query('SELECT message_id FROM payloads')).toEqual([]);
  });

  it('stops at its budget and says so; the next run goes on', async () => {
    for (let i = 1; i <= 3; i += 1) await receive(db, `old-${i}`, `PO-${i}`, 1, 40);
    const partial = await runRetention(context({ batchSize: 1 }), { budgetMs: -1 });
    expect(partial).toMatchObject({ complete: false, batches: 0 });
    const rest = await runRetention(context({ batchSize: 1 }));
    expect(rest).toMatchObject({ complete: true, payloads: { removed: 3 } });
    expect(await metrics.registry.metrics()).toContain('handover_retention_runs_total{outcome="partial"} 1');
  });

  it('upgrades a store written by schema 2 and removes from it', async () => {
    await receive(db, 'old-1', 'PO-A', 1, 40);
    await db.execute('DROP INDEX messages_payload_kept');
    await db.execute('ALTER TABLE messages DROP COLUMN payload_removed_at');
    await db.execute('ALTER TABLE messages DROP COLUMN deliveries_removed_at');
    await db.execute('DROP INDEX deliveries_pending');
    await db.execute('ALTER TABLE deliveries DROP COLUMN delivery_partition');
    await db.execute('ALTER TABLE deliveries DROP COLUMN claims');
    await db.execute('ALTER TABLE dead_letters DROP COLUMN discarded_at');
    await db.execute('UPDATE schema_version SET version = 2');
    await migrate(db);
    const [row] = await db.query<{ version: number }>('SELECT version FROM schema_version');
    expect(Number(row!.version)).toBe(9);
    expect((await runRetention(context())).payloads).toMatchObject({ removed: 1 });
    expect((await messageTrace(db, 'old-1'))?.retention?.payloadRemovedAt).toEqual(expect.any(String));
  });
});
