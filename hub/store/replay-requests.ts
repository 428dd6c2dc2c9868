/**
 * Replay requests of ingest dead letters, committed before their job is queued: the outbox sweep
 * queues any that no job carries yet (a crash between the commit and the queue loses nothing).
 */
import type { Db } from './db';

export interface ReplayRequest {
  /** The ingest job id the replay runs under. */
  id: string;
  deadLetterId: string;
  messageId: string;
  requestedBy: string;
  requestedAt: string;
  /** The kept mapping version the replay runs with (its original); absent: the mappings loaded now. */
  mapping?: MappingPin;
}

/**
 * What a replay with the original mapping translates with: a kept mapping version
 * (hub/store/mapping-versions.ts), `id@version` and its text's digest, or a codec's name.
 */
export interface MappingPin {
  name: string;
  digest?: string;
}

export async function insertReplayRequest(tx: Db, request: ReplayRequest): Promise<void> {
  await tx.execute(
    `INSERT INTO replay_requests (id, dead_letter_id, message_id, requested_by, requested_at)
     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING`,
    [request.id, request.deadLetterId, request.messageId, request.requestedBy, request.requestedAt],
  );
  if (request.mapping)
    await tx.execute('INSERT INTO replay_mappings (request_id, mapping) VALUES ($1, $2) ON CONFLICT DO NOTHING', [
      request.id,
      JSON.stringify(request.mapping),
    ]);
}

/** The ingest worker took the replay's job: from now on BullMQ keeps it until it is done. */
export async function markReplayStarted(db: Db, id: string): Promise<void> {
  await db.execute('UPDATE replay_requests SET started_at = $2 WHERE id = $1 AND started_at IS NULL', [
    id,
    new Date().toISOString(),
  ]);
}

/** Replay requests whose job has not started yet, oldest first. */
export async function unstartedReplayRequests(db: Db, limit = 1000): Promise<ReplayRequest[]> {
  const rows = await db.query(
    `SELECT r.*, m.mapping FROM replay_requests r LEFT JOIN replay_mappings m ON m.request_id = r.id
      WHERE r.started_at IS NULL ORDER BY r.requested_at LIMIT $1`,
    [limit],
  );
  return rows.map((row) => ({
    id: String(row.id),
    deadLetterId: String(row.dead_letter_id),
    messageId: String(row.message_id),
    requestedBy: String(row.requested_by),
    requestedAt: String(row.requested_at),
    ...(row.mapping ? { mapping: JSON.parse(String(row.mapping)) as MappingPin } : {}),
  }));
}
