/**
 * What every simulated system of the demo plant shares: its settings from the environment the demo
 * starts it with, the plant clock (an accelerated shift, in plant time), its own SQLite store, an
 * HTTP server for what the hub delivers and for its own figures, and sending to the hub with its
 * own token as a real system would. Nothing here reaches into the hub: a system knows the hub only
 * by its URL and its token.
 */
import { mkdirSync } from 'node:fs';
import type { Server } from 'node:http';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import express, { type Express } from 'express';

/** The plant clock: plant time runs `speed` times faster than the wall clock from `plantStart`. */
export class PlantClock {
  constructor(
    /** Plant time (epoch ms) when the run began. */
    readonly plantStart: number,
    /** Wall time (epoch ms) when the run began. */
    readonly wallStart: number,
    readonly speed: number,
    /** Plant hours the shift plays. */
    readonly hours: number,
  ) {}

  /** Plant time now, epoch ms. */
  now(): number {
    return this.plantStart + (Date.now() - this.wallStart) * this.speed;
  }

  /** Plant time when the shift ends. */
  get end(): number {
    return this.plantStart + this.hours * 3_600_000;
  }

  /** Resolves once plant time reaches `plantMs` (at once if it has). */
  async until(plantMs: number): Promise<void> {
    const wait = (plantMs - this.now()) / this.speed;
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  }

  /** The wall milliseconds `plantMs` plant milliseconds take. */
  wallMs(plantMs: number): number {
    return plantMs / this.speed;
  }
}

export interface SystemSettings {
  /** The system's id at the hub (`erp`, `mes`, …). */
  system: string;
  /** Where its HTTP server listens, on 127.0.0.1. */
  port: number;
  /** Its own directory: its store lives here. */
  dataDir: string;
  hubUrl: string;
  /** Its token at the hub (HANDOVER_TOKEN_<SYSTEM> of the hub). */
  token: string;
  clock: PlantClock;
  /** Further settings the demo passes, by name (DEMO_<NAME> variables, e.g. DEMO_OPCUA_PORT → OPCUA_PORT). */
  extra: Record<string, string>;
}

function required(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`${name} is not set (the demo sets it)`);
  return value;
}

/** The settings the demo starts a system with (environment variables DEMO_*, HUB_URL, HUB_TOKEN). */
export function settingsOf(system: string): SystemSettings {
  const extra: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env))
    if (name.startsWith('DEMO_') && value !== undefined) extra[name.slice('DEMO_'.length)] = value;
  return {
    system,
    port: Number(required('DEMO_PORT')),
    dataDir: required('DEMO_DATA_DIR'),
    hubUrl: required('HUB_URL'),
    token: process.env['HUB_TOKEN'] ?? '',
    clock: new PlantClock(
      Number(required('PLANT_START')),
      Number(required('WALL_START')),
      Number(required('PLANT_SPEED')),
      Number(required('PLANT_HOURS')),
    ),
    extra,
  };
}

/** One line of the system's log (JSON, on stdout; the demo keeps it in the run's directory). */
export function log(system: string, message: string, fields: Record<string, unknown> = {}): void {
  process.stdout.write(`${JSON.stringify({ at: new Date().toISOString(), system, message, ...fields })}\n`);
}

/**
 * Takes a delivery from the hub once: `book` runs in the transaction that records its
 * Idempotency-Key in the store's `inbox` table, so a second delivery of the key changes nothing.
 * Returns false for a key already taken (a delivery without a key is always taken).
 */
export function takeOnce(
  db: Database.Database,
  key: string | undefined,
  path: string,
  at: string,
  book: () => void,
): boolean {
  return db.transaction(() => {
    if (key !== undefined) {
      const inserted = db
        .prepare('INSERT OR IGNORE INTO inbox (idempotency_key, path, received_at) VALUES (?, ?, ?)')
        .run(key, path, at);
      if (inserted.changes === 0) return false;
    }
    book();
    return true;
  })();
}

/** The system's own store: one SQLite file in its directory. */
export function openStore(settings: SystemSettings): Database.Database {
  mkdirSync(settings.dataDir, { recursive: true });
  const db = new Database(join(settings.dataDir, `${settings.system}.sqlite`));
  db.pragma('journal_mode = WAL');
  return db;
}

export interface HubAnswer {
  status: number;
  messageId?: string;
  error?: { code: string; message: string; details?: unknown };
}

/**
 * Sends a payload to the hub as this system (POST /api/v1/inbound/<system>, its bearer token), as a
 * real sender does: a 503 or a refused connection is retried with backoff (the same Idempotency-Key,
 * so a retry is never taken twice); any other answer is returned.
 */
export async function sendToHub(
  settings: SystemSettings,
  body: string | object,
  options: { contentType?: 'json' | 'xml'; idempotencyKey?: string; attempts?: number } = {},
): Promise<HubAnswer> {
  const contentType = options.contentType ?? (typeof body === 'string' ? 'xml' : 'json');
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const headers: Record<string, string> = {
    authorization: `Bearer ${settings.token}`,
    'content-type': contentType === 'xml' ? 'application/xml' : 'application/json',
  };
  if (options.idempotencyKey) headers['idempotency-key'] = options.idempotencyKey;
  const attempts = options.attempts ?? 20;
  let delay = 100;
  for (let attempt = 1; ; attempt += 1) {
    try {
      const response = await fetch(`${settings.hubUrl}/api/v1/inbound/${settings.system}`, {
        method: 'POST',
        headers,
        body: text,
      });
      const answer = (await response.json().catch(() => ({}))) as { messageId?: string; error?: HubAnswer['error'] };
      if (response.status !== 503 || attempt >= attempts)
        return {
          status: response.status,
          ...(answer.messageId ? { messageId: answer.messageId } : {}),
          ...(answer.error ? { error: answer.error } : {}),
        };
    } catch (error) {
      if (attempt >= attempts) throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, delay));
    delay = Math.min(delay * 2, 2000);
  }
}

/**
 * The system's HTTP server on 127.0.0.1:<port>: JSON and XML bodies parsed (XML as text), GET
 * /health answered; `routes` adds the rest. Resolves once it listens.
 */
export async function serve(
  settings: SystemSettings,
  routes: (app: Express) => void,
): Promise<{ close(): Promise<void> }> {
  const app = express();
  app.use(express.json({ limit: '10mb' }));
  app.use(express.text({ type: ['application/xml', 'text/xml', '*/*+xml'], limit: '10mb' }));
  app.get('/health', (_req, res) => void res.json({ ok: true, system: settings.system }));
  routes(app);
  const server: Server = await new Promise((resolve, reject) => {
    const listening = app.listen(settings.port, '127.0.0.1', () => resolve(listening));
    listening.on('error', reject);
  });
  return {
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Stops the process cleanly on SIGTERM/SIGINT (the demo's Ctrl-C), after `stop`. */
export function stopOnSignal(stop: () => Promise<void>): void {
  let stopping = false;
  const handler = () => {
    if (stopping) return;
    stopping = true;
    void stop().finally(() => process.exit(0));
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
}

/**
 * A system's program: starts it with the settings the demo gave, logs that it listens, and closes it
 * on SIGTERM/SIGINT; a start that fails is logged and exits 1.
 */
export function runSystem(
  system: string,
  start: (settings: SystemSettings) => Promise<{ close(): Promise<void> }>,
): void {
  const settings = settingsOf(system);
  start(settings).then(
    (running) => {
      log(system, 'listening', { port: settings.port });
      stopOnSignal(() => running.close());
    },
    (error: unknown) => {
      log(system, 'failed to start', { error: (error as Error).stack ?? String(error) });
      process.exit(1);
    },
  );
}
