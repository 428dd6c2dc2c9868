/**
 * The plant's reporting (system `bi`), a read-only consumer: keeps the latest revision of every
 * canonical object the hub delivers to it and reports from them — objects per type, good cases per
 * order from the case packer's confirmations, downtime minutes per reason. It never sends anything
 * to the hub. Entry: `node dist/seeds/packaging-line/systems/bi.js`.
 */
import type Database from 'better-sqlite3';
import type { Express } from 'express';
import { openStore, runSystem, type SystemSettings } from './common';
import { WORK_UNITS } from './scenario';
import { deliveryKeys, envelopesOf, serveSystem } from './wms-qms-cmms-bi-store';

/** The work unit whose count is the line's output. */
const OUTPUT_UNIT = WORK_UNITS[WORK_UNITS.length - 1];

interface Confirmation {
  orderId?: string;
  hierarchyScope?: { equipmentId?: string };
  segments?: Array<{ materials?: Array<{ use?: string; disposition?: string; quantity?: { value?: string } }> }>;
}

interface Downtime {
  reasonCode?: string;
  startTime?: string;
  endTime?: string;
  durationSeconds?: number;
}

interface StoredObject {
  revision: number | null;
  version: number | null;
  occurred_at: string;
}

/** Whether an incoming revision is at least as new as the stored one: the hub's revision, else version, else time. */
function newer(incoming: StoredObject, stored: StoredObject | undefined): boolean {
  if (!stored) return true;
  if (incoming.revision !== null && stored.revision !== null) return incoming.revision >= stored.revision;
  if (incoming.version !== null && stored.version !== null && incoming.version !== stored.version)
    return incoming.version > stored.version;
  return Date.parse(incoming.occurred_at) >= Date.parse(stored.occurred_at);
}

/** The good quantity a case packer confirmation books for its order (undefined for any other confirmation). */
function goodCases(confirmation: Confirmation): number | undefined {
  if (confirmation.hierarchyScope?.equipmentId !== OUTPUT_UNIT || !confirmation.orderId) return undefined;
  return (confirmation.segments ?? [])
    .flatMap((segment) => segment.materials ?? [])
    .filter((material) => material.use === 'Produced' && material.disposition === 'Good')
    .reduce((sum, material) => sum + Number(material.quantity?.value ?? 0), 0);
}

/** A stop's length in minutes (an open stop counts nothing yet). */
function downtimeMinutes(event: Downtime): number {
  if (typeof event.durationSeconds === 'number') return event.durationSeconds / 60;
  if (event.startTime && event.endTime) return (Date.parse(event.endTime) - Date.parse(event.startTime)) / 60_000;
  return 0;
}

const rounded = (value: number) => Math.round(value * 100) / 100;

/** Starts the BI consumer: its store and its HTTP API. */
export async function startBi(settings: SystemSettings): Promise<{ close(): Promise<void> }> {
  const { clock } = settings;
  const db: Database.Database = openStore(settings);
  db.exec(`CREATE TABLE IF NOT EXISTS objects (type TEXT NOT NULL, object_key TEXT NOT NULL, revision INTEGER,
    version INTEGER, occurred_at TEXT NOT NULL, document TEXT NOT NULL, received_at INTEGER NOT NULL,
    PRIMARY KEY (type, object_key))`);
  const taken = deliveryKeys(db);
  const stored = db.prepare('SELECT revision, version, occurred_at FROM objects WHERE type = ? AND object_key = ?');
  const upsert =
    db.prepare(`INSERT INTO objects (type, object_key, revision, version, occurred_at, document, received_at)
    VALUES (@type, @key, @revision, @version, @occurredAt, @document, @receivedAt)
    ON CONFLICT (type, object_key) DO UPDATE SET revision = excluded.revision, version = excluded.version,
      occurred_at = excluded.occurred_at, document = excluded.document, received_at = excluded.received_at`);

  /** Keeps each envelope's document unless a newer revision of its object is stored. */
  const keep = (envelopes: Array<Record<string, unknown>>, revisionHeader: string | undefined, now: number) => {
    // The hub's object revision comes with a delivery of one envelope.
    const revision = envelopes.length === 1 && revisionHeader !== undefined ? Number(revisionHeader) : NaN;
    let kept = 0;
    for (const envelope of envelopes) {
      const type = String(envelope['type']);
      const key = String(envelope['objectKey'] ?? (envelope['document'] as { id?: unknown }).id);
      const incoming = {
        revision: Number.isInteger(revision) ? revision : null,
        version: Number.isInteger(envelope['version']) ? (envelope['version'] as number) : null,
        occurred_at: String(envelope['occurredAt'] ?? new Date(now).toISOString()),
      };
      if (!newer(incoming, stored.get(type, key) as StoredObject | undefined)) continue;
      upsert.run({
        type,
        key,
        revision: incoming.revision,
        version: incoming.version,
        occurredAt: incoming.occurred_at,
        document: JSON.stringify(envelope['document']),
        receivedAt: Math.round(now),
      });
      kept += 1;
    }
    return kept;
  };

  const documents = <T>(type: string) =>
    (
      db.prepare('SELECT object_key, document FROM objects WHERE type = ? ORDER BY rowid').all(type) as Array<{
        object_key: string;
        document: string;
      }>
    ).map((row) => ({ key: row.object_key, document: JSON.parse(row.document) as T }));

  const figures = () => {
    const objects: Record<string, number> = {};
    for (const row of db
      .prepare('SELECT type, COUNT(*) AS count FROM objects GROUP BY type ORDER BY type')
      .all() as Array<{
      type: string;
      count: number;
    }>)
      objects[row.type] = row.count;
    const produced: Record<string, number> = {};
    for (const { document } of documents<Confirmation>('ProductionConfirmation')) {
      const good = goodCases(document);
      if (good !== undefined) produced[document.orderId!] = (produced[document.orderId!] ?? 0) + good;
    }
    const downtime: Record<string, number> = {};
    for (const { document } of documents<Downtime>('DowntimeEvent')) {
      const reason = document.reasonCode ?? 'none';
      downtime[reason] = (downtime[reason] ?? 0) + downtimeMinutes(document);
    }
    for (const reason of Object.keys(downtime)) downtime[reason] = rounded(downtime[reason]!);
    return { system: 'bi', objects, produced, downtimeMinutes: downtime };
  };

  /** Adds one good case to the first case packer confirmation: the figure a check must catch. */
  const corrupt = () => {
    for (const { key, document } of documents<Confirmation>('ProductionConfirmation')) {
      const good = document.segments
        ?.flatMap((segment) => segment.materials ?? [])
        .find((material) => material.use === 'Produced' && material.disposition === 'Good' && material.quantity);
      if (document.hierarchyScope?.equipmentId !== OUTPUT_UNIT || !document.orderId || !good?.quantity) continue;
      const from = figures().produced[document.orderId]!;
      good.quantity.value = String(Number(good.quantity.value ?? 0) + 1);
      db.prepare("UPDATE objects SET document = ? WHERE type = 'ProductionConfirmation' AND object_key = ?").run(
        JSON.stringify(document),
        key,
      );
      return {
        figure: 'produced',
        orderId: document.orderId,
        objectKey: key,
        from,
        to: figures().produced[document.orderId],
      };
    }
    return undefined;
  };

  const routes = (app: Express) => {
    app.post('/events', (req, res) => {
      const envelopes = envelopesOf(req.body);
      if (!envelopes) {
        res.status(400).json({ error: 'expected a canonical JSON envelope or an array of them' });
        return;
      }
      const now = clock.now();
      const revision = req.header('x-handover-object-revision');
      const kept = db.transaction(() => (taken(req, now) ? keep(envelopes, revision, now) : 0))();
      res.json({ ok: true, kept });
    });
  };

  return serveSystem(settings, db, { routes, figures, corrupt, nothingYet: `no confirmation of ${OUTPUT_UNIT} yet` });
}

if (require.main === module) runSystem('bi', startBi);
