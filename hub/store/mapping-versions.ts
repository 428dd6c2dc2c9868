/**
 * Every mapping version the hub has loaded, with its text: a replay "with the original mapping"
 * runs the version that first translated the message, also after its file was changed or removed.
 * A version is one text of one `id@version` (two texts of the same id and version, an edit that did
 * not raise the version, are kept apart by their digest).
 */
import type { Mapping } from '../../mappings/engine/mapping';
import type { Db } from './db';

export interface KeptMappingVersion {
  id: string;
  version: number;
  digest: string;
  system: string;
  direction: 'inbound' | 'outbound';
  /** The file it was loaded from, as the loading process named it. */
  file: string;
  source: string;
  firstSeenAt: string;
}

/** Keeps the loaded mappings' texts (a version kept before is left as it is). */
export async function keepMappingVersions(db: Db, mappings: readonly Mapping[]): Promise<void> {
  if (mappings.length === 0) return;
  const now = new Date().toISOString();
  await db.transaction(async (tx) => {
    for (const { spec, digest, file, source } of mappings)
      await tx.execute(
        `INSERT INTO mapping_versions (id, version, digest, system, direction, file, source, first_seen_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (id, version, digest) DO NOTHING`,
        [spec.id, spec.version, digest, spec.system, spec.direction, file, source, now],
      );
  });
}

/**
 * The kept version a message's mapping record names: `id@version` with its digest, or, for a record
 * written before digests were kept, the first text kept under that `id@version`.
 */
export async function keptMappingVersion(
  db: Db,
  name: string,
  digest?: string,
): Promise<KeptMappingVersion | undefined> {
  const at = name.lastIndexOf('@');
  const version = Number(name.slice(at + 1));
  if (at <= 0 || !Number.isInteger(version)) return undefined;
  const rows = await db.query(
    `SELECT * FROM mapping_versions WHERE id = $1 AND version = $2 ${digest ? 'AND digest = $3' : ''}
      ORDER BY first_seen_at LIMIT 1`,
    digest ? [name.slice(0, at), version, digest] : [name.slice(0, at), version],
  );
  const row = rows[0];
  if (!row) return undefined;
  return {
    id: String(row.id),
    version: Number(row.version),
    digest: String(row.digest),
    system: String(row.system),
    direction: String(row.direction) as KeptMappingVersion['direction'],
    file: String(row.file),
    source: String(row.source),
    firstSeenAt: String(row.first_seen_at),
  };
}
