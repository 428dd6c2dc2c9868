/** The pages a target partition's worker delivers from, on real SQLite and PostgreSQL. */
import { examples } from '../../schemas/examples';
import { wrap } from '../../schemas/canonical-json';
import type { CanonicalEnvelope } from '../../schemas/index';
import {
  applyDocument,
  deliveriesOf,
  getDelivery,
  pendingPage,
  realignPartitions,
  recordDeliveredMany,
  recordDrainSteps,
  recordReceived,
  settleClaims,
  type ApplyInput,
  type ApplyOutcome,
  type Db,
} from './index';
import { storeBackends } from './test-backends';

let seq = 0;

/** Records a message from `system` with one ProductionOrder, decided and planned as `options` say. */
async function send(
  db: Db,
  system: string,
  order: Record<string, unknown> & { id: string },
  version: number,
  options: Pick<ApplyInput, 'ownership' | 'plan'> & { partition?: number },
): Promise<{ messageId: string; outcome: ApplyOutcome }> {
  seq += 1;
  const messageId = `m-${order.id}-${version}-${seq}`;
  const envelope = {
    ...wrap('ProductionOrder', order as unknown as typeof examples.ProductionOrder, system),
    messageId,
    objectKey: order.id,
    version,
  } as CanonicalEnvelope;
  await recordReceived(db, {
    id: messageId,
    system,
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
    partition: options.partition ?? 0,
    ownership: options.ownership,
    plan: options.plan,
  });
  return { messageId, outcome };
}

/** Accepts a new version of ProductionOrder `key` from ERP, planned for `mes` in `partition`. */
async function write(db: Db, key: string, version: number, partition = 0): Promise<string> {
  const order = { ...examples.ProductionOrder, id: key, description: `version ${version}` };
  const { messageId } = await send(db, 'erp', order, version, {
    partition,
    ownership: { ProductionOrder: { owner: 'erp', reject: 'reject' } } as never,
    plan: () => [{ routeId: 'orders-to-mes', target: 'mes', kind: 'update' }],
  });
  return messageId;
}

describe.each(storeBackends)('delivery pages on %s', (_name, open) => {
  let db: Db;
  let drop: () => Promise<void>;
  beforeEach(async () => {
    ({ db, drop } = await open());
  });
  afterEach(async () => {
    await db.close();
    await drop();
  });

  it('holds whole objects, counted as objects, and says when more may be waiting', async () => {
    // A drain stops at a page that says nothing more is waiting: with a page limited by rows that
    // counted the objects it held (fewer than the limit), the worker stopped with objects still pending.
    for (let version = 1; version <= 30; version += 1) await write(db, 'PO-LONG', version);
    for (let n = 0; n < 5; n += 1) await write(db, `PO-OTHER-${n}`, 1);
    // The first 40 pending deliveries hold all 6 objects; PO-LONG's long backlog does not hide the others.
    const all = await pendingPage(db, 'mes', 0, 10, 40);
    expect(all.chains).toHaveLength(6);
    const long = all.chains.find((chain) => chain[0]!.objectKey === 'PO-LONG')!;
    expect(long.map((delivery) => delivery.objectRevision)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    expect(all.more).toBe(false);
    // The object limit reached: more may wait.
    const three = await pendingPage(db, 'mes', 0, 3, 40);
    expect(three.chains).toHaveLength(3);
    expect(three.more).toBe(true);
    // The scan's limit reached (its 10 deliveries are PO-LONG's): the page holds that object whole, and more may wait.
    const first = await pendingPage(db, 'mes', 0, 10, 10);
    expect(first.chains.map((chain) => chain.length)).toEqual([30]);
    expect(first.more).toBe(true);
  });

  it('moves pending deliveries to the partition a new partition count gives their object', async () => {
    await write(db, 'PO-MOVE-1', 1, 3);
    await write(db, 'PO-MOVE-1', 2, 3);
    await write(db, 'PO-STAY-1', 1, 0);
    expect(await realignPartitions(db, (_type, key) => (key === 'PO-MOVE-1' ? 1 : 0))).toBe(2);
    expect((await pendingPage(db, 'mes', 3, 10)).chains).toHaveLength(0);
    const moved = (await pendingPage(db, 'mes', 1, 10)).chains;
    expect(moved.map((chain) => chain.map((delivery) => [delivery.objectKey, delivery.objectRevision]))).toEqual([
      [
        ['PO-MOVE-1', 1],
        ['PO-MOVE-1', 2],
      ],
    ]);
    expect(await realignPartitions(db, (_type, key) => (key === 'PO-MOVE-1' ? 1 : 0))).toBe(0);
  });

  it('tells the drain of a revision the target received whose delivery retention removed', async () => {
    // Fails when the page asks the deliveries alone: a pending replay of revision 1 would roll the target back.
    await write(db, 'PO-KEPT-1', 1);
    await db.execute(
      `INSERT INTO delivered_heads (target, type, object_key, revision) VALUES ('mes', 'ProductionOrder', 'PO-KEPT-1', 4)`,
    );
    const [chain] = (await pendingPage(db, 'mes', 0, 10)).chains;
    expect(chain?.map((delivery) => [delivery.objectRevision, delivery.deliveredRevision])).toEqual([[1, 4]]);
  });

  it('gives each pending revision its own document, kept once in the history, also on rows that carry a copy', async () => {
    // Fails if a delivery read the object's current document (every revision would say "version 3"),
    // or if the document were lost on the way (deliveries keep the envelope without it).
    const ids = [];
    for (let version = 1; version <= 3; version += 1) ids.push(await write(db, 'PO-ONCE-1', version));
    const [chain] = (await pendingPage(db, 'mes', 0, 10)).chains;
    expect(chain!.map((delivery) => (delivery.envelope.document as { description: string }).description)).toEqual([
      'version 1',
      'version 2',
      'version 3',
    ]);
    expect(chain!.map((delivery) => delivery.envelope.version)).toEqual([1, 2, 3]);
    const [row] = await db.query<{ envelope: string }>('SELECT envelope FROM deliveries WHERE message_id = $1', [
      ids[0],
    ]);
    expect(JSON.parse(row!.envelope)).not.toHaveProperty('document');
    // A row written by an earlier release carries its document: that one is what it delivers.
    const earlier = { ...chain![0]!.envelope, document: { ...examples.ProductionOrder, description: 'as copied' } };
    await db.execute('UPDATE deliveries SET envelope = $2 WHERE message_id = $1', [ids[0], JSON.stringify(earlier)]);
    const [copied] = await deliveriesOf(db, ids[0]!);
    expect((copied!.envelope.document as { description: string }).description).toBe('as copied');
    expect((await getDelivery(db, copied!.id))!.envelope.document).toEqual(earlier.document);
  });

  it('counts a claim against each delivery the last drain had in flight and never ended, once', async () => {
    // Fails if a drain that ends normally, or a delivery that arrived or failed an attempt, were counted.
    const ids: string[] = [];
    for (const key of ['PO-FLIGHT-1', 'PO-FLIGHT-2', 'PO-FLIGHT-3']) {
      const messageId = await write(db, key, 1);
      ids.push((await deliveriesOf(db, messageId))[0]!.id);
    }
    const [first, second, third] = ids as [string, string, string];
    const lane = { target: 'mes', partition: 0 };
    // A drain takes all three up; the first arrives, an attempt of the second fails; then it dies.
    await recordDeliveredMany(db, [], { ...lane, ids: [first, second, third] });
    const arrived = (await getDelivery(db, first))!;
    await recordDeliveredMany(db, [{ delivery: arrived, attempts: 1, status: 200, latencyMs: 1 }], {
      ...lane,
      ids: [second, third],
    });
    await recordDrainSteps(db, [], [{ id: second, attempts: 1, error: 'HTTP 503', status: 503 }], {
      ...lane,
      ids: [third],
    });
    expect(await settleClaims(db, 'mes', 0)).toBe(1);
    const claims = async () => Promise.all(ids.map(async (id) => (await getDelivery(db, id))!.claims));
    expect(await claims()).toEqual([0, 0, 1]);
    // The next drain found it once; a drain after that, which ended cleanly, counts nothing.
    expect(await settleClaims(db, 'mes', 0)).toBe(0);
    await recordDeliveredMany(db, [], { ...lane, ids: [third] });
    await recordDeliveredMany(db, [], { ...lane, ids: [] });
    expect(await settleClaims(db, 'mes', 0)).toBe(0);
    expect(await claims()).toEqual([0, 0, 1]);
    // Another partition's drain keeps its own.
    await recordDeliveredMany(db, [], { target: 'mes', partition: 1, ids: [third] });
    expect(await settleClaims(db, 'mes', 0)).toBe(0);
    expect(await settleClaims(db, 'mes', 1)).toBe(1);
    expect(await claims()).toEqual([0, 0, 2]);
  });

  it('sends a change request with the proposed document, not the stored one', async () => {
    await write(db, 'PO-PROPOSE-1', 1);
    const proposed = { ...examples.ProductionOrder, id: 'PO-PROPOSE-1', description: 'proposed by MES' };
    const { messageId, outcome } = await send(db, 'mes', proposed, 2, {
      ownership: { onNonOwnerWrite: 'propose', ProductionOrder: { owner: 'erp' } } as never,
      plan: () => [{ routeId: 'changes-to-erp', target: 'erp', kind: 'change-request' }],
    });
    expect(outcome.decision).toBe('proposed');
    const [request] = await deliveriesOf(db, messageId);
    expect(request!.envelope).toMatchObject({ verb: 'Change', document: { description: 'proposed by MES' } });
  });

  it('refuses to hand out a delivery whose revision has no history row, rather than send it without a document', async () => {
    const messageId = await write(db, 'PO-NO-HISTORY-1', 1);
    await db.execute(`DELETE FROM object_history WHERE object_key = 'PO-NO-HISTORY-1'`);
    await expect(deliveriesOf(db, messageId)).rejects.toThrow(
      /revision 1 of ProductionOrder PO-NO-HISTORY-1 has no history row/,
    );
  });
});
