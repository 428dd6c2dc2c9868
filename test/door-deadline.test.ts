/**
 * The door's deadline measures Redis, not the process it runs in: a payload is refused when Redis
 * takes more than 1.5 s to answer, and taken when the hub's own event loop was what held it up (a
 * long ingest batch of the context engine in the same process, a GC pause).
 *
 * Why it can fail: a deadline timer that fires after a stall of the process expires at once, before
 * the flush it waited for could run; the OPC UA bench at 400 work units lost 2 095 changes so, each
 * refused after the hub had spent 3.7 s in one batch.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import pino from 'pino';
import { parseConfig } from '../hub/config/load';
import { startHub, type RunningHub } from '../hub/hub';
import { enqueueInbound, QueueUnavailableError } from '../hub/pipeline/enqueue';
import { repoRoot } from './support/paths';

let hub: RunningHub;

beforeAll(async () => {
  hub = await startHub({
    config: parseConfig(`
systems:
  - { id: scada, name: SCADA, processOwner: Production, technicalOwner: OT }
ownership:
  DowntimeEvent: { owner: scada }
routes: []
`),
    dataDir: mkdtempSync(join(tmpdir(), 'handover-deadline-')),
    mappingsDir: join(repoRoot, 'mappings'),
    env: { HANDOVER_TOKEN_SCADA: 'scada-token', HANDOVER_ADMIN_TOKEN: 'admin-token' },
    logger: pino({ level: 'silent' }),
  });
}, 30000);

afterAll(() => hub?.stop());

const payload = () => ({
  system: 'scada',
  contentType: 'json' as const,
  body: '{"state":"running"}',
  receivedAt: new Date().toISOString(),
});

it('takes a payload whose wait for Redis was the process’s own stall', async () => {
  const queued = enqueueInbound(hub.context, payload(), undefined);
  // The event loop is busy for longer than the deadline, as in a long batch of the engine.
  const until = Date.now() + 2500;
  while (Date.now() < until);
  await expect(queued).resolves.toEqual(expect.any(String));
});

it('refuses a payload when Redis itself does not answer within the deadline', async () => {
  // The hub's own Redis, a single server here (a cluster would pause on each node).
  const other = (hub.context.redis as Redis).duplicate();
  try {
    await other.call('CLIENT', 'PAUSE', '3000', 'WRITE');
    const started = Date.now();
    await expect(enqueueInbound(hub.context, payload(), undefined)).rejects.toBeInstanceOf(QueueUnavailableError);
    // The deadline is 1.5 s; a little more for the timer, far less than the pause.
    expect(Date.now() - started).toBeLessThan(2500);
  } finally {
    await other.call('CLIENT', 'UNPAUSE');
    other.disconnect();
  }
});
