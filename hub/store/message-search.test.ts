/** Message search on real SQLite and PostgreSQL: each filter, filters together, pages, limits and cursors. */
import { examples } from '../../schemas/examples';
import { wrap } from '../../schemas/canonical-json';
import type { CanonicalEnvelope } from '../../schemas/index';
import type { OwnershipConfig } from '../config/schema';
import { recordBatch, recordProcessingFailed, type Db, type IntakeItem } from './index';
import {
  MESSAGE_SEARCH_INDEXES,
  SearchCursorError,
  SearchFilterError,
  searchMessages,
  type MessageSearch,
} from './message-search';
import { storeBackends } from './test-backends';

const ownership: OwnershipConfig = { onNonOwnerWrite: 'reject', ProductionOrder: { owner: 'erp' } };

/** 2024-05-02 06:mm:00 UTC, as the door writes received_at. */
const at = (minute: number) => new Date(Date.UTC(2024, 4, 2, 6, minute)).toISOString();

interface Sent {
  id: string;
  system: string;
  minute: number;
  key?: string;
  /** Keys of the ProductionOrders it carries. */
  orders?: string[];
  correlationId?: string;
  outcome?: 'invalid' | 'failed';
}

/** Records messages through the hub's write paths: a batch's intake, or a processing failure. */
async function receive(db: Db, messages: Sent[]): Promise<void> {
  for (const [seq, sent] of messages.entries()) {
    const receivedAt = at(sent.minute);
    const message: IntakeItem['message'] = {
      id: sent.id,
      system: sent.system,
      receivedAt,
      receivedSeq: seq + 1,
      contentType: 'json',
      body: '{}',
      mapping: { name: 'canonical-json', documents: sent.orders?.length ?? 0 },
      ...(sent.key === undefined ? {} : { idempotencyKey: sent.key }),
    };
    if (sent.outcome === 'failed') {
      await recordProcessingFailed(db, {
        messageId: sent.id,
        system: sent.system,
        reason: 'boom',
        details: {},
        message,
      });
      continue;
    }
    const envelopes = (sent.orders ?? []).map(
      (key) =>
        ({
          ...wrap(
            'ProductionOrder',
            { ...examples.ProductionOrder, id: key, description: `from ${sent.id}` } as typeof examples.ProductionOrder,
            sent.system,
          ),
          messageId: sent.id,
          receivedAt,
          occurredAt: receivedAt,
          ...(sent.correlationId === undefined ? {} : { correlationId: sent.correlationId }),
        }) as CanonicalEnvelope,
    );
    const item: IntakeItem =
      sent.outcome === 'invalid'
        ? { message, ok: false, code: 'CANONICAL_INVALID', problems: [{ path: '/0/type', reason: 'unknown type' }] }
        : { message, ok: true, envelopes };
    await recordBatch(db, [item], () => ({
      ownership,
      partition: 0,
      plan: () => [{ routeId: 'orders-to-mes', target: 'mes', kind: 'update' }],
    }));
  }
}

/** Newest first: (3, m-07), (2, m-06), (2, m-05), (2, m-04), (1, m-03), (1, m-02), (0, m-01). */
const MESSAGES: Sent[] = [
  { id: 'm-01', system: 'erp', minute: 0, key: 'k-1', orders: ['PO-1'], correlationId: 'c-1' },
  { id: 'm-02', system: 'erp', minute: 1, orders: ['PO-2'] },
  // Not the owner: rejected, so nothing is delivered and no envelope keeps its correlation id.
  { id: 'm-03', system: 'mes', minute: 1, key: 'k-1', orders: ['PO-1'], correlationId: 'c-1' },
  { id: 'm-04', system: 'erp', minute: 2, key: 'k-2', outcome: 'invalid' },
  { id: 'm-05', system: 'scada', minute: 2, outcome: 'failed' },
  { id: 'm-06', system: 'erp', minute: 2, orders: ['PO-1', 'PO-3'], correlationId: 'c-2' },
  { id: 'm-07', system: 'erp', minute: 3, key: 'k-3', orders: ['PO-3'], correlationId: 'c-1' },
];

describe.each(storeBackends)('message search on %s', (_name, open) => {
  let db: Db;
  let drop: () => Promise<void>;
  beforeEach(async () => {
    ({ db, drop } = await open());
    for (const statement of MESSAGE_SEARCH_INDEXES) await db.execute(statement);
  });
  afterEach(async () => {
    await db.close();
    await drop();
  });

  const ids = async (filter: MessageSearch) => (await searchMessages(db, filter)).messages.map((m) => m.messageId);

  describe('with a few messages', () => {
    beforeEach(() => receive(db, MESSAGES));

    it('lists every message newest first, ties by id, without a next page', async () => {
      const page = await searchMessages(db, {});
      expect(page.messages.map((m) => m.messageId)).toEqual(['m-07', 'm-06', 'm-05', 'm-04', 'm-03', 'm-02', 'm-01']);
      expect(page.next).toBeUndefined();
    });

    it('summarises each message as a row of the console', async () => {
      const { messages } = await searchMessages(db, {});
      const row = (id: string) => messages.find((m) => m.messageId === id);
      expect(row('m-06')).toEqual({
        messageId: 'm-06',
        system: 'erp',
        receivedAt: at(2),
        status: 'routed',
        contentType: 'json',
        mapping: 'canonical-json',
        decisions: { accepted: 2 },
        firstObject: { type: 'ProductionOrder', objectKey: 'PO-1' },
      });
      expect(row('m-03')).toMatchObject({ idempotencyKey: 'k-1', decisions: { rejected: 1 } });
      expect(row('m-04')).toEqual({
        messageId: 'm-04',
        system: 'erp',
        receivedAt: at(2),
        status: 'invalid',
        contentType: 'json',
        idempotencyKey: 'k-2',
        mapping: 'canonical-json',
        decisions: {},
        errorCode: 'CANONICAL_INVALID',
      });
      expect(row('m-05')).toMatchObject({ status: 'failed', errorCode: 'PROCESSING_FAILED', decisions: {} });
    });

    it('finds a message by its id', async () => {
      expect(await ids({ messageId: 'm-06' })).toEqual(['m-06']);
      expect(await ids({ messageId: 'nope' })).toEqual([]);
    });

    it('finds the messages that made a document of an object, with or without its type', async () => {
      expect(await ids({ objectKey: 'PO-1' })).toEqual(['m-06', 'm-03', 'm-01']);
      expect(await ids({ objectKey: 'PO-1', type: 'ProductionOrder' })).toEqual(['m-06', 'm-03', 'm-01']);
      expect(await ids({ objectKey: 'PO-1', type: 'MaterialLot' })).toEqual([]);
      // Two documents of one message: the message once.
      expect(await ids({ objectKey: 'PO-3' })).toEqual(['m-07', 'm-06']);
    });

    it('finds messages by correlation id while a delivery of theirs keeps its envelope', async () => {
      expect(await ids({ correlationId: 'c-1' })).toEqual(['m-07', 'm-01']);
      expect(await ids({ correlationId: 'c-2' })).toEqual(['m-06']);
      expect(await ids({ correlationId: 'c-9' })).toEqual([]);
    });

    it('finds messages by Idempotency-Key, system and status', async () => {
      expect(await ids({ idempotencyKey: 'k-1' })).toEqual(['m-03', 'm-01']);
      expect(await ids({ system: 'erp' })).toEqual(['m-07', 'm-06', 'm-04', 'm-02', 'm-01']);
      expect(await ids({ status: 'invalid' })).toEqual(['m-04']);
      expect(await ids({ status: 'failed' })).toEqual(['m-05']);
    });

    it('finds messages received in a window: from inclusive, to exclusive, in any offset', async () => {
      expect(await ids({ from: at(1), to: at(3) })).toEqual(['m-06', 'm-05', 'm-04', 'm-03', 'm-02']);
      expect(await ids({ from: '2024-05-02T08:02:00+02:00' })).toEqual(['m-07', 'm-06', 'm-05', 'm-04']);
      expect(await ids({ to: '2024-05-02T06:01:00Z' })).toEqual(['m-01']);
    });

    it('narrows by every filter given', async () => {
      expect(await ids({ system: 'erp', status: 'routed', from: at(1) })).toEqual(['m-07', 'm-06', 'm-02']);
      expect(await ids({ objectKey: 'PO-1', system: 'erp' })).toEqual(['m-06', 'm-01']);
      expect(await ids({ idempotencyKey: 'k-1', system: 'mes' })).toEqual(['m-03']);
      expect(await ids({ correlationId: 'c-1', to: at(3) })).toEqual(['m-01']);
      expect(await ids({ messageId: 'm-06', status: 'invalid' })).toEqual([]);
      expect(await ids({ objectKey: 'PO-3', type: 'ProductionOrder', from: at(3), status: 'routed' })).toEqual([
        'm-07',
      ]);
    });

    it('pages through a filtered search', async () => {
      const first = await searchMessages(db, { system: 'erp', limit: 2 });
      expect(first.messages.map((m) => m.messageId)).toEqual(['m-07', 'm-06']);
      const second = await searchMessages(db, { system: 'erp', limit: 2, cursor: first.next! });
      expect(second.messages.map((m) => m.messageId)).toEqual(['m-04', 'm-02']);
      const third = await searchMessages(db, { system: 'erp', limit: 2, cursor: second.next! });
      expect(third.messages.map((m) => m.messageId)).toEqual(['m-01']);
      expect(third.next).toBeUndefined();
    });
  });

  describe('with many messages, five at each instant', () => {
    // 55 messages at 11 instants, recorded out of order.
    const many: Sent[] = Array.from({ length: 55 }, (_, n) => ({
      id: `p-${String(n).padStart(2, '0')}`,
      system: n % 2 ? 'erp' : 'mes',
      minute: (n * 7) % 11,
    }));
    const newestFirst = [...many].sort((a, b) => b.minute - a.minute || (a.id < b.id ? 1 : -1)).map((sent) => sent.id);
    beforeEach(() => receive(db, many));

    /** Every page of `filter`, following `next` to the end. */
    async function allPages(filter: MessageSearch): Promise<string[][]> {
      const pages: string[][] = [];
      let cursor: string | undefined;
      do {
        const page = await searchMessages(db, { ...filter, ...(cursor ? { cursor } : {}) });
        pages.push(page.messages.map((m) => m.messageId));
        cursor = page.next;
      } while (cursor);
      return pages;
    }

    it('pages without duplicates or gaps, ties held apart by id, and no empty last page', async () => {
      const pages = await allPages({ limit: 7 });
      expect(pages.map((page) => page.length)).toEqual([7, 7, 7, 7, 7, 7, 7, 6]);
      expect(pages.flat()).toEqual(newestFirst);
      // A page that ends exactly at the last message says there is no next.
      expect(await allPages({ limit: 55 })).toEqual([newestFirst]);
      expect(await allPages({ limit: 11 })).toHaveLength(5);
    });

    it('keeps its place while messages arrive: newer ones are not on later pages, older ones are', async () => {
      const first = await searchMessages(db, { limit: 10 });
      await receive(db, [
        { id: 'p-new', system: 'erp', minute: 30 },
        { id: 'p-old', system: 'erp', minute: -5 },
      ]);
      const rest = (await allPages({ limit: 10, cursor: first.next! })).flat();
      expect([...first.messages.map((m) => m.messageId), ...rest]).toEqual([...newestFirst, 'p-old']);
    });

    it('takes 50 a page unless told, and at most 500', async () => {
      const page = await searchMessages(db, {});
      expect(page.messages).toHaveLength(50);
      expect((await searchMessages(db, { cursor: page.next! })).messages).toHaveLength(5);
      expect((await searchMessages(db, { limit: 1 })).messages).toHaveLength(1);
      expect((await searchMessages(db, { limit: 500 })).messages).toHaveLength(55);
      for (const limit of [0, -1, 501, 2.5, Number.NaN])
        await expect(searchMessages(db, { limit })).rejects.toMatchObject({
          code: 'SEARCH_FILTER_INVALID',
          path: '/limit',
          status: 400,
        });
    });
  });

  it('pages through the messages of one object and of one Idempotency-Key', async () => {
    const updates: Sent[] = Array.from({ length: 12 }, (_, n) => ({
      id: `u-${String(n).padStart(2, '0')}`,
      system: 'erp',
      minute: Math.floor(n / 3),
      key: n % 2 ? 'k-odd' : undefined,
      orders: ['PO-9'],
    }));
    await receive(db, [...updates, { id: 'other', system: 'erp', minute: 1, orders: ['PO-8'] }]);
    const pages = async (filter: MessageSearch) => {
      const seen: string[] = [];
      let page = await searchMessages(db, { ...filter, limit: 5 });
      seen.push(...page.messages.map((m) => m.messageId));
      while (page.next) {
        page = await searchMessages(db, { ...filter, limit: 5, cursor: page.next });
        seen.push(...page.messages.map((m) => m.messageId));
      }
      return seen;
    };
    const newestFirst = updates.map((sent) => sent.id).reverse();
    expect(await pages({ objectKey: 'PO-9' })).toEqual(newestFirst);
    expect(await pages({ idempotencyKey: 'k-odd' })).toEqual(newestFirst.filter((id) => Number(id.slice(2)) % 2));
    expect(await pages({ objectKey: 'PO-9', idempotencyKey: 'k-odd', to: at(2) })).toEqual(['u-05', 'u-03', 'u-01']);
  });

  it('refuses a cursor it did not hand out', async () => {
    const encoded = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    for (const cursor of [
      '',
      'not a cursor',
      encoded({ at: 1 }),
      encoded(['only one']),
      encoded([1, 2]),
      encoded(['', 'x']),
    ]) {
      const search = searchMessages(db, { cursor });
      await expect(search).rejects.toThrow(SearchCursorError);
      await expect(search).rejects.toMatchObject({ code: 'SEARCH_CURSOR_INVALID', path: '/cursor', status: 400 });
    }
  });

  it('refuses a time that is not RFC 3339, and a type without an object key', async () => {
    await expect(searchMessages(db, { from: 'yesterday' })).rejects.toMatchObject({ path: '/from' });
    await expect(searchMessages(db, { to: '2024-13-45T00:00:00Z' })).rejects.toMatchObject({ path: '/to' });
    await expect(searchMessages(db, { type: 'ProductionOrder' })).rejects.toThrow(SearchFilterError);
  });
});

describe('message search plans on SQLite', () => {
  let db: Db;
  beforeAll(async () => {
    ({ db } = await storeBackends[0]![1]());
    for (const statement of MESSAGE_SEARCH_INDEXES) await db.execute(statement);
    await receive(db, MESSAGES);
  });
  afterAll(() => db.close());

  /** SQLite's plans for the statements of a search up to its page (the summaries after it aside), a line per step. */
  async function plans(filter: MessageSearch): Promise<string[][]> {
    const statements: Array<[string, unknown[]]> = [];
    const recording: Db = {
      dialect: db.dialect,
      query: (sql, params = []) => {
        statements.push([sql, params]);
        return db.query(sql, params);
      },
      execute: (sql, params) => db.execute(sql, params),
      transaction: (work) => db.transaction(work),
      close: async () => undefined,
    };
    await searchMessages(recording, filter);
    const page = statements.findIndex(([sql]) => sql.includes('CROSS JOIN messages m'));
    return Promise.all(
      statements
        .slice(0, page + 1)
        .map(async ([sql, params]) =>
          (await db.query(`EXPLAIN QUERY PLAN ${sql}`, params)).map((row) => String(row.detail)),
        ),
    );
  }

  const cursor = Buffer.from(JSON.stringify([at(5), 'm-05'])).toString('base64url');
  // Without statistics SQLite chose between indexes by chance for some of these, and read a whole
  // status (seconds on a full store) for a page of a system and status in a window, or of an
  // Idempotency-Key and a status.
  it.each<[string, string, MessageSearch]>([
    ['message id', 'sqlite_autoindex_messages_1', { messageId: 'm-01', status: 'routed', objectKey: 'PO-1' }],
    ['object key', 'decisions_object_message', { objectKey: 'PO-1' }],
    ['object key and type', 'decisions_object_message', { objectKey: 'PO-1', type: 'ProductionOrder' }],
    ['object key, system and time', 'decisions_object_message', { objectKey: 'PO-1', system: 'erp', from: at(0) }],
    ['correlation id', 'deliveries_correlation', { correlationId: 'c-1', system: 'erp', idempotencyKey: 'k-1' }],
    ['Idempotency-Key and status', 'messages_idempotency_key', { idempotencyKey: 'k-1', status: 'routed' }],
    ['system in a window', 'messages_system_received', { system: 'erp', from: at(0), to: at(9) }],
    ['status', 'messages_status_received', { status: 'invalid', cursor }],
    ['system and status', 'messages_system_status_received', { system: 'erp', status: 'invalid' }],
    [
      'system and status in a window',
      'messages_system_status_received',
      { system: 'erp', status: 'invalid', from: at(0), to: at(9), cursor },
    ],
    ['no filter, deep page', 'messages_received', { cursor }],
  ])('by %s reads %s, no table in full', async (_kind, index, filter) => {
    const steps = await plans(filter);
    const page = steps[steps.length - 1]!;
    expect(steps.flat().filter((step) => /^SCAN (m|messages|decisions|deliveries)$/.test(step))).toEqual([]);
    expect(steps.flat().some((step) => new RegExp(`USING (COVERING )?INDEX ${index}\\b`).test(step))).toBe(true);
    // The page's rows are looked up by id and sorted once: a page read off an index in order, or a key's messages.
    expect(page).toContain('SEARCH m USING INDEX sqlite_autoindex_messages_1 (id=?)');
    expect(page.filter((step) => step === 'USE TEMP B-TREE FOR ORDER BY')).toHaveLength(1);
  });
});
