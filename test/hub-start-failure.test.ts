/**
 * A hub whose start-up fails half-way (here: its port is taken) stops everything it had started —
 * workers, connections, its own redis-server — instead of lingering headless in the background.
 */
import { once } from 'node:events';
import { existsSync, mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { parseConfig } from '../hub/config/load';
import { startHub } from '../hub/hub';

it('stops what it had started when it cannot listen', async () => {
  const taken = createServer().listen(0, '127.0.0.1');
  await once(taken, 'listening');
  const port = (taken.address() as { port: number }).port;
  const dataDir = mkdtempSync(join(tmpdir(), 'handover-start-failure-'));
  const config = parseConfig(`
systems:
  - { id: erp, name: ERP, processOwner: Planning, technicalOwner: IT }
  - { id: mes, name: MES, processOwner: Production, technicalOwner: IT }
ownership:
  ProductionOrder: { owner: erp }
routes:
  - { id: orders-to-mes, target: mes, types: [ProductionOrder], url: "http://127.0.0.1:9/orders" }
`);
  try {
    await expect(
      startHub({ config, dataDir, port, env: { HANDOVER_ADMIN_TOKEN: 'admin' }, logger: pino({ level: 'silent' }) }),
    ).rejects.toThrow(/EADDRINUSE/);
    // Its own redis-server was shut down (its instance file goes with it), so nothing of it lingers.
    expect(existsSync(join(dataDir, 'redis', 'instance.json'))).toBe(false);
  } finally {
    taken.close();
  }
});
