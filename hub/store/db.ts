/**
 * One small SQL interface over SQLite (better-sqlite3, the zero-configuration default) and
 * PostgreSQL (pg, when DATABASE_URL is set), so every store is written once in portable SQL
 * with `$1`-style parameters.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';

export type Dialect = 'sqlite' | 'postgres';
export type Row = Record<string, unknown>;

/** A connection (or a transaction on one). */
export interface Db {
  readonly dialect: Dialect;
  query<T extends Row = Row>(sql: string, params?: unknown[]): Promise<T[]>;
  execute(sql: string, params?: unknown[]): Promise<number>;
  /** Runs `work` in one transaction that takes the write lock at once (serialising writers). */
  transaction<T>(work: (tx: Db) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** SQL for the elements of the JSON array of strings in parameter `$n`, as a subquery (`id IN …`). */
export function jsonStrings(db: Pick<Db, 'dialect'>, n: number): string {
  return db.dialect === 'postgres'
    ? `(SELECT jsonb_array_elements_text($${n}::jsonb))`
    : `(SELECT value FROM json_each($${n}))`;
}

/** Opens PostgreSQL when `databaseUrl` is given, else the SQLite file at `sqliteFile`. */
export function openDb(options: { databaseUrl?: string; sqliteFile: string }): Db {
  return options.databaseUrl ? new PostgresDb(options.databaseUrl) : new SqliteDb(options.sqliteFile);
}

/** Serialises async work on the single SQLite connection so a transaction never interleaves with other queries. */
class Mutex {
  private tail: Promise<unknown> = Promise.resolve();
  run<T>(work: () => Promise<T>): Promise<T> {
    const result = this.tail.then(work, work);
    this.tail = result.catch(() => undefined);
    return result;
  }
}

interface PendingTransaction {
  work: (tx: Db) => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/** How long a statement waits for another process's write lock before it fails. */
const BUSY_TIMEOUT_MS = 10_000;

/** Something to wait on synchronously (Atomics.wait), never notified: a pause of the main thread. */
const pause = new Int32Array(new SharedArrayBuffer(4));

/** Runs `statement` again while SQLite answers SQLITE_BUSY without waiting itself, for up to BUSY_TIMEOUT_MS. */
function whileBusy<T>(statement: () => T): T {
  const deadline = Date.now() + BUSY_TIMEOUT_MS;
  for (;;) {
    try {
      return statement();
    } catch (error) {
      if (!(error as { code?: string }).code?.startsWith('SQLITE_BUSY') || Date.now() > deadline) throw error;
      // Only while opening: a synchronous pause of 10 ms, then again.
      Atomics.wait(pause, 0, 0, 10);
    }
  }
}

/** Transactions committed together at most; bounds how long one group holds the write lock. */
const GROUP_LIMIT = 256;
/**
 * A group takes no more transactions once its work has run this long: a group runs without yielding
 * (the statements are synchronous), so a long queue must not hold the event loop for the whole of it.
 */
const GROUP_BUDGET_MS = 40;

/**
 * SQLite with group commit: transactions that arrive while one is running are committed together,
 * each in its own savepoint, so many writers share one fsync while every one keeps its
 * all-or-nothing result. Transaction bodies must await only the `tx` they are given.
 */
class SqliteDb implements Db {
  readonly dialect = 'sqlite' as const;
  private readonly db: Database.Database;
  private readonly lock = new Mutex();
  private readonly statements = new Map<string, Prepared>();
  private readonly pending: PendingTransaction[] = [];
  private flushScheduled = false;
  private readonly tx: Db;

  constructor(file: string) {
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
    this.db = new Database(file, { timeout: BUSY_TIMEOUT_MS });
    // Another process switching a fresh file to WAL at this instant makes this one fail at once with
    // SQLITE_BUSY, without waiting (an api and a worker started together): wait for it here.
    whileBusy(() => this.db.pragma('journal_mode = WAL'));
    this.db.pragma('synchronous = FULL');
    this.db.pragma('foreign_keys = ON');
    const tx: Db = {
      dialect: 'sqlite',
      query: async <R extends Row>(sql: string, params: unknown[] = []) => this.rawQuery<R>(sql, params),
      execute: async (sql, params = []) => this.rawExecute(sql, params),
      transaction: (inner) => inner(tx),
      close: async () => undefined,
    };
    this.tx = tx;
  }

  query<T extends Row>(sql: string, params: unknown[] = []): Promise<T[]> {
    return this.lock.run(async () => this.rawQuery<T>(sql, params));
  }

  /** A write outside a transaction joins the next group commit like any other transaction. */
  execute(sql: string, params: unknown[] = []): Promise<number> {
    return this.transaction((tx) => tx.execute(sql, params));
  }

  transaction<T>(work: (tx: Db) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.pending.push({ work, resolve: resolve as (value: unknown) => void, reject });
      this.scheduleFlush();
    });
  }

  /** After this turn's I/O callbacks, so transactions of jobs that woke up together share a commit. */
  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => void this.lock.run(() => this.flush()));
  }

  private async flush(): Promise<void> {
    this.flushScheduled = false;
    const group = this.pending.splice(0, GROUP_LIMIT);
    if (this.pending.length > 0) this.scheduleFlush();
    const outcomes: Array<{ ok: boolean; value: unknown }> = [];
    try {
      this.control('BEGIN IMMEDIATE');
    } catch (error) {
      for (const item of group) item.reject(error);
      return;
    }
    try {
      const started = performance.now();
      for (const [index, item] of group.entries()) {
        if (index > 0 && performance.now() - started > GROUP_BUDGET_MS) {
          // The rest go first in the next group, after the event loop has had a turn.
          this.pending.unshift(...group.splice(index));
          this.scheduleFlush();
          break;
        }
        this.control('SAVEPOINT handover_tx');
        try {
          const value = await item.work(this.tx);
          this.control('RELEASE handover_tx');
          outcomes.push({ ok: true, value });
        } catch (error) {
          this.control('ROLLBACK TO handover_tx');
          this.control('RELEASE handover_tx');
          outcomes.push({ ok: false, value: error });
        }
      }
      this.control('COMMIT');
    } catch (error) {
      // COMMIT failed, or SQLite ended the transaction itself (an I/O error, a full disk) and took the
      // savepoints with it: nothing of the group is committed, and each of its callers is told so.
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
      for (const item of group) item.reject(error);
      return;
    }
    group.forEach((item, index) => {
      const outcome = outcomes[index]!;
      if (outcome.ok) item.resolve(outcome.value);
      else item.reject(outcome.value);
    });
  }

  async close(): Promise<void> {
    await this.lock.run(async () => this.db.close());
  }

  /** Runs a transaction-control statement, prepared once (exec would parse it on every call). */
  private control(sql: string): void {
    this.prepared(sql).statement.run();
  }

  private prepared(sql: string): Prepared {
    let prepared = this.statements.get(sql);
    if (!prepared) {
      const numbers = [...sql.matchAll(/\$(\d+)/g)].map((match) => Number(match[1]));
      // `$1, $2, …` each once and in order binds by position (no object per call); otherwise `$1` → `@p1`.
      const positional = numbers.every((number, index) => number === index + 1);
      const statement = this.db.prepare(positional ? sql.replace(/\$\d+/g, '?') : sql.replace(/\$(\d+)/g, '@p$1'));
      prepared = { statement, positional };
      this.statements.set(sql, prepared);
    }
    return prepared;
  }

  private rawQuery<T>(sql: string, params: unknown[]): T[] {
    const { statement, positional } = this.prepared(sql);
    return statement.all(...bindings(positional, params)) as T[];
  }

  private rawExecute(sql: string, params: unknown[]): number {
    const { statement, positional } = this.prepared(sql);
    return statement.run(...bindings(positional, params)).changes;
  }
}

/** A statement prepared once, and whether it binds its parameters by position. */
interface Prepared {
  statement: Database.Statement;
  positional: boolean;
}

/** The arguments better-sqlite3 binds `params` from: the values in order, or one object of `@pN`. */
function bindings(positional: boolean, params: unknown[]): unknown[] {
  if (params.length === 0) return [];
  if (positional) return params.map(toSqlite);
  return [Object.fromEntries(params.map((value, index) => [`p${index + 1}`, toSqlite(value)]))];
}

function toSqlite(value: unknown): unknown {
  if (value === undefined) return null;
  if (typeof value === 'boolean') return value ? 1 : 0;
  return value;
}

// BIGINT columns come back as JavaScript numbers (sequence numbers stay far below 2^53).
pg.types.setTypeParser(20, (value) => Number(value));

class PostgresDb implements Db {
  readonly dialect = 'postgres' as const;
  private readonly pool: pg.Pool;

  constructor(url: string) {
    this.pool = new pg.Pool({ connectionString: url, max: 10 });
  }

  async query<T extends Row>(sql: string, params: unknown[] = []): Promise<T[]> {
    return (await this.pool.query(sql, params.map(toPostgres))).rows as T[];
  }

  async execute(sql: string, params: unknown[] = []): Promise<number> {
    return (await this.pool.query(sql, params.map(toPostgres))).rowCount ?? 0;
  }

  async transaction<T>(work: (tx: Db) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    const tx: Db = {
      dialect: 'postgres',
      query: async <R extends Row>(sql: string, params: unknown[] = []) =>
        (await client.query(sql, params.map(toPostgres))).rows as R[],
      execute: async (sql, params = []) => (await client.query(sql, params.map(toPostgres))).rowCount ?? 0,
      transaction: (inner) => inner(tx),
      close: async () => undefined,
    };
    try {
      await client.query('BEGIN');
      const result = await work(tx);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

function toPostgres(value: unknown): unknown {
  return value === undefined ? null : value;
}
