/**
 * What the WMS, QMS, CMMS and BI simulators keep in their own stores about their traffic with the
 * hub: the Idempotency-Keys of the deliveries they have taken (a second delivery of a key changes
 * nothing), and an outbox of documents that wait for their plant time and are then sent with
 * sendToHub, under their own id as Idempotency-Key, with the hub's answer kept beside them.
 */
import type Database from 'better-sqlite3';
import type { Express, Request } from 'express';
import { log, sendToHub, serve, type HubAnswer, type SystemSettings } from './common';

/** A plant time (epoch ms) as the systems send it: ISO 8601 in UTC, whole seconds, with Z. */
export function plantIso(plantMs: number): string {
  return new Date(Math.floor(plantMs / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

/** Plant milliseconds of `minutes` plant minutes. */
export const minutes = (count: number) => count * 60_000;

/**
 * The Idempotency-Keys of the deliveries a system has taken. The function it returns records a
 * delivery's key and answers false when the key was taken before, so that the caller, in the same
 * transaction, changes nothing. A delivery without a key is always taken.
 */
export function deliveryKeys(db: Database.Database): (req: Request, plantMs: number) => boolean {
  db.exec('CREATE TABLE IF NOT EXISTS deliveries (key TEXT PRIMARY KEY, taken_at INTEGER NOT NULL)');
  const insert = db.prepare('INSERT OR IGNORE INTO deliveries (key, taken_at) VALUES (?, ?)');
  return (req, plantMs) => {
    const key = req.header('idempotency-key');
    return !key || insert.run(key, Math.round(plantMs)).changes === 1;
  };
}

/** The canonical envelopes of a `format: json` delivery: one envelope, or an array of them. */
export function envelopesOf(body: unknown): Array<Record<string, unknown>> | undefined {
  const items = Array.isArray(body) ? (body as unknown[]) : [body];
  const envelope = (item: unknown): item is Record<string, unknown> =>
    typeof item === 'object' &&
    item !== null &&
    typeof (item as { type?: unknown }).type === 'string' &&
    typeof (item as { document?: unknown }).document === 'object';
  return items.length > 0 && items.every(envelope) ? items : undefined;
}

export interface Scheduled {
  /** Unique in the system's outbox; the Idempotency-Key it is sent with. */
  id: string;
  /** Plant time (epoch ms) it falls due. */
  due: number;
  /** What it is, for the system's own figures and its onDue. */
  kind: string;
  body: object;
}

export interface OutboxRow extends Scheduled {
  /** pending: waiting for its time; taken: due and being sent; sent/refused: the hub answered; dropped: onDue sent nothing. */
  state: 'pending' | 'taken' | 'sent' | 'refused' | 'dropped';
  status?: number;
  messageId?: string;
  error?: string;
}

/**
 * What a system does when a scheduled document falls due, in the transaction that takes it up:
 * changes its own store and returns the body to send (the scheduled one or another), or null to
 * send nothing.
 */
export type OnDue = (row: Scheduled) => object | null;

interface StoredRow {
  id: string;
  due: number;
  kind: string;
  body: string;
  state: OutboxRow['state'];
  status: number | null;
  message_id: string | null;
  error: string | null;
}

/** The plant-timed sends of one system, in its own store. */
export class Outbox {
  private timer: NodeJS.Timeout | undefined;
  private pumping: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly db: Database.Database,
    private readonly settings: SystemSettings,
    private readonly onDue: OnDue = (row) => row.body,
  ) {
    db.exec(`CREATE TABLE IF NOT EXISTS outbox (
      seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, due INTEGER NOT NULL, kind TEXT NOT NULL,
      body TEXT NOT NULL, state TEXT NOT NULL DEFAULT 'pending', status INTEGER, message_id TEXT, error TEXT)`);
  }

  /** Schedules a send once: false when `id` is scheduled already (nothing changes then). */
  schedule(id: string, due: number, kind: string, body: object): boolean {
    return (
      this.db
        .prepare('INSERT OR IGNORE INTO outbox (id, due, kind, body) VALUES (?, ?, ?, ?)')
        .run(id, Math.round(due), kind, JSON.stringify(body)).changes === 1
    );
  }

  /** The scheduled sends, oldest first; of one kind if given. */
  rows(kind?: string): OutboxRow[] {
    const stored = (
      kind === undefined
        ? this.db.prepare('SELECT * FROM outbox ORDER BY due, seq').all()
        : this.db.prepare('SELECT * FROM outbox WHERE kind = ? ORDER BY due, seq').all(kind)
    ) as StoredRow[];
    return stored.map((row) => ({
      id: row.id,
      due: row.due,
      kind: row.kind,
      body: JSON.parse(row.body) as object,
      state: row.state,
      ...(row.status === null ? {} : { status: row.status }),
      ...(row.message_id === null ? {} : { messageId: row.message_id }),
      ...(row.error === null ? {} : { error: row.error }),
    }));
  }

  /** Sends what is due every `intervalMs` wall milliseconds until stopped. */
  start(intervalMs = 50): void {
    const tick = () => {
      this.pumping = this.pump()
        .catch((error: unknown) => log(this.settings.system, 'outbox failed', { error: String(error) }))
        .finally(() => {
          if (!this.stopped) this.timer = setTimeout(tick, intervalMs);
        });
    };
    tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.pumping;
  }

  /** Sends every due row in plant-time order; stops at the first the hub cannot take yet (tried again next round). */
  private async pump(): Promise<void> {
    const due = this.db
      .prepare("SELECT * FROM outbox WHERE state IN ('pending', 'taken') AND due <= ? ORDER BY due, seq")
      .all(this.settings.clock.now()) as StoredRow[];
    for (const row of due) {
      if (this.stopped) return;
      let body = JSON.parse(row.body) as object;
      if (row.state === 'pending') {
        const scheduled = { id: row.id, due: row.due, kind: row.kind, body };
        const next = this.db.transaction(() => {
          const chosen = this.onDue(scheduled);
          this.db
            .prepare('UPDATE outbox SET state = ?, body = ? WHERE id = ?')
            .run(chosen ? 'taken' : 'dropped', JSON.stringify(chosen ?? body), row.id);
          return chosen;
        })();
        if (!next) continue;
        body = next;
      }
      let answer: HubAnswer;
      try {
        answer = await sendToHub(this.settings, body, { contentType: 'json', idempotencyKey: row.id, attempts: 5 });
      } catch (error) {
        log(this.settings.system, 'hub unreachable, will send again', { id: row.id, error: String(error) });
        return;
      }
      if (answer.status === 503) return;
      const accepted = answer.status >= 200 && answer.status < 300;
      this.db
        .prepare('UPDATE outbox SET state = ?, status = ?, message_id = ?, error = ? WHERE id = ?')
        .run(
          accepted ? 'sent' : 'refused',
          answer.status,
          answer.messageId ?? null,
          answer.error ? JSON.stringify(answer.error) : null,
          row.id,
        );
      log(this.settings.system, accepted ? 'sent to the hub' : 'refused by the hub', {
        id: row.id,
        kind: row.kind,
        status: answer.status,
        ...(answer.messageId ? { messageId: answer.messageId } : {}),
        ...(answer.error ? { error: answer.error } : {}),
      });
    }
  }
}

/**
 * Serves a system: its own `routes`, GET /figures and POST /control/corrupt (409 with `nothingYet`
 * when there is nothing to change), and runs its outbox; `close` stops all three and the store.
 */
export async function serveSystem(
  settings: SystemSettings,
  db: Database.Database,
  parts: {
    routes: (app: Express) => void;
    figures: () => unknown;
    corrupt: () => unknown;
    nothingYet: string;
    outbox?: Outbox;
  },
): Promise<{ close(): Promise<void> }> {
  const server = await serve(settings, (app) => {
    parts.routes(app);
    app.get('/figures', (_req, res) => void res.json(parts.figures()));
    app.post('/control/corrupt', (_req, res) => {
      const changed = db.transaction(parts.corrupt)();
      if (changed) res.json({ system: settings.system, changed });
      else res.status(409).json({ error: parts.nothingYet });
    });
  });
  parts.outbox?.start();
  return {
    async close() {
      await server.close();
      await parts.outbox?.stop();
      db.close();
    },
  };
}
