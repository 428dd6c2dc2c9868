/**
 * The PLC line's own store (SQLite): the order revisions the hub delivered, and the truth of what the
 * line made: good and reject counts per work unit and order (across counter rollovers and restarts)
 * and every stop. GET /figures is read from here.
 */
import type Database from 'better-sqlite3';
import type { OrderRevision, StopStart } from './plc-line';
import type { UnitId } from './plc-plan';
import { WORK_UNITS } from './scenario';

/** An order revision as POST /orders takes it (the scada-order-download mapping's JSON). */
export interface OrderDownload {
  orderId: string;
  state: string;
  quantity: number | null;
  unit: string | null;
  line: string | null;
  product: string | null;
  release: boolean | null;
  /** The hub's object revision (x-handover-object-revision), when it sends one. */
  revision: number | null;
}

export interface SavedOrder {
  /** False when the store already had this revision or a later one: nothing changed. */
  applied: boolean;
  reason?: string;
  order: OrderRevision;
}

/** A stop as GET /figures lists it: `kind` and `reasonCode` as the hub's DowntimeEvents name them. */
export interface FigureStop {
  start: string;
  end: string | null;
  kind: 'stop' | 'external';
  /** The fault's code; `STARVED_BLOCKED` for a starved unit; null for a stop without a reason. */
  reasonCode: string | null;
  /** No reason and at most 120 s (the seed's microStopSeconds). */
  micro: boolean;
  cause: string;
  orderId: string | null;
}

export interface Figures {
  system: string;
  units: Record<string, { byOrder: Record<string, { good: number; reject: number }>; stops: FigureStop[] }>;
  orders: { orderId: string; state: string; quantity: number | null; revision: number | null; receivedAt: string }[];
}

/** An unclassified stop of at most this long is a micro-stop (the seed's context.microStopSeconds). */
const MICRO_STOP_MS = 120_000;

const iso = (ms: number) => new Date(ms).toISOString();

/** The PLC's tables over one SQLite database. */
export class PlcStore {
  private readonly statements: {
    addCounts: Database.Statement;
    stopStarted: Database.Statement;
    stopEnded: Database.Statement;
  };

  constructor(private readonly db: Database.Database) {
    db.exec(`
      CREATE TABLE IF NOT EXISTS orders (
        order_id TEXT PRIMARY KEY,
        seq INTEGER NOT NULL,
        revision INTEGER,
        state TEXT NOT NULL,
        quantity INTEGER,
        unit TEXT,
        line TEXT,
        product TEXT,
        release INTEGER,
        received_at TEXT NOT NULL,
        received_ms INTEGER NOT NULL
      );
      CREATE TABLE IF NOT EXISTS order_revisions (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        order_id TEXT NOT NULL,
        revision INTEGER,
        state TEXT NOT NULL,
        quantity INTEGER,
        received_at TEXT NOT NULL,
        applied INTEGER NOT NULL
      );
      CREATE TABLE IF NOT EXISTS counts (
        unit TEXT NOT NULL,
        order_id TEXT NOT NULL,
        good INTEGER NOT NULL DEFAULT 0,
        reject INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (unit, order_id)
      );
      CREATE TABLE IF NOT EXISTS stops (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        unit TEXT NOT NULL,
        order_id TEXT,
        kind TEXT NOT NULL,
        cause TEXT NOT NULL,
        reason_code TEXT,
        start_ms INTEGER NOT NULL,
        end_ms INTEGER
      );
      CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    `);
    this.statements = {
      addCounts: db.prepare(
        `INSERT INTO counts (unit, order_id, good, reject) VALUES (?, ?, ?, ?)
         ON CONFLICT (unit, order_id) DO UPDATE SET good = good + excluded.good, reject = reject + excluded.reject`,
      ),
      stopStarted: db.prepare(
        'INSERT INTO stops (unit, order_id, kind, cause, reason_code, start_ms) VALUES (?, ?, ?, ?, ?, ?)',
      ),
      stopEnded: db.prepare('UPDATE stops SET end_ms = ? WHERE unit = ? AND end_ms IS NULL'),
    };
  }

  /**
   * Keeps a delivered revision unless the store has it already (the same hub revision, or the same
   * state and quantity when the hub sends no revision number) or a later one.
   */
  saveOrder(download: OrderDownload, at: number): SavedOrder {
    const row = this.db.prepare('SELECT * FROM orders WHERE order_id = ?').get(download.orderId) as
      { revision: number | null; state: string; quantity: number | null; received_ms: number } | undefined;
    // A revision without a quantity keeps the one the order had.
    download = { ...download, quantity: download.quantity ?? row?.quantity ?? null };
    let reason: string | undefined;
    if (row && download.revision !== null && row.revision !== null && download.revision <= row.revision)
      reason = download.revision === row.revision ? 'the same revision again' : `older than revision ${row.revision}`;
    else if (row && download.revision === null && row.state === download.state && row.quantity === download.quantity)
      reason = 'the same state and quantity again';
    const applied = reason === undefined;
    this.db.transaction(() => {
      this.db
        .prepare(
          'INSERT INTO order_revisions (order_id, revision, state, quantity, received_at, applied) VALUES (?, ?, ?, ?, ?, ?)',
        )
        .run(download.orderId, download.revision, download.state, download.quantity, iso(at), applied ? 1 : 0);
      if (!applied) return;
      this.db
        .prepare(
          `INSERT INTO orders (order_id, seq, revision, state, quantity, unit, line, product, release, received_at, received_ms)
           VALUES (@orderId, (SELECT COALESCE(MAX(seq), 0) + 1 FROM orders), @revision, @state, @quantity, @unit, @line,
                   @product, @release, @receivedAt, @receivedMs)
           ON CONFLICT (order_id) DO UPDATE SET revision = excluded.revision, state = excluded.state,
             quantity = excluded.quantity, unit = excluded.unit, line = excluded.line, product = excluded.product,
             release = excluded.release, received_at = excluded.received_at, received_ms = excluded.received_ms`,
        )
        .run({
          ...download,
          release: download.release === null ? null : download.release ? 1 : 0,
          receivedAt: iso(at),
          receivedMs: at,
        });
    })();
    const order = applied
      ? { orderId: download.orderId, state: download.state, quantity: download.quantity, at }
      : { orderId: download.orderId, state: row!.state, quantity: row!.quantity, at: row!.received_ms };
    return { applied, ...(reason ? { reason } : {}), order };
  }

  /** The orders as the line should know them after a restart of the process. */
  orders(): OrderRevision[] {
    const rows = this.db.prepare('SELECT order_id, state, quantity, received_ms FROM orders ORDER BY seq').all() as {
      order_id: string;
      state: string;
      quantity: number | null;
      received_ms: number;
    }[];
    return rows.map((row) => ({
      orderId: row.order_id,
      state: row.state,
      quantity: row.quantity,
      at: row.received_ms,
    }));
  }

  /** Good cases the case packer made per order. */
  producedCases(): Record<string, number> {
    const rows = this.db.prepare("SELECT order_id, good FROM counts WHERE unit = 'CASEPACKER-01'").all() as {
      order_id: string;
      good: number;
    }[];
    return Object.fromEntries(rows.map((row) => [row.order_id, row.good]));
  }

  /** Runs `work` in one transaction (a tick of the line writes all it did at once). */
  batch(work: () => void): void {
    this.db.transaction(work)();
  }

  addCounts(unit: UnitId, orderId: string, good: number, reject: number): void {
    this.statements.addCounts.run(unit, orderId, good, reject);
  }

  stopStarted(stop: StopStart): void {
    this.statements.stopStarted.run(
      stop.unit,
      stop.orderId,
      stop.kind,
      stop.cause,
      stop.reasonCode === null ? null : String(stop.reasonCode),
      stop.start,
    );
  }

  stopEnded(unit: UnitId, at: number): void {
    this.statements.stopEnded.run(at, unit);
  }

  meta(key: string): string | undefined {
    const row = this.db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined;
    return row?.value;
  }

  setMeta(key: string, value: string): void {
    this.db
      .prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value')
      .run(key, value);
  }

  /**
   * The demo's proof that a difference is caught: one more good case at the case packer for the
   * first order the store received. Undefined when there is no order yet.
   */
  corrupt(): { unit: UnitId; orderId: string; good: { before: number; after: number } } | undefined {
    const first = this.db.prepare('SELECT order_id FROM orders ORDER BY seq LIMIT 1').get() as
      { order_id: string } | undefined;
    if (!first) return undefined;
    const unit: UnitId = 'CASEPACKER-01';
    return this.db.transaction(() => {
      const row = this.db
        .prepare('SELECT good FROM counts WHERE unit = ? AND order_id = ?')
        .get(unit, first.order_id) as { good: number } | undefined;
      this.addCounts(unit, first.order_id, 1, 0);
      const before = row?.good ?? 0;
      return { unit, orderId: first.order_id, good: { before, after: before + 1 } };
    })();
  }

  /** What the line made and where it stood, per work unit. */
  figures(system: string): Figures {
    const units: Figures['units'] = {};
    const unitOf = (unit: string) => (units[unit] ??= { byOrder: {}, stops: [] });
    for (const unit of WORK_UNITS) unitOf(unit);
    const counts = this.db.prepare('SELECT unit, order_id, good, reject FROM counts ORDER BY unit, order_id').all() as {
      unit: string;
      order_id: string;
      good: number;
      reject: number;
    }[];
    for (const row of counts) unitOf(row.unit).byOrder[row.order_id] = { good: row.good, reject: row.reject };
    const stops = this.db.prepare('SELECT * FROM stops ORDER BY start_ms, id').all() as {
      unit: string;
      order_id: string | null;
      kind: string;
      cause: string;
      reason_code: string | null;
      start_ms: number;
      end_ms: number | null;
    }[];
    for (const row of stops) {
      const kind = row.kind === 'external' ? 'external' : 'stop';
      const micro =
        kind === 'stop' &&
        row.reason_code === null &&
        row.end_ms !== null &&
        row.end_ms - row.start_ms <= MICRO_STOP_MS;
      unitOf(row.unit).stops.push({
        start: iso(row.start_ms),
        end: row.end_ms === null ? null : iso(row.end_ms),
        kind,
        // The hub's engine gives a starved stop this reason code.
        reasonCode: kind === 'external' ? 'STARVED_BLOCKED' : row.reason_code,
        micro,
        cause: row.cause,
        orderId: row.order_id,
      });
    }
    const orders = this.db
      .prepare('SELECT order_id, state, quantity, revision, received_at FROM orders ORDER BY seq')
      .all() as {
      order_id: string;
      state: string;
      quantity: number | null;
      revision: number | null;
      received_at: string;
    }[];
    return {
      system,
      units,
      orders: orders.map((row) => ({
        orderId: row.order_id,
        state: row.state,
        quantity: row.quantity,
        revision: row.revision,
        receivedAt: row.received_at,
      })),
    };
  }
}
