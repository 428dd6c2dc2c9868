/**
 * Retention on a real hub (its own Redis, real SQLite, a real HTTP target): the periodic run in the
 * worker removes what is past its age, the trace API still explains the message and says what
 * retention removed, /metrics counts it, and the audit log verifies.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import request from 'supertest';
import { parseConfig } from '../hub/config/load';
import { startHub, type RunningHub } from '../hub/hub';
import { RETENTION_LOCK_KEY } from '../hub/queue/queue-keys';
import { messageTrace, queryAudit, storedMessage } from '../hub/store/index';
import { orderEnvelopeJson } from './support/hub-process';
import { startHttpTarget, waitFor, type HttpTarget } from './support/http-target';

let hub: RunningHub;
let mes: HttpTarget;
let api: ReturnType<typeof request>;

const admin = () => ({ authorization: 'Bearer admin-token' });
const daysAgo = (days: number) => new Date(Date.now() - days * 86_400_000).toISOString();

beforeAll(async () => {
  mes = await startHttpTarget();
  const config = parseConfig(`
systems:
  - { id: erp, name: ERP, processOwner: Planning, technicalOwner: IT }
  - { id: mes, name: MES, processOwner: Production, technicalOwner: IT }
ownership:
  ProductionOrder: { owner: erp }
routes:
  - { id: orders-to-mes, target: mes, types: [ProductionOrder], url: "${mes.url}/orders" }
retention: { payloadDays: 7, deliveryDays: 14 }
partitions: 2
`);
  hub = await startHub({
    config,
    dataDir: mkdtempSync(join(tmpdir(), 'handover-retention-')),
    retentionIntervalMs: 300,
    env: { HANDOVER_TOKEN_ERP: 'erp-token', HANDOVER_ADMIN_TOKEN: 'admin-token' },
    logger: pino({ level: 'silent' }),
  });
  api = request(hub.url!);
});

afterAll(async () => {
  await hub?.stop();
  await mes?.close();
});

async function sendOrder(key: string): Promise<string> {
  const response = await api
    .post('/api/v1/inbound/erp')
    .set('authorization', 'Bearer erp-token')
    .set('content-type', 'application/json')
    .send(orderEnvelopeJson(key));
  expect(response.status).toBe(202);
  const messageId = response.body.messageId as string;
  await waitFor(
    async () => (await messageTrace(hub.context.db, messageId))?.deliveries.some((d) => d.status === 'delivered'),
    20000,
    `the delivery of ${messageId}`,
  );
  return messageId;
}

test('the worker removes an old payload and delivery; the trace says so and the audit log verifies', async () => {
  const old = await sendOrder('PO-RET-OLD');
  const payloadOnly = await sendOrder('PO-RET-PAYLOAD');
  const recent = await sendOrder('PO-RET-NEW');
  // Dated in the past: `old` 20 days (past both periods), `payloadOnly` 10 days (past payloadDays only).
  const db = hub.context.db;
  for (const [id, age] of [
    [old, 20],
    [payloadOnly, 10],
  ] as const) {
    await db.execute('UPDATE messages SET received_at = $2 WHERE id = $1', [id, daysAgo(age)]);
    await db.execute('UPDATE deliveries SET created_at = $2, delivered_at = $2 WHERE message_id = $1', [
      id,
      daysAgo(age),
    ]);
  }

  const trace = await waitFor(
    async () => {
      const answer = await api.get(`/api/v1/messages/${old}`).set(admin());
      return answer.body.retention?.deliveriesRemovedAt ? answer : undefined;
    },
    10000,
    'retention to remove the old message’s payload and delivery',
  );
  expect(trace.status).toBe(200);
  expect(trace.body).toMatchObject({
    messageId: old,
    status: 'routed',
    retention: { payloadRemovedAt: expect.any(String), deliveriesRemovedAt: expect.any(String) },
    decisions: [expect.objectContaining({ decision: 'accepted', objectKey: 'PO-RET-OLD' })],
    deliveries: [],
  });
  // The delivery is gone from the store, its outcome is still in the message's audit records.
  expect(
    (trace.body.audit as Array<{ kind: string; decision?: string }>).map((r) => [r.kind, r.decision ?? null]),
  ).toEqual([
    ['decision', 'accepted'],
    ['delivery', 'delivered'],
  ]);

  expect(await storedMessage(db, old)).toBeUndefined();
  const partly = await messageTrace(db, payloadOnly);
  expect(partly?.retention).toEqual({ payloadRemovedAt: expect.any(String) });
  expect(partly?.deliveries).toEqual([expect.objectContaining({ status: 'delivered' })]);
  expect((await messageTrace(db, recent))?.retention).toBeUndefined();
  expect(await storedMessage(db, recent)).toBeDefined();

  // One process at a time holds the run for an interval; each run leaves its audit record.
  expect(await hub.context.redis.get(RETENTION_LOCK_KEY)).toBe(String(process.pid));
  const runs = (await queryAudit(db, { limit: 10000 })).filter((record) => record.kind === 'retention');
  const removed = (what: 'payloads' | 'deliveries') =>
    runs.reduce((sum, run) => sum + Number((run.details[what] as { removed: number }).removed), 0);
  expect([removed('payloads'), removed('deliveries')]).toEqual([2, 1]);
  expect(runs[0]!.details).toMatchObject({ payloads: { days: 7 }, deliveries: { days: 14 } });

  const verified = await api.get('/api/v1/audit/verify').set(admin());
  expect(verified.status).toBe(200);
  expect(verified.body).toMatchObject({ ok: true, problems: [] });

  const metrics = await api.get('/metrics');
  expect(metrics.text).toMatch(/^handover_retention_removed_total\{what="payload"\} 2$/m);
  expect(metrics.text).toMatch(/^handover_retention_removed_total\{what="delivery"\} 1$/m);
  expect(metrics.text).toMatch(/^handover_event_loop_delay_seconds_count \d+$/m);
});
