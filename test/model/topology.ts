/**
 * The hubs the model-based test runs against, as operators run them: one `handover start` process
 * on its own Redis and SQLite, or one `--role api` and two `--role worker` processes sharing a Redis
 * (or a 3-master Redis Cluster) and a PostgreSQL database. Each comes with the target systems' HTTP server.
 */
import { createHash } from 'node:crypto';
import { type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHttpTarget, type HttpTarget } from '../support/http-target';
import { freePort, hubReady, spawnHandover } from '../support/hub-process';
import type { LocalRedisCluster } from '../support/redis-cluster';
import { startTopology as startScaledTopology, type Topology as ScaledTopology } from '../support/topology';
import { MODEL_RULES } from './histories';
import type { Topology } from './run';

export type TopologyKind = 'single' | 'api+2 workers' | 'api+2 workers on a Redis Cluster';

export interface RunningTopology extends Topology {
  /** The Redis Cluster the processes share (that kind only). */
  cluster?: LocalRedisCluster;
  stop(): Promise<void>;
}

const tokens = { erp: 'model-erp', mes: 'model-mes', qms: 'model-qms', scada: 'model-scada' } as const;
const ADMIN = 'model-admin';

function config(dir: string, targetUrl: string): string {
  const file = join(dir, 'hub.yaml');
  // The hub runs the very rules the model applies; a short retry policy makes dead letters (and their replays) quick.
  const retry = '{ attempts: 2, backoffMs: 10, maxBackoffMs: 20 }';
  writeFileSync(
    file,
    `systems:
  - { id: erp, name: ERP, processOwner: Planning, technicalOwner: IT }
  - { id: mes, name: MES, processOwner: Production, technicalOwner: IT }
  - { id: qms, name: QMS, processOwner: Quality, technicalOwner: IT }
  - { id: scada, name: Line 2 SCADA, processOwner: Production, technicalOwner: Automation }
  - { id: bi, name: Reporting, processOwner: Management, technicalOwner: IT }
ownership: ${JSON.stringify(MODEL_RULES)}
routes:
  - { id: orders-to-erp, target: erp, types: [ProductionOrder], url: "${targetUrl}/erp", timeoutMs: 5000, retry: ${retry} }
  - { id: orders-to-mes, target: mes, types: [ProductionOrder], url: "${targetUrl}/mes", timeoutMs: 5000, retry: ${retry} }
  - { id: orders-to-bi, target: bi, types: [ProductionOrder, DowntimeEvent], url: "${targetUrl}/bi", timeoutMs: 5000, retry: ${retry} }
partitions: 4
`,
  );
  return file;
}

/** Starts a topology and its target; `stop()` ends every process and removes what it made. */
export async function startTopology(kind: TopologyKind): Promise<RunningTopology> {
  const target: HttpTarget = await startHttpTarget();
  let faulty = true;
  // About one delivery in six to the reporting system fails while faulty: dead letters to replay.
  target.respond = (request) => {
    if (!faulty || request.path !== '/bi') return 200;
    const key = String(request.headers['idempotency-key']);
    return createHash('sha1').update(key).digest()[0]! % 6 === 0 ? 503 : 200;
  };
  const dir = mkdtempSync(join(tmpdir(), 'handover-model-'));
  const configFile = config(dir, target.url);
  const port = await freePort();
  const env: NodeJS.ProcessEnv = {
    HANDOVER_TOKEN_ERP: tokens.erp,
    HANDOVER_TOKEN_MES: tokens.mes,
    HANDOVER_TOKEN_QMS: tokens.qms,
    HANDOVER_TOKEN_SCADA: tokens.scada,
    HANDOVER_ADMIN_TOKEN: ADMIN,
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
  };
  let url = `http://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  let scaled: ScaledTopology | undefined;
  if (kind === 'single') {
    child = spawnHandover(['start', '--config', configFile, '--port', String(port)], {
      env: { ...process.env, ...env, HANDOVER_DATA_DIR: join(dir, 'var') },
      fromBuild: true,
    });
  } else {
    scaled = await startScaledTopology(env, { cluster: kind === 'api+2 workers on a Redis Cluster' });
    url = (await scaled.start('api', configFile)).url!;
    await scaled.start('worker', configFile);
    await scaled.start('worker', configFile);
  }
  await hubReady(url);
  return {
    name: kind,
    url,
    adminToken: ADMIN,
    tokens,
    received: target.received,
    setFaulty: (value) => (faulty = value),
    ...(scaled?.cluster ? { cluster: scaled.cluster } : {}),
    async stop() {
      if (child) await stopProcess(child);
      await scaled?.close();
      killOwnRedis(join(dir, 'var'));
      await target.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

/** A single-process hub shuts its own redis-server down on SIGTERM; after a kill it is left running. */
function killOwnRedis(dataDir: string): void {
  const instance = join(dataDir, 'redis', 'instance.json');
  if (!existsSync(instance)) return;
  try {
    process.kill((JSON.parse(readFileSync(instance, 'utf8')) as { pid: number }).pid, 'SIGKILL');
  } catch {
    // already gone
  }
}
