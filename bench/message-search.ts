/**
 * Message search on a full store: a fresh store (SQLite in WAL as openStore sets it up, or PostgreSQL
 * in a fresh schema, analysed after the fill as autovacuum would), with the search indexes, filled with
 * N messages over a week from six systems — statuses, Idempotency-Keys, decisions with their object
 * keys and the deliveries of the accepted ones, as the hub writes them — then 200 searches of each
 * kind, one at a time, next to a primary-key lookup of a message on the same store. Payloads, objects
 * and the audit log are not filled: a search reads none of them. First, what the indexes cost a write.
 * Run: npx tsx bench/message-search.ts [messages=1000000] [sqlite|postgres]
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { v7 as uuidV7 } from 'uuid';
import { MESSAGE_SEARCH_INDEXES, searchMessages, type MessageSearch } from '../hub/store/message-search';
import { openStore, type Db } from '../hub/store/index';
import { freshSchema } from '../test/support/postgres';
import { percentile } from './support';

const total = Number(process.argv[2] ?? 1_000_000);
const backend = process.argv[3] ?? 'sqlite';
const SEARCHES = 200;
const SPAN_MS = 7 * 86_400_000;
const MESSAGES_PER_TRANSACTION = 10_000;

/** A seeded generator, so every run fills the same store. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = random(42);
const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)]!;
const below = (n: number) => Math.floor(rand() * n);

interface Document {
  type: string;
  key: string;
}

/** Who sends what: share of the messages, how it arrives, and the documents of one message. */
const SYSTEMS: Array<{
  id: string;
  share: number;
  contentType: string;
  mapping: string;
  /** Share of its messages with an Idempotency-Key (HTTP senders set one). */
  keyed: number;
  /** Share of its messages with a correlation id (a B2MML BODID, a request's id). */
  correlated: number;
  targets: string[];
  documents: (n: number) => Document[];
}> = [
  {
    id: 'scada',
    share: 0.4,
    contentType: 'json',
    mapping: 'scada-signals@4',
    keyed: 0,
    correlated: 0,
    targets: ['mes'],
    // The machines' states and stops: a few hundred hot keys, and an event each.
    documents: (n) => [
      rand() < 0.5 ? { type: 'Equipment', key: `EQ-${below(40)}` } : { type: 'DowntimeEvent', key: `DT-${n}` },
    ],
  },
  {
    id: 'mes',
    share: 0.25,
    contentType: 'json',
    mapping: 'mes-confirmations@7',
    keyed: 0.6,
    correlated: 0.3,
    targets: ['erp'],
    documents: (n) => [
      { type: 'ProductionConfirmation', key: `PC-${n}` },
      ...(rand() < 0.3 ? [{ type: 'ProductionOrder', key: `PO-${below(50_000)}` }] : []),
    ],
  },
  {
    id: 'erp',
    share: 0.15,
    contentType: 'xml',
    mapping: 'b2mml-v0700:ProcessOperationsSchedule',
    keyed: 0.8,
    correlated: 0.9,
    targets: ['mes', 'wms'],
    // A schedule of one to three orders.
    documents: () =>
      Array.from({ length: 1 + below(3) }, () => ({ type: 'ProductionOrder', key: `PO-${below(50_000)}` })),
  },
  {
    id: 'lims',
    share: 0.08,
    contentType: 'json',
    mapping: 'lims-results@2',
    keyed: 0.5,
    correlated: 0.5,
    targets: ['mes', 'erp'],
    documents: (n) => [{ type: 'QualityResult', key: `QR-${n}` }],
  },
  {
    id: 'wms',
    share: 0.07,
    contentType: 'json',
    mapping: 'wms-movements@3',
    keyed: 0.7,
    correlated: 0.2,
    targets: ['erp'],
    documents: (n) => [
      { type: 'InventoryMovement', key: `IM-${n}` },
      { type: 'MaterialLot', key: `LOT-${below(100_000)}` },
    ],
  },
  {
    id: 'qms',
    share: 0.05,
    contentType: 'xml',
    mapping: 'qms-deviations@1',
    keyed: 0.4,
    correlated: 0.6,
    targets: ['erp'],
    documents: (n) => [{ type: 'MaintenanceRequest', key: `MR-${n}` }],
  },
];

function systemOf(): (typeof SYSTEMS)[number] {
  let r = rand();
  for (const system of SYSTEMS) if ((r -= system.share) < 0) return system;
  return SYSTEMS[0]!;
}

const DECISIONS: Array<[string, number, string]> = [
  ['accepted', 0.85, 'ownership.owner'],
  ['duplicate', 0.08, 'content.unchanged'],
  ['stale', 0.04, 'ordering.version'],
  ['rejected', 0.03, 'ownership.non-owner'],
];
function decisionOf(): [string, string] {
  let r = rand();
  for (const [decision, share, rule] of DECISIONS) if ((r -= share) < 0) return [decision, rule];
  return ['accepted', 'ownership.owner'];
}

const INSERT_MESSAGE = `INSERT INTO messages (id, system, received_at, received_seq, content_type, idempotency_key, status, mapping, error, processed_at)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`;
const INSERT_DECISION = `INSERT INTO decisions (message_id, doc_index, type, object_key, version, occurred_at, decision, rule, reason, decided_at)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`;
const INSERT_DELIVERY = `INSERT INTO deliveries (id, message_id, doc_index, target, route_id, kind, type, object_key, object_revision, envelope, status, attempts, last_status, created_at, delivered_at, delivery_partition, claims)
  VALUES ($1, $2, $3, $4, $5, 'update', $6, $7, $8, $9, 'delivered', 1, 200, $10, $11, $12, 0)`;

/** Writes message `n` (0-based) as the hub records it: the message, its decisions, the deliveries of accepted ones. */
async function writeMessage(
  tx: Db,
  n: number,
  count: number,
  start: number,
  lastKey: { value?: string },
): Promise<void> {
  // Every eighth message shares its millisecond with the one before: pages must hold ties apart.
  const at = start + Math.floor(((n - (n % 8 === 7 ? 1 : 0)) * SPAN_MS) / count);
  const receivedAt = new Date(at).toISOString();
  const id = uuidV7({ msecs: at });
  const system = systemOf();
  const r = rand();
  const status = r < 0.03 ? 'invalid' : r < 0.04 ? 'failed' : 'routed';
  let idempotencyKey: string | undefined;
  if (rand() < system.keyed) {
    // A sender that repeats a request (its answer lost) sends the same key again.
    idempotencyKey = lastKey.value && rand() < 0.01 ? lastKey.value : `${system.id}-${uuidV7({ msecs: at })}`;
    lastKey.value = idempotencyKey;
  }
  const documents = status === 'routed' ? system.documents(n) : [];
  const error =
    status === 'invalid'
      ? { code: 'CANONICAL_INVALID', problems: [{ path: '/0/document/quantity/value', reason: 'must be a decimal' }] }
      : status === 'failed'
        ? { code: 'PROCESSING_FAILED', problems: [{ path: '/', reason: 'connect ECONNREFUSED 127.0.0.1:5432' }] }
        : undefined;
  const processedAt = new Date(at + 40).toISOString();
  await tx.execute(INSERT_MESSAGE, [
    id,
    system.id,
    receivedAt,
    n + 1,
    system.contentType,
    idempotencyKey,
    status,
    JSON.stringify({ name: system.mapping, documents: documents.length }),
    error ? JSON.stringify(error) : null,
    processedAt,
  ]);
  const correlationId = rand() < system.correlated ? `${system.id}-bod-${Math.floor(n / 3)}` : undefined;
  for (const [docIndex, document] of documents.entries()) {
    const [decision, rule] = decisionOf();
    const occurredAt = new Date(at - 500).toISOString();
    await tx.execute(INSERT_DECISION, [
      id,
      docIndex,
      document.type,
      document.key,
      n,
      occurredAt,
      decision,
      rule,
      `${decision} by ${rule}`,
      processedAt,
    ]);
    if (decision !== 'accepted') continue;
    // The envelope without its document (the object's history row holds it), as a delivery keeps it.
    const envelope = JSON.stringify({
      messageId: id,
      type: document.type,
      objectKey: document.key,
      sourceSystem: system.id,
      occurredAt,
      receivedAt,
      version: n,
      ...(correlationId ? { correlationId } : {}),
    });
    for (const target of system.targets)
      await tx.execute(INSERT_DELIVERY, [
        `${id}-${docIndex}-${target}`,
        id,
        docIndex,
        target,
        `${system.id}-to-${target}`,
        document.type,
        document.key,
        1 + below(20),
        envelope,
        processedAt,
        new Date(at + 90).toISOString(),
        below(8),
      ]);
  }
}

/** Fills `db` with `count` messages over the week before the last hour; seconds it took. */
async function fill(db: Db, count: number, progress: boolean): Promise<number> {
  const start = Date.now() - SPAN_MS - 3_600_000;
  const lastKey: { value?: string } = {};
  const began = performance.now();
  let reported = 0;
  for (let first = 0; first < count; first += MESSAGES_PER_TRANSACTION) {
    const end = Math.min(count, first + MESSAGES_PER_TRANSACTION);
    await db.transaction(async (tx) => {
      for (let n = first; n < end; n += 1) await writeMessage(tx, n, count, start, lastKey);
    });
    if (progress && (end - reported >= count / 20 || end === count)) {
      reported = end;
      const seconds = (performance.now() - began) / 1000;
      const eta = (seconds / end) * (count - end);
      console.log(
        `  filled ${end.toLocaleString('en')} / ${count.toLocaleString('en')} messages, ${seconds.toFixed(0)} s (${(end / seconds).toFixed(0)}/s, ${eta.toFixed(0)} s to go)`,
      );
    }
  }
  return (performance.now() - began) / 1000;
}

/**
 * What the indexes cost the writes: the same messages into a store without them and one with them,
 * and the time to build them on the first store afterwards (what an upgrade of a full store takes).
 */
async function writeCost(count: number): Promise<void> {
  const bare = await freshStore();
  const without = await fill(bare.db, count, false);
  const building = performance.now();
  for (const statement of MESSAGE_SEARCH_INDEXES) await bare.db.execute(statement);
  const built = (performance.now() - building) / 1000;
  await bare.drop();
  const indexed = await freshStore();
  for (const statement of MESSAGE_SEARCH_INDEXES) await indexed.db.execute(statement);
  const withIndexes = await fill(indexed.db, count, false);
  await indexed.drop();
  const perMessage = (seconds: number) => ((seconds * 1e6) / count).toFixed(0);
  console.log(
    `write cost, ${count.toLocaleString('en')} messages: ${perMessage(without)} µs a message without the search indexes, ${perMessage(withIndexes)} µs with them; building them afterwards ${built.toFixed(1)} s`,
  );
}

/** `count` values of `sql`'s first column, in random order (a scan, once, before the measuring). */
async function sample(db: Db, sql: string, params: unknown[] = []): Promise<string[]> {
  return (await db.query(`${sql} ORDER BY random() LIMIT ${SEARCHES}`, params)).map((row) =>
    String(Object.values(row)[0]),
  );
}

interface Kind {
  name: string;
  run: (index: number) => Promise<number>;
}

/** Times `kind.run` for 0…SEARCHES-1 and prints p50, p95, p99 and the rows it found on average. */
async function measure(kind: Kind): Promise<void> {
  const times: number[] = [];
  let found = 0;
  for (let index = 0; index < SEARCHES; index += 1) {
    const started = performance.now();
    found += await kind.run(index);
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  const ms = (p: number) => percentile(times, p).toFixed(2).padStart(8);
  console.log(
    `${kind.name.padEnd(44)} p50 ${ms(50)} ms   p95 ${ms(95)} ms   p99 ${ms(99)} ms   ${(found / SEARCHES).toFixed(1).padStart(5)} rows`,
  );
}

/** A fresh store of the backend, its size in MiB, and a way to close and remove it. */
async function freshStore(): Promise<{ db: Db; mebibytes(): Promise<number>; drop(): Promise<void> }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'handover-bench-search-'));
  const schema = backend === 'postgres' ? await freshSchema() : undefined;
  const db = await openStore({ dataDir, ...(schema ? { databaseUrl: schema.url } : {}) });
  return {
    db,
    mebibytes: async () => {
      if (!schema) {
        const files = readdirSync(dataDir).filter((name) => name.startsWith('handover.db'));
        return files.reduce((sum, name) => sum + statSync(join(dataDir, name)).size, 0) / 1048576;
      }
      const [row] = await db.query(
        `SELECT SUM(pg_total_relation_size(c.oid)) AS bytes FROM pg_class c
           JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema() AND c.relkind = 'r'`,
      );
      return Number(row!.bytes) / 1048576;
    },
    drop: async () => {
      await db.close();
      await schema?.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

async function main(): Promise<void> {
  await writeCost(Math.min(total, 100_000));
  const store = await freshStore();
  const { db } = store;
  for (const statement of MESSAGE_SEARCH_INDEXES) await db.execute(statement);
  console.log(
    `filling a ${backend} store with ${total.toLocaleString('en')} messages over 7 days, node ${process.version}`,
  );
  const filled = await fill(db, total, true);
  if (backend === 'postgres') await db.execute('ANALYZE');
  const [counts] = await db.query(
    'SELECT (SELECT COUNT(*) FROM decisions) AS decisions, (SELECT COUNT(*) FROM deliveries) AS deliveries',
  );
  console.log(
    `filled in ${filled.toFixed(0)} s: ${Number(counts!.decisions).toLocaleString('en')} decisions, ${Number(counts!.deliveries).toLocaleString('en')} deliveries, ${(await store.mebibytes()).toFixed(0)} MiB`,
  );

  const ids = await sample(db, 'SELECT id FROM messages');
  const objects = await db.query<{ type: string; object_key: string }>(
    `SELECT type, object_key FROM decisions ORDER BY random() LIMIT ${SEARCHES}`,
  );
  const [hottest] = await db.query<{ object_key: string; n: number }>(
    'SELECT object_key, COUNT(*) AS n FROM decisions GROUP BY object_key ORDER BY n DESC LIMIT 1',
  );
  const keys = await sample(db, 'SELECT idempotency_key FROM messages WHERE idempotency_key IS NOT NULL');
  const correlations = await sample(
    db,
    `SELECT jsonb(envelope) ->> 'correlationId' FROM deliveries WHERE jsonb(envelope) ->> 'correlationId' IS NOT NULL`,
  );
  const [range] = await db.query<{ first: string; last: string }>(
    'SELECT MIN(received_at) AS first, MAX(received_at) AS last FROM messages',
  );
  const first = Date.parse(range!.first);
  const span = Date.parse(range!.last) - first;
  /** The instant `share` of the way through the store's week, at random when not given. */
  const instant = (share = rand()) => new Date(first + share * span).toISOString();
  const systems = SYSTEMS.map((system) => system.id);
  const statuses = ['invalid', 'failed', 'routed'] as const;
  const search = async (filter: MessageSearch) => (await searchMessages(db, filter)).messages.length;
  // A deep page's cursor: the `next` of a one-message page ending at a random point of the week.
  const deepCursor = async (system?: string) =>
    (await searchMessages(db, { ...(system ? { system } : {}), to: instant(0.05 + 0.9 * rand()), limit: 1 })).next!;
  const deepCursors: string[] = [];
  const systemCursors: string[] = [];
  for (let index = 0; index < SEARCHES; index += 1) {
    deepCursors.push(await deepCursor());
    systemCursors.push(await deepCursor(systems[index % systems.length]));
  }

  console.log(`${SEARCHES} of each, one at a time; a page is 50 messages (the default)`);
  const kinds: Kind[] = [
    {
      name: 'baseline: SELECT * FROM messages WHERE id = $1',
      run: async (index) => (await db.query('SELECT * FROM messages WHERE id = $1', [ids[index]])).length,
    },
    { name: 'by message id', run: (index) => search({ messageId: ids[index]! }) },
    { name: 'by object key', run: (index) => search({ objectKey: objects[index]!.object_key }) },
    {
      name: 'by object key and type',
      run: (index) => search({ objectKey: objects[index]!.object_key, type: objects[index]!.type }),
    },
    {
      name: `by the hottest object key (${hottest!.n} messages)`,
      run: () => search({ objectKey: hottest!.object_key }),
    },
    { name: 'by correlation id', run: (index) => search({ correlationId: correlations[index]! }) },
    { name: 'by Idempotency-Key', run: (index) => search({ idempotencyKey: keys[index]! }) },
    {
      name: 'by system, in a window of one hour',
      run: () => {
        const from = instant();
        return search({ system: pick(systems), from, to: new Date(Date.parse(from) + 3_600_000).toISOString() });
      },
    },
    { name: 'by status (invalid, failed, routed)', run: (index) => search({ status: statuses[index % 3] }) },
    {
      name: 'by system and status',
      run: (index) => search({ system: pick(systems), status: statuses[index % 3] }),
    },
    {
      name: "by system and status, in a day's window",
      run: (index) => {
        const from = instant(rand() * 0.85);
        const to = new Date(Date.parse(from) + 86_400_000).toISOString();
        return search({ system: pick(systems), status: statuses[index % 3], from, to });
      },
    },
    {
      name: 'by Idempotency-Key and status',
      run: (index) => search({ idempotencyKey: keys[index]!, status: statuses[index % 3] }),
    },
    {
      name: 'by object key and system',
      run: (index) => search({ objectKey: objects[index]!.object_key, system: pick(systems) }),
    },
    { name: 'first page, no filter', run: () => search({}) },
    { name: 'a deep page, by cursor', run: (index) => search({ cursor: deepCursors[index]! }) },
    {
      name: 'a deep page of a system, by cursor',
      run: (index) => search({ system: systems[index % systems.length]!, cursor: systemCursors[index]! }),
    },
  ];
  for (const kind of kinds) await measure(kind);
  await store.drop();
}

void main();
