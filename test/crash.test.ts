/**
 * Crash safety: a hub process is killed with SIGKILL while thousands of documents stream through
 * it, then restarted on the same data directory. Every message answered 202 must reach the target
 * (a repeat carries the same Idempotency-Key), the object store must end right and the audit
 * chain must verify.
 */
import { spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHttpTarget, waitFor, type HttpTarget } from './support/http-target';
import { freePort, hubReady, orderEnvelopeJson, spawnHandover, writeOrdersConfig } from './support/hub-process';
import { repoRoot } from './support/paths';

const MESSAGES = 3000;
const KILL_AFTER = 1000;
const CONCURRENCY = 16;

const dataDir = mkdtempSync(join(tmpdir(), 'handover-crash-'));
const env = {
  ...process.env,
  HANDOVER_DATA_DIR: dataDir,
  HANDOVER_TOKEN_ERP: 'erp-token',
  HANDOVER_ADMIN_TOKEN: 'admin-token',
  LOG_LEVEL: 'warn',
};
let target: HttpTarget;
let port: number;
let hub: ChildProcess | undefined;

function startHubProcess(configFile: string): ChildProcess {
  return spawnHandover(['start', '--config', configFile, '--port', String(port)], { env });
}

function body(index: number): string {
  return orderEnvelopeJson(`PO-CRASH-${String(index).padStart(5, '0')}`, {
    version: index,
    description: `crash test ${index}`,
  });
}

beforeAll(async () => {
  target = await startHttpTarget();
  port = await freePort();
});

afterAll(async () => {
  hub?.kill('SIGKILL');
  const instance = join(dataDir, 'redis', 'instance.json');
  if (existsSync(instance)) {
    const { pid } = JSON.parse(readFileSync(instance, 'utf8')) as { pid: number };
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  await target?.close();
});

it('loses nothing answered 202 when the hub is killed mid-stream', async () => {
  const configFile = writeOrdersConfig(dataDir, target.url);
  hub = startHubProcess(configFile);
  await hubReady(`http://127.0.0.1:${port}`);

  const accepted = new Map<string, number>();
  let next = 0;
  let killed = false;
  const sendOne = async (index: number): Promise<void> => {
    for (;;) {
      try {
        const response = await fetch(`http://127.0.0.1:${port}/api/v1/inbound/erp`, {
          method: 'POST',
          headers: {
            authorization: 'Bearer erp-token',
            'content-type': 'application/json',
            'idempotency-key': `crash-${index}`,
          },
          body: body(index),
        });
        if (response.status === 202) {
          accepted.set(((await response.json()) as { messageId: string }).messageId, index);
          return;
        }
      } catch {
        // the hub is down: the sender retries with the same Idempotency-Key, as a real ERP would
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };
  const restart = async () => {
    hub!.kill('SIGKILL');
    await new Promise((resolve) => hub!.once('exit', resolve));
    hub = startHubProcess(configFile);
  };
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < MESSAGES) {
        const index = next++;
        if (index === KILL_AFTER && !killed) {
          killed = true;
          void restart();
        }
        await sendOne(index);
      }
    }),
  );
  expect(killed).toBe(true);
  expect(new Set(accepted.values()).size).toBe(MESSAGES);

  // Every accepted message reaches the target; repeats of one carry the same Idempotency-Key.
  const keyOf = (messageId: string) => `${messageId}-0-mes`;
  await waitFor(
    () => {
      const seen = new Set(target.received.map((request) => request.headers['x-handover-message-id']));
      return [...accepted.keys()].every((messageId) => seen.has(messageId));
    },
    120000,
    'every accepted message delivered',
  );
  for (const request of target.received) {
    expect(request.headers['idempotency-key']).toBe(keyOf(String(request.headers['x-handover-message-id'])));
  }
  const distinct = new Set(target.received.map((request) => request.headers['idempotency-key']));
  expect(distinct.size).toBe(accepted.size);

  // The object store holds every order at the version that was sent.
  const admin = { authorization: 'Bearer admin-token' };
  for (const index of [0, KILL_AFTER - 1, KILL_AFTER, KILL_AFTER + 1, MESSAGES - 1]) {
    const id = `PO-CRASH-${String(index).padStart(5, '0')}`;
    const object = (await (
      await fetch(`http://127.0.0.1:${port}/api/v1/objects/ProductionOrder/${id}`, { headers: admin })
    ).json()) as {
      version: number;
      revision: number;
    };
    expect(object).toMatchObject({ version: index, revision: 1 });
  }

  // The audit chain is intact, checked by the CLI an auditor would run.
  hub!.kill('SIGTERM');
  await new Promise((resolve) => hub!.once('exit', resolve));
  hub = undefined;
  const verify = spawnSync(
    process.execPath,
    ['--import', 'tsx', join(repoRoot, 'hub', 'cli', 'main.ts'), 'audit', 'verify'],
    { env, encoding: 'utf8' },
  );
  expect(verify.stderr).toMatch(/^intact: \d+ records/);
  expect(verify.status).toBe(0);
}, 300000);
