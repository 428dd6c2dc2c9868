/**
 * The hub that people operate in console.test.ts and operate.test.ts: a real one in this process (on
 * the test Redis, with its own SQLite) where ERP sends orders and MES, an HTTP target, receives them,
 * with an http connector to test and a user of every role (a password for the console, a token for
 * the API).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { ROLES, type Role } from '../../hub/access/roles';
import { addUser } from '../../hub/access/users';
import { parseConfig } from '../../hub/config/load';
import { startHub, type RunningHub } from '../../hub/hub';
import { orderEnvelopeJson } from './hub-process';
import { startHttpTarget, type HttpTarget } from './http-target';
import { repoRoot } from './paths';

/** The password of every role's user, `<role>-1`. */
export const PASSWORD = 'correct horse battery staple';
export const ADMIN_TOKEN = 'admin-token';
/** The connector configured besides the route: an http one to MES. */
export const CONNECTOR_ID = 'mes-http';

export interface OpsHub {
  hub: RunningHub;
  url: string;
  /** MES: answers 200 unless told otherwise (`respond`), and records what it took. */
  mes: HttpTarget;
  /** The API token of each role's user, `<role>-1`. */
  tokens: Record<Role, string>;
  stop(): Promise<void>;
}

/** Starts MES and the hub, and adds a user of every role; `name` prefixes the data directory. */
export async function startOpsHub(name: string): Promise<OpsHub> {
  const mes = await startHttpTarget();
  const config = parseConfig(`
systems:
  - { id: erp, name: ERP, processOwner: Planning, technicalOwner: IT }
  - { id: mes, name: MES, processOwner: Production, technicalOwner: IT }
ownership:
  ProductionOrder: { owner: erp }
connectors:
  - { id: ${CONNECTOR_ID}, kind: http, config: { url: "${mes.url}/ping" } }
routes:
  - { id: orders-to-mes, target: mes, types: [ProductionOrder], url: "${mes.url}/orders", retry: { attempts: 1, backoffMs: 10, maxBackoffMs: 20 } }
partitions: 2
`);
  const hub = await startHub({
    config,
    dataDir: mkdtempSync(join(tmpdir(), `handover-${name}-`)),
    mappingsDir: join(repoRoot, 'mappings'),
    env: { HANDOVER_TOKEN_ERP: 'erp-token', HANDOVER_ADMIN_TOKEN: ADMIN_TOKEN },
    logger: pino({ level: 'silent' }),
  }).catch(async (error: unknown) => {
    await mes.close();
    throw error;
  });
  const tokens = {} as Record<Role, string>;
  for (const role of ROLES)
    tokens[role] = (await addUser(hub.context.db, { name: `${role}-1`, role, password: PASSWORD })).token;
  return {
    hub,
    url: hub.url!,
    mes,
    tokens,
    async stop() {
      await hub.stop();
      await mes.close();
    },
  };
}

/** ERP sends an order for `key`; answers the message id the hub's 202 named. */
export async function sendOrder(
  ops: OpsHub,
  key: string,
  extra: { version?: number; description?: string } = {},
): Promise<string> {
  const answer = await fetch(`${ops.url}/api/v1/inbound/erp`, {
    method: 'POST',
    headers: { authorization: 'Bearer erp-token', 'content-type': 'application/json' },
    body: orderEnvelopeJson(key, extra),
  });
  if (answer.status !== 202)
    throw new Error(`the hub answered ${answer.status} to order ${key}: ${await answer.text()}`);
  return ((await answer.json()) as { messageId: string }).messageId;
}

/** A GET of the API with the admin token, answering the parsed body. */
export async function adminGet<T>(ops: OpsHub, path: string): Promise<T> {
  const answer = await fetch(`${ops.url}${path}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  if (!answer.ok) throw new Error(`GET ${path} answered ${answer.status}: ${await answer.text()}`);
  return (await answer.json()) as T;
}
