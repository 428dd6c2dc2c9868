/** The stores' tables, created on start in the same portable SQL for SQLite and PostgreSQL. */
import type { Db } from './db';
import { MESSAGE_SEARCH_INDEXES } from './message-search';

/** The schema this code writes; UPGRADES bring an older store up to it. */
const SCHEMA_VERSION = 9;

const TABLES = `
CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS messages (
  id TEXT PRIMARY KEY,
  system TEXT NOT NULL,
  received_at TEXT NOT NULL,
  received_seq BIGINT NOT NULL,
  content_type TEXT NOT NULL,
  idempotency_key TEXT,
  status TEXT NOT NULL,
  mapping TEXT,
  error TEXT,
  processed_at TEXT,
  payload_removed_at TEXT,
  deliveries_removed_at TEXT
);
CREATE INDEX IF NOT EXISTS messages_idempotency ON messages (system, idempotency_key);
CREATE TABLE IF NOT EXISTS decisions (
  message_id TEXT NOT NULL,
  doc_index INTEGER NOT NULL,
  type TEXT NOT NULL,
  object_key TEXT NOT NULL,
  version BIGINT,
  occurred_at TEXT NOT NULL,
  decision TEXT NOT NULL,
  rule TEXT NOT NULL,
  reason TEXT NOT NULL,
  decided_at TEXT NOT NULL,
  ignored_fields TEXT,
  PRIMARY KEY (message_id, doc_index)
);
CREATE INDEX IF NOT EXISTS decisions_object ON decisions (type, object_key);
CREATE TABLE IF NOT EXISTS objects (
  type TEXT NOT NULL,
  object_key TEXT NOT NULL,
  revision INTEGER NOT NULL,
  version BIGINT,
  occurred_at TEXT NOT NULL,
  received_seq BIGINT NOT NULL,
  owner TEXT NOT NULL,
  source_system TEXT NOT NULL,
  message_id TEXT NOT NULL,
  content_hash TEXT NOT NULL,
  data TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  watermarks TEXT,
  PRIMARY KEY (type, object_key)
);
CREATE TABLE IF NOT EXISTS object_history (
  type TEXT NOT NULL,
  object_key TEXT NOT NULL,
  revision INTEGER NOT NULL,
  version BIGINT,
  occurred_at TEXT NOT NULL,
  source_system TEXT NOT NULL,
  message_id TEXT NOT NULL,
  data TEXT NOT NULL,
  recorded_at TEXT NOT NULL,
  PRIMARY KEY (type, object_key, revision)
);
CREATE TABLE IF NOT EXISTS deliveries (
  id TEXT PRIMARY KEY,
  message_id TEXT NOT NULL,
  doc_index INTEGER NOT NULL,
  target TEXT NOT NULL,
  route_id TEXT NOT NULL,
  kind TEXT NOT NULL,
  type TEXT NOT NULL,
  object_key TEXT NOT NULL,
  object_revision INTEGER NOT NULL,
  envelope TEXT NOT NULL,
  status TEXT NOT NULL,
  attempts INTEGER NOT NULL,
  last_error TEXT,
  last_status INTEGER,
  created_at TEXT NOT NULL,
  delivered_at TEXT,
  delivery_partition INTEGER,
  claims INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS deliveries_message ON deliveries (message_id);
CREATE INDEX IF NOT EXISTS deliveries_object ON deliveries (target, type, object_key, status);
CREATE TABLE IF NOT EXISTS dead_letters (
  id TEXT PRIMARY KEY,
  stage TEXT NOT NULL,
  message_id TEXT NOT NULL,
  delivery_id TEXT,
  system TEXT NOT NULL,
  code TEXT NOT NULL,
  reason TEXT NOT NULL,
  created_at TEXT NOT NULL,
  replayed_at TEXT,
  replay_count INTEGER NOT NULL,
  superseded_at TEXT,
  discarded_at TEXT
);
CREATE TABLE IF NOT EXISTS replay_requests (
  id TEXT PRIMARY KEY,
  dead_letter_id TEXT NOT NULL,
  message_id TEXT NOT NULL,
  requested_by TEXT NOT NULL,
  requested_at TEXT NOT NULL,
  started_at TEXT
);
CREATE TABLE IF NOT EXISTS replay_mappings (
  request_id TEXT PRIMARY KEY,
  mapping TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS mapping_versions (
  id TEXT NOT NULL,
  version INTEGER NOT NULL,
  digest TEXT NOT NULL,
  system TEXT NOT NULL,
  direction TEXT NOT NULL,
  file TEXT NOT NULL,
  source TEXT NOT NULL,
  first_seen_at TEXT NOT NULL,
  PRIMARY KEY (id, version, digest)
);
CREATE INDEX IF NOT EXISTS replay_requests_open ON replay_requests (started_at);
CREATE TABLE IF NOT EXISTS payloads (
  message_id TEXT PRIMARY KEY,
  content_type TEXT NOT NULL,
  body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS audit_log (
  seq BIGINT PRIMARY KEY,
  at TEXT NOT NULL,
  kind TEXT NOT NULL,
  message_id TEXT,
  system TEXT,
  type TEXT,
  object_key TEXT,
  decision TEXT,
  rule TEXT,
  target TEXT,
  details TEXT NOT NULL,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_message ON audit_log (message_id);
CREATE INDEX IF NOT EXISTS audit_at ON audit_log (at);
CREATE TABLE IF NOT EXISTS delivered_heads (
  target TEXT NOT NULL,
  type TEXT NOT NULL,
  object_key TEXT NOT NULL,
  revision INTEGER NOT NULL,
  PRIMARY KEY (target, type, object_key)
);
CREATE TABLE IF NOT EXISTS in_flight (
  target TEXT NOT NULL,
  delivery_partition INTEGER NOT NULL,
  delivery_ids TEXT NOT NULL,
  PRIMARY KEY (target, delivery_partition)
);
CREATE TABLE IF NOT EXISTS context_units (
  equipment_id TEXT PRIMARY KEY,
  state TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS context_count_signals (
  counts_id TEXT NOT NULL,
  chunk INTEGER NOT NULL,
  signals TEXT NOT NULL,
  PRIMARY KEY (counts_id, chunk)
);
CREATE TABLE IF NOT EXISTS users (
  name TEXT PRIMARY KEY,
  role TEXT NOT NULL,
  password_hash TEXT,
  created_at TEXT NOT NULL,
  last_seen_at TEXT
);
CREATE TABLE IF NOT EXISTS api_tokens (
  token_hash TEXT PRIMARY KEY,
  user_name TEXT NOT NULL,
  created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS api_tokens_user ON api_tokens (user_name);
CREATE TABLE IF NOT EXISTS sessions (
  id_hash TEXT PRIMARY KEY,
  user_name TEXT NOT NULL,
  csrf_token TEXT NOT NULL,
  created_at TEXT NOT NULL,
  expires_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS audit_head (
  id INTEGER PRIMARY KEY,
  seq BIGINT NOT NULL,
  hash TEXT NOT NULL
);
`;

/**
 * Indexes made after the upgrades, as they cover columns an upgrade adds. Retention (store/retention.ts)
 * walks the first two; the dead-letter ones let it keep what a dead letter names.
 */
const INDEXES = `
CREATE INDEX IF NOT EXISTS messages_payload_kept ON messages (received_at, id) WHERE payload_removed_at IS NULL;
CREATE INDEX IF NOT EXISTS deliveries_completed ON deliveries (created_at, id) WHERE status IN ('delivered', 'superseded');
CREATE INDEX IF NOT EXISTS dead_letters_message ON dead_letters (message_id);
CREATE INDEX IF NOT EXISTS dead_letters_delivery ON dead_letters (delivery_id);
CREATE INDEX IF NOT EXISTS deliveries_pending ON deliveries (target, delivery_partition, created_at) WHERE status = 'pending';
`;

/**
 * Statements that bring a store written by an older release up to the next schema version,
 * indexed by the version they start from. Fresh stores get the current tables at once.
 */
const UPGRADES: Record<number, string[]> = {
  // 2: a watermark per field group (docs/ownership.md), the fields a decision left as stored, dead
  // letters a newer delivered revision superseded; replay requests are created with the tables.
  1: [
    'ALTER TABLE objects ADD COLUMN watermarks TEXT',
    'ALTER TABLE decisions ADD COLUMN ignored_fields TEXT',
    'ALTER TABLE dead_letters ADD COLUMN superseded_at TEXT',
  ],
  // 3: each delivery names its partition, so a partition's worker pages through its own pending
  // deliveries (rows of schema 2 get theirs when delivery workers start), and counts the drains that
  // took it up without finishing (a delivery that crashes its worker every time ends as a dead letter);
  // retention (docs/operations.md#retention) notes on each message when its payload and its completed
  // deliveries were removed; delivered_heads and the indexes are created with the tables.
  2: [
    'ALTER TABLE deliveries ADD COLUMN delivery_partition INTEGER',
    'ALTER TABLE deliveries ADD COLUMN claims INTEGER NOT NULL DEFAULT 0',
    'ALTER TABLE messages ADD COLUMN payload_removed_at TEXT',
    'ALTER TABLE messages ADD COLUMN deliveries_removed_at TEXT',
  ],
  // 4: a delivery of an accepted revision keeps its envelope without the document, which is the
  // revision's object_history row; no statement changes, but a release that reads the envelope alone
  // (schema 3) must not start on such a store.
  3: [],
  // 5: a drain keeps what it has in flight in one in_flight row per partition, created with the
  // tables, and counts it against a delivery only when the next drain finds it there; a release of
  // schema 4 would not, and a delivery that kills its worker would never reach its limit.
  4: [],
  // 6: the context engine keeps each work unit's state (open stop, counter baselines, running order)
  // in context_units, created with the tables, in the transaction that records the signals; a release
  // of schema 5 would take signals without it, and the state would miss them.
  5: [],
  // 7: the signals behind a work unit's unbooked counts are kept in context_count_signals, a chunk per
  // batch, no longer in the unit's state (where they grew to tens of kilobytes read and written by
  // every batch); a release of schema 6 would book counts without the chunks' signals in their trace.
  // A state of schema 6 still holding its signals moves them to a chunk at its next save.
  6: [],
  // 8: users, their API tokens and console sessions (hub/access/users.ts), created with the tables, and
  // dead letters an operator discarded; a release of schema 7 would let nobody but the admin token in,
  // and would take a discarded dead letter for an open one.
  7: ['ALTER TABLE dead_letters ADD COLUMN discarded_at TEXT'],
  // 9: the text of every mapping version loaded (mapping_versions) and the mapping version an ingest
  // replay was asked to run with (replay_mappings), both created with the tables; a release of schema 8
  // would replay every message with the mapping loaded now, also one an operator asked to run with its
  // original.
  8: [],
};

/** Creates missing tables and upgrades older ones; safe to run from every process at every start. */
export async function migrate(db: Db): Promise<void> {
  await db.transaction(async (tx) => {
    if (tx.dialect === 'postgres') await tx.execute('SELECT pg_advisory_xact_lock(4242001)');
    for (const statement of statementsOf(TABLES)) await tx.execute(statement);
    const [row] = await tx.query<{ version: number }>('SELECT version FROM schema_version');
    if (!row) {
      await tx.execute('INSERT INTO schema_version (version) VALUES ($1)', [SCHEMA_VERSION]);
    } else if (Number(row.version) > SCHEMA_VERSION) {
      // Written by a newer release: running on it could undo that release's changes.
      throw new Error(
        `the store has schema version ${row.version}, newer than the ${SCHEMA_VERSION} this release of Handover knows; start the newer release`,
      );
    } else if (Number(row.version) < SCHEMA_VERSION) {
      for (let version = Number(row.version); version < SCHEMA_VERSION; version += 1)
        for (const statement of UPGRADES[version] ?? []) await tx.execute(statement);
      await tx.execute('UPDATE schema_version SET version = $1', [SCHEMA_VERSION]);
    }
    // The message search's indexes (hub/store/message-search.ts) come last: they only read old columns.
    for (const statement of [...statementsOf(INDEXES), ...MESSAGE_SEARCH_INDEXES]) await tx.execute(statement);
    await tx.execute(`INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, $1) ON CONFLICT (id) DO NOTHING`, [
      GENESIS_HASH,
    ]);
  });
}

function statementsOf(sql: string): string[] {
  return sql
    .split(';')
    .map((statement) => statement.trim())
    .filter(Boolean);
}

/** The hash the first audit record chains to. */
export const GENESIS_HASH = '0'.repeat(64);
