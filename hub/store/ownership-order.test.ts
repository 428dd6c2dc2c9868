/**
 * Ownership and ordering through the store, on SQLite and PostgreSQL: the interleavings concurrent
 * apply jobs meet (A-B-A, field groups with their own versions, non-owners, scope moves).
 */
import { examples } from '../../schemas/examples';
import type { CanonicalEnvelope } from '../../schemas/index';
import type { OwnershipConfig } from '../config/schema';
import { applyDocument, getObject, queryAudit, recordReceived, type Db } from './index';
import { migrate } from './migrations';
import { storeBackends } from './test-backends';

const ownership: OwnershipConfig = {
  onNonOwnerWrite: 'reject',
  ProductionOrder: { owner: 'erp', fields: { state: 'mes' } },
  DowntimeEvent: { owner: 'mes', scopes: [{ equipment: 'LINE-2', owner: 'mes2' }] },
};

const plan = { ...examples.ProductionOrder, id: 'PO-1', state: 'Released' } as Record<string, unknown>;
const planA = { ...plan, description: 'plan A' };
const planB = { ...plan, description: 'plan B' };

let seq = 0;

async function apply(
  db: Db,
  sourceSystem: string,
  document: Record<string, unknown>,
  extra: { version?: number; occurredAt?: string; type?: string; key?: string } = {},
) {
  seq += 1;
  const messageId = `m-${seq}`;
  const envelope = {
    messageId,
    type: extra.type ?? 'ProductionOrder',
    objectKey: extra.key ?? 'PO-1',
    sourceSystem,
    occurredAt: extra.occurredAt ?? '2024-05-02T05:00:00Z',
    receivedAt: '2024-05-02T05:00:00Z',
    document,
    ...(extra.version === undefined ? {} : { version: extra.version }),
  } as CanonicalEnvelope;
  await recordReceived(db, {
    id: messageId,
    system: sourceSystem,
    receivedAt: envelope.receivedAt,
    receivedSeq: seq,
    contentType: 'json',
    body: '{}',
    mapping: { name: 'canonical-json', documents: 1 },
  });
  const outcome = await applyDocument(db, {
    messageId,
    docIndex: 0,
    envelope,
    receivedSeq: seq,
    duplicateKey: false,
    partition: 0,
    ownership,
    plan: () => [],
  });
  const [audit] = await queryAudit(db, { messageId }).then((records) => records.filter((r) => r.kind === 'decision'));
  return { ...outcome, audit: audit! };
}

describe.each(storeBackends)('ownership and ordering on %s', (_name, open) => {
  let db: Db;
  let drop: () => Promise<void>;
  beforeEach(async () => {
    ({ db, drop } = await open());
  });
  afterEach(async () => {
    await db.close();
    await drop();
  });

  it('judges order against the newest version seen: A(v3), A(v5) duplicate, late B(v4) is stale', async () => {
    expect((await apply(db, 'erp', planA, { version: 3 })).decision).toBe('accepted');
    expect((await apply(db, 'erp', planA, { version: 5 })).decision).toBe('duplicate');
    const late = await apply(db, 'erp', planB, { version: 4 });
    expect(late).toMatchObject({ decision: 'stale', rule: 'ordering.version' });
    const object = await getObject(db, 'ProductionOrder', 'PO-1');
    expect(object?.data.description).toBe('plan A');
    expect(object?.version).toBe(5);
  });

  it("answers an object's history with the decision and rule of each revision, and its other decisions newest first", async () => {
    await apply(db, 'erp', planA, { version: 1 });
    await apply(db, 'qms', planB, { version: 2 });
    await apply(db, 'mes', { ...planA, state: 'Running' }, { version: 1 });
    const object = await getObject(db, 'ProductionOrder', 'PO-1');
    expect(
      object?.history.map(({ revision, sourceSystem, decision, rule }) => ({ revision, sourceSystem, decision, rule })),
    ).toEqual([
      { revision: 1, sourceSystem: 'erp', decision: 'accepted', rule: 'ownership.ProductionOrder.owner = erp' },
      { revision: 2, sourceSystem: 'mes', decision: 'accepted', rule: 'ownership.ProductionOrder.fields.state = mes' },
    ]);
    expect(object?.decisions.map(({ decision, revision }) => ({ decision, revision }))).toEqual([
      { decision: 'accepted', revision: 2 },
      { decision: 'rejected' },
      { decision: 'accepted', revision: 1 },
    ]);
  });

  it('decides ownership before content: a non-owner re-sending the stored object unchanged is rejected', async () => {
    await apply(db, 'erp', planA, { version: 1 });
    const probe = await apply(db, 'qms', planA, { version: 1 });
    expect(probe).toMatchObject({ decision: 'rejected', rule: 'ownership.ProductionOrder.owner = erp' });
    expect(probe.audit).toMatchObject({ decision: 'rejected', system: 'qms' });
  });

  it('never moves a watermark with a rejected write', async () => {
    await apply(db, 'erp', planA, { version: 1 });
    expect((await apply(db, 'qms', planB, { version: 9 })).decision).toBe('rejected');
    expect((await apply(db, 'erp', planB, { version: 2 })).decision).toBe('accepted');
  });

  it('gives each field group its own watermark: MES versions are not compared with ERP versions', async () => {
    await apply(db, 'erp', planA, { version: 40 });
    // MES numbers its own changes; its first state change is its version 1.
    const running = await apply(db, 'mes', { ...planA, state: 'Running' }, { version: 1 });
    expect(running).toMatchObject({ decision: 'accepted', rule: 'ownership.ProductionOrder.fields.state = mes' });
    const object = await getObject(db, 'ProductionOrder', 'PO-1');
    expect(object?.data.state).toBe('Running');
    // MES's write keeps ERP's version of the object rather than storing NULL over it.
    expect(object?.version).toBe(40);
    // ERP's next plan change is still judged against ERP's version 40.
    expect((await apply(db, 'erp', planB, { version: 39 })).decision).toBe('stale');
    expect((await apply(db, 'erp', planB, { version: 41 })).decision).toBe('accepted');
    // And MES's late version 0 is stale against MES's own watermark.
    expect((await apply(db, 'mes', { ...planB, state: 'Held' }, { version: 0 })).decision).toBe('stale');
    expect((await getObject(db, 'ProductionOrder', 'PO-1'))?.data).toMatchObject({
      description: 'plan B',
      state: 'Running',
    });
  });

  it('applies a field owner’s change made on an older copy of the other fields, ignoring those fields', async () => {
    await apply(db, 'erp', planA, { version: 1 });
    await apply(db, 'erp', planB, { version: 2 });
    // MES still holds plan A and changes the state on it.
    const result = await apply(db, 'mes', { ...planA, state: 'Running' }, { version: 1 });
    expect(result.decision).toBe('accepted');
    expect(result.audit.details.ignoredFields).toEqual(['description']);
    expect((await getObject(db, 'ProductionOrder', 'PO-1'))?.data).toMatchObject({
      description: 'plan B',
      state: 'Running',
    });
  });

  it('lists the owner’s stale copy of another group as ignored fields, never applying it', async () => {
    await apply(db, 'erp', planA, { version: 1 });
    await apply(db, 'mes', { ...planA, state: 'Running' }, { version: 1 });
    const resend = await apply(db, 'erp', { ...planB, state: 'Released' }, { version: 2 });
    expect(resend.decision).toBe('accepted');
    expect(resend.audit.details.ignoredFields).toEqual(['state']);
    expect((await getObject(db, 'ProductionOrder', 'PO-1'))?.data).toMatchObject({
      description: 'plan B',
      state: 'Running',
    });
  });

  it('resolves the owner from the stored object’s scope: another line’s system cannot take an object over', async () => {
    const event = {
      id: 'DT-1',
      equipmentId: 'LINE-1',
      equipmentLevel: 'ProductionLine',
      startTime: '2024-05-02T06:00:00Z',
    };
    const at = { type: 'DowntimeEvent', key: 'DT-1' };
    expect((await apply(db, 'mes', event, { ...at, version: 1 })).decision).toBe('accepted');
    const takeover = await apply(db, 'mes2', { ...event, equipmentId: 'LINE-2' }, { ...at, version: 2 });
    expect(takeover).toMatchObject({ decision: 'rejected', rule: 'ownership.DowntimeEvent.owner = mes' });
    expect((await getObject(db, 'DowntimeEvent', 'DT-1'))?.data.equipmentId).toBe('LINE-1');
    // Its current owner may move it; from then on the new scope's owner owns it.
    expect((await apply(db, 'mes', { ...event, equipmentId: 'LINE-2' }, { ...at, version: 3 })).decision).toBe(
      'accepted',
    );
    expect((await getObject(db, 'DowntimeEvent', 'DT-1'))?.owner).toBe('mes2');
    expect(
      (
        await apply(
          db,
          'mes',
          { ...event, equipmentId: 'LINE-2', endTime: '2024-05-02T06:10:00Z' },
          { ...at, version: 4 },
        )
      ).decision,
    ).toBe('rejected');
  });

  it('serialises concurrent creations of one object: one accepted, the rest decided against it', async () => {
    const results = await Promise.all(
      [1, 2, 3, 4, 5, 6].map((version) =>
        apply(db, 'erp', { ...plan, description: `v${version}` }, { version, key: 'PO-RACE' }),
      ),
    );
    expect(results.every((result) => ['accepted', 'stale'].includes(result.decision))).toBe(true);
    expect((await getObject(db, 'ProductionOrder', 'PO-RACE'))?.data.description).toBe('v6');
  });
});

describe.each(storeBackends)('upgrading a store of schema 1 on %s', (_name, open) => {
  let db: Db;
  let drop: () => Promise<void>;
  beforeEach(async () => {
    ({ db, drop } = await open());
  });
  afterEach(async () => {
    await db.close();
    await drop();
  });

  /** Turns the fresh store back into what release 1 wrote: no watermarks, no ignored fields, no delivery partitions or claims, no retention notes. */
  async function downgradeToSchema1(): Promise<void> {
    await db.execute('DROP INDEX messages_payload_kept');
    await db.execute('ALTER TABLE messages DROP COLUMN payload_removed_at');
    await db.execute('ALTER TABLE messages DROP COLUMN deliveries_removed_at');
    await db.execute('ALTER TABLE objects DROP COLUMN watermarks');
    await db.execute('ALTER TABLE decisions DROP COLUMN ignored_fields');
    await db.execute('ALTER TABLE dead_letters DROP COLUMN superseded_at');
    await db.execute('ALTER TABLE dead_letters DROP COLUMN discarded_at');
    await db.execute('DROP INDEX deliveries_pending');
    await db.execute('ALTER TABLE deliveries DROP COLUMN delivery_partition');
    await db.execute('ALTER TABLE deliveries DROP COLUMN claims');
    await db.execute('UPDATE schema_version SET version = 1');
  }

  it('keeps the objects and lets the owner go on when MES wrote last with its own numbers', async () => {
    await downgradeToSchema1();
    // Release 1 stored the version of whoever wrote last: here MES's version 50 of its state change.
    await db.execute(
      `INSERT INTO objects (type, object_key, revision, version, occurred_at, received_seq, owner, source_system, message_id, content_hash, data, updated_at)
       VALUES ('ProductionOrder', 'PO-1', 2, 50, '2024-05-02T05:00:00Z', 2, 'erp', 'mes', 'm-old', '', $1, '2024-05-02T05:00:00Z')`,
      [JSON.stringify({ ...planA, state: 'Running' })],
    );
    await migrate(db);
    const [row] = await db.query<{ version: number }>('SELECT version FROM schema_version');
    expect(Number(row!.version)).toBe(9);
    expect((await apply(db, 'erp', planB, { version: 41 })).decision).toBe('accepted');
    expect((await getObject(db, 'ProductionOrder', 'PO-1'))?.data).toMatchObject({
      description: 'plan B',
      state: 'Running',
    });
  });

  it('refuses a store written by a newer release instead of lowering its schema version', async () => {
    await db.execute('UPDATE schema_version SET version = 99');
    await expect(migrate(db)).rejects.toThrow(/schema version 99, newer than/);
    const [row] = await db.query<{ version: number }>('SELECT version FROM schema_version');
    expect(Number(row!.version)).toBe(99);
  });
});
