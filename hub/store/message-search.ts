/**
 * Message search for the operations console: messages by id, object, correlation id, Idempotency-Key,
 * system, status and time, newest first, a page at a time (keyset pagination, never OFFSET).
 */
import { jsonStrings, type Db } from './db';
import type { MessageStatus } from './messages';

/** What a search looks for; every field given narrows it. */
export interface MessageSearch {
  messageId?: string;
  /** A message that made a document of this object (its decision names it). */
  objectKey?: string;
  /** The object's type; only with `objectKey`. */
  type?: string;
  /**
   * The envelopes' correlationId. The store keeps it only in the envelopes of planned deliveries: a
   * message is found while one of its deliveries is kept (retention removes completed ones), never
   * when none of its documents was routed (stale, duplicate, rejected, or no route).
   */
  correlationId?: string;
  idempotencyKey?: string;
  system?: string;
  status?: MessageStatus;
  /** Received at or after (RFC 3339). */
  from?: string;
  /** Received before (RFC 3339). */
  to?: string;
  /** Messages on a page: 1 to 500, 50 when not given. */
  limit?: number;
  /** The `next` of the page before. */
  cursor?: string;
}

/** A message as a row of the console's list. */
export interface MessageSummary {
  messageId: string;
  system: string;
  receivedAt: string;
  status: MessageStatus;
  contentType: string;
  idempotencyKey?: string;
  /** The mapping that translated it (`id@version` for a mapping file). */
  mapping?: string;
  /** How many of its documents got each decision: `{ accepted: 2, stale: 1 }`. */
  decisions: Record<string, number>;
  /** The object of its first document. */
  firstObject?: { type: string; objectKey: string };
  /** The code of its error, for an invalid or failed message. */
  errorCode?: string;
}

export interface MessagePage {
  messages: MessageSummary[];
  /** The cursor of the next page; absent on the last. */
  next?: string;
}

export const SEARCH_LIMIT_DEFAULT = 50;
export const SEARCH_LIMIT_MAX = 500;

/** A search the store cannot run; `path` names the field. The API answers it with 400. */
export class SearchFilterError extends Error {
  readonly status = 400;
  constructor(
    readonly code: 'SEARCH_FILTER_INVALID' | 'SEARCH_CURSOR_INVALID',
    readonly path: string,
    readonly reason: string,
  ) {
    super(`${path}: ${reason}`);
    this.name = 'SearchFilterError';
  }
}

/** A cursor this search did not hand out (or one mangled on its way back). */
export class SearchCursorError extends SearchFilterError {
  constructor(reason = 'not a cursor of a message search') {
    super('SEARCH_CURSOR_INVALID', '/cursor', reason);
    this.name = 'SearchCursorError';
  }
}

/** A delivery envelope's correlation id, written alike in its index and in the search so the index is used. */
const CORRELATION_ID = `(jsonb(envelope) ->> 'correlationId')`;

/** A summary's columns of messages. */
const COLUMNS = 'm.id, m.system, m.received_at, m.status, m.content_type, m.idempotency_key, m.mapping, m.error';

/**
 * Indexes the searches need, in the portable SQL of the migrations: one per key, and for each
 * combination of system and status one ordered by (received_at, id), off which a page is read newest
 * first. The correlation index is not partial: PostgreSQL keeps statistics of an expression only
 * for a whole table's index, and without them it took a correlation id for thousands of messages.
 * (`jsonb()` is a function of SQLite 3.45 and later, and a cast on PostgreSQL.)
 */
export const MESSAGE_SEARCH_INDEXES: string[] = [
  'CREATE INDEX IF NOT EXISTS messages_received ON messages (received_at, id)',
  'CREATE INDEX IF NOT EXISTS messages_system_received ON messages (system, received_at, id)',
  'CREATE INDEX IF NOT EXISTS messages_status_received ON messages (status, received_at, id)',
  'CREATE INDEX IF NOT EXISTS messages_system_status_received ON messages (system, status, received_at, id)',
  'CREATE INDEX IF NOT EXISTS messages_idempotency_key ON messages (idempotency_key) WHERE idempotency_key IS NOT NULL',
  'CREATE INDEX IF NOT EXISTS decisions_object_message ON decisions (object_key, type, message_id)',
  `CREATE INDEX IF NOT EXISTS deliveries_correlation ON deliveries (${CORRELATION_ID})`,
];

/**
 * One page of the messages that match `filter`, newest first by (received_at, id). The SQL differs
 * only by which filters are given, so there are a bounded number of statements to prepare.
 *
 * @example
 * const first = await searchMessages(db, { system: 'erp', status: 'invalid', limit: 20 });
 * const second = first.next ? await searchMessages(db, { system: 'erp', status: 'invalid', limit: 20, cursor: first.next }) : undefined;
 */
export async function searchMessages(db: Db, filter: MessageSearch): Promise<MessagePage> {
  const limit = limitOf(filter.limit);
  if (filter.type !== undefined && filter.objectKey === undefined)
    throw new SearchFilterError('SEARCH_FILTER_INVALID', '/type', 'a type is searched for with an objectKey');
  const from = filter.from === undefined ? undefined : instantOf(filter.from, '/from');
  const to = filter.to === undefined ? undefined : instantOf(filter.to, '/to');
  const cursor = filter.cursor === undefined ? undefined : decodeCursor(filter.cursor);
  const keys = keysOf(filter);
  // A key names few messages (an Idempotency-Key one or two, an object its updates). Their ids are
  // read first and the page is made from that list, each looked up by primary key, so its time grows
  // with the key's messages, not the store's. Joined to the key's own query instead, PostgreSQL hashed
  // the whole messages table for an object of 5 000 messages (0.4 s in 1 000 000), and SQLite, without
  // statistics, read a whole status in order for an Idempotency-Key and a status. With an id, the
  // primary key finds the message and the keys only filter.
  const driver = filter.messageId === undefined ? keys.shift() : undefined;
  let ids: string[] | undefined;
  if (driver) {
    const params = new Params();
    const rows = await db.query<{ id: string }>(driver(params), params.values);
    ids = [...new Set(rows.map((row) => row.id))];
    if (ids.length === 0) return { messages: [] };
  }
  const params = new Params();
  const named = ids && idRows(db, params.bind(JSON.stringify(ids)));
  const where: string[] = named ? ['m.id = named.id'] : [];
  for (const key of keys) where.push(`m.id IN (${key(params)})`);
  if (filter.messageId !== undefined) where.push(`m.id = ${params.bind(filter.messageId)}`);
  if (filter.system !== undefined) where.push(`m.system = ${params.bind(filter.system)}`);
  if (filter.status !== undefined) where.push(`m.status = ${params.bind(filter.status)}`);
  if (from !== undefined) where.push(`m.received_at >= ${params.bind(from)}`);
  if (to !== undefined) where.push(`m.received_at < ${params.bind(to)}`);
  if (cursor) where.push(`(m.received_at, m.id) < (${params.bind(cursor[0])}, ${params.bind(cursor[1])})`);
  const filters = where.length ? `WHERE ${where.join(' AND ')}` : '';
  const order = 'ORDER BY m.received_at DESC, m.id DESC';
  // One more than the page: whether a next page exists without asking again. CROSS JOIN: SQLite
  // joins in the order written.
  const sql = named
    ? `SELECT ${COLUMNS} FROM ${named} named CROSS JOIN messages m ${filters} ${order} LIMIT ${params.bind(limit + 1)}`
    : // The page's ids first, read off the one index that holds every filtered column (SQLite picks a
      // covering index over one that is not, where it would otherwise pick between equals by chance),
      // then their rows.
      `SELECT ${COLUMNS} FROM (SELECT m.id FROM messages m ${filters} ${order} LIMIT ${params.bind(limit + 1)}) page
        CROSS JOIN messages m WHERE m.id = page.id ${order}`;
  const rows = await db.query(sql, params.values);
  const page = rows.slice(0, limit);
  const messages = await summaries(db, page);
  const last = page[page.length - 1];
  return rows.length > limit && last
    ? { messages, next: encodeCursor(String(last.received_at), String(last.id)) }
    : { messages };
}

/** The parameters of one statement, each bound as the next `$n`. */
class Params {
  readonly values: unknown[] = [];
  bind(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

/** A query for the ids (as `id`) of the messages a key names, its values bound to `params`. */
type KeyQuery = (params: Params) => string;

function keysOf(filter: MessageSearch): KeyQuery[] {
  const keys: KeyQuery[] = [];
  const { idempotencyKey, correlationId, objectKey, type } = filter;
  if (idempotencyKey !== undefined)
    keys.push((params) => `SELECT id FROM messages WHERE idempotency_key = ${params.bind(idempotencyKey)}`);
  if (correlationId !== undefined)
    keys.push(
      (params) => `SELECT message_id AS id FROM deliveries WHERE ${CORRELATION_ID} = ${params.bind(correlationId)}`,
    );
  if (objectKey !== undefined)
    keys.push(
      (params) =>
        `SELECT message_id AS id FROM decisions WHERE object_key = ${params.bind(objectKey)}${
          type === undefined ? '' : ` AND type = ${params.bind(type)}`
        }`,
    );
  return keys;
}

/** The strings of the JSON array in parameter `n` as rows of one column, `id`, for a FROM clause. */
function idRows(db: Pick<Db, 'dialect'>, n: string): string {
  return db.dialect === 'postgres'
    ? `(SELECT jsonb_array_elements_text(${n}::jsonb) AS id)`
    : `(SELECT value AS id FROM json_each(${n}))`;
}

/** The page's rows with their decisions counted and their first object. */
async function summaries(db: Db, rows: Array<Record<string, unknown>>): Promise<MessageSummary[]> {
  if (rows.length === 0) return [];
  const ids = JSON.stringify(rows.map((row) => String(row.id)));
  const counts = await db.query<{ message_id: string; decision: string; count: number }>(
    `SELECT message_id, decision, COUNT(*) AS count FROM decisions WHERE message_id IN ${jsonStrings(db, 1)}
      GROUP BY message_id, decision`,
    [ids],
  );
  const firsts = await db.query<{ message_id: string; type: string; object_key: string }>(
    `SELECT message_id, type, object_key FROM decisions WHERE message_id IN ${jsonStrings(db, 1)} AND doc_index = 0`,
    [ids],
  );
  const decisions = new Map<string, Record<string, number>>();
  for (const row of counts) {
    const of = decisions.get(row.message_id) ?? {};
    of[row.decision] = Number(row.count);
    decisions.set(row.message_id, of);
  }
  const firstObjects = new Map(firsts.map((row) => [row.message_id, { type: row.type, objectKey: row.object_key }]));
  return rows.map((row) => {
    const id = String(row.id);
    const mapping = row.mapping ? (JSON.parse(String(row.mapping)) as { name?: string }).name : undefined;
    const errorCode = row.error ? (JSON.parse(String(row.error)) as { code?: string }).code : undefined;
    const firstObject = firstObjects.get(id);
    return {
      messageId: id,
      system: String(row.system),
      receivedAt: String(row.received_at),
      status: row.status as MessageStatus,
      contentType: String(row.content_type),
      ...(row.idempotency_key === null ? {} : { idempotencyKey: String(row.idempotency_key) }),
      ...(mapping === undefined ? {} : { mapping }),
      decisions: decisions.get(id) ?? {},
      ...(firstObject ? { firstObject } : {}),
      ...(errorCode === undefined ? {} : { errorCode }),
    };
  });
}

function limitOf(limit: number | undefined): number {
  if (limit === undefined) return SEARCH_LIMIT_DEFAULT;
  if (!Number.isInteger(limit) || limit < 1 || limit > SEARCH_LIMIT_MAX)
    throw new SearchFilterError('SEARCH_FILTER_INVALID', '/limit', `a whole number from 1 to ${SEARCH_LIMIT_MAX}`);
  return limit;
}

/** An RFC 3339 time as the hub writes received_at (toISOString), so the text comparison is a time comparison. */
function instantOf(value: string, path: string): string {
  const time = Date.parse(value);
  if (!/^\d{4}-\d\d-\d\dT/.test(value) || Number.isNaN(time))
    throw new SearchFilterError('SEARCH_FILTER_INVALID', path, `not an RFC 3339 date-time: ${value}`);
  return new Date(time).toISOString();
}

/** The position after a page's last message: base64url of its JSON [receivedAt, id]. */
function encodeCursor(receivedAt: string, id: string): string {
  return Buffer.from(JSON.stringify([receivedAt, id])).toString('base64url');
}

function decodeCursor(cursor: string): [string, string] {
  let position: unknown;
  try {
    position = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new SearchCursorError();
  }
  if (
    !Array.isArray(position) ||
    position.length !== 2 ||
    !position.every((part) => typeof part === 'string' && part.length > 0)
  )
    throw new SearchCursorError();
  return position as [string, string];
}
