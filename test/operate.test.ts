/**
 * What people do with the hub beyond reading, on a real hub (its own Redis, SQLite, an HTTP target):
 * an operator pauses a target (deliveries wait, in order, while ingest goes on) and resumes it; an
 * operator discards a dead letter with a reason; an auditor exports the audit log, and the export is
 * itself audited; an integrator lists mappings and dry-runs a payload. Every change names who and why
 * in the audit log.
 */
import request from 'supertest';
import type { Role } from '../hub/access/roles';
import type { RunningHub } from '../hub/hub';
import { listDeadLetters, queryAudit } from '../hub/store/index';
import { waitFor, type HttpTarget } from './support/http-target';
import { sendOrder as send, startOpsHub, type OpsHub } from './support/ops-hub';

let ops: OpsHub;
let hub: RunningHub;
let mes: HttpTarget;

beforeAll(async () => {
  ops = await startOpsHub('operate');
  ({ hub, mes } = ops);
}, 30000);

afterAll(async () => {
  await ops?.stop();
});

const as = (role: Role) => ({ authorization: `Bearer ${ops.tokens[role]}` });

const sendOrder = (key: string, version: number) => send(ops, key, { version, description: `v${version}` });

const versionsAtMes = (key: string) =>
  mes.received
    .map((r) => JSON.parse(r.body) as { objectKey: string; version: number })
    .filter((envelope) => envelope.objectKey === key)
    .map((envelope) => envelope.version);

it('pauses a target: its deliveries wait in order while ingest goes on, and go out on resume', async () => {
  const api = request(hub.url!);
  expect((await api.post('/api/v1/targets/mes/pause').set(as('operator')).send({})).status).toBe(400);
  const paused = await api
    .post('/api/v1/targets/mes/pause')
    .set(as('operator'))
    .send({ reason: 'MES maintenance window' });
  expect(paused.body).toEqual({ target: 'mes', partitions: 2, paused: true });
  expect((await api.post('/api/v1/targets/nobody/pause').set(as('operator')).send({ reason: 'x' })).status).toBe(404);

  for (let version = 1; version <= 3; version += 1) await sendOrder('PO-PAUSE-1', version);
  const queues = await waitFor(async () => {
    const answer = await api.get('/api/v1/queues').set(as('viewer'));
    const waiting = (answer.body.queues as Array<{ stage: string; target?: string; waiting?: number }>)
      .filter((queue) => queue.stage === 'deliver' && queue.target === 'mes')
      .reduce((sum, queue) => sum + (queue.waiting ?? 0), 0);
    return waiting > 0 ? answer.body : undefined;
  });
  expect(queues.targets).toEqual([{ target: 'mes', partitions: 2, paused: true }]);
  await new Promise((resolve) => setTimeout(resolve, 1000));
  expect(versionsAtMes('PO-PAUSE-1')).toEqual([]);

  const resumed = await api.post('/api/v1/targets/mes/resume').set(as('operator')).send({ reason: 'window over' });
  expect(resumed.body.paused).toBe(false);
  await waitFor(async () => versionsAtMes('PO-PAUSE-1').length === 3 || undefined);
  expect(versionsAtMes('PO-PAUSE-1')).toEqual([1, 2, 3]);

  const operations = (await queryAudit(hub.context.db, { limit: 1000 })).filter(
    (record) => record.kind === 'operation',
  );
  expect(operations).toEqual(
    expect.arrayContaining([
      expect.objectContaining({
        decision: 'paused',
        target: 'mes',
        details: expect.objectContaining({ by: 'operator-1', reason: 'MES maintenance window' }),
      }),
      expect.objectContaining({
        decision: 'resumed',
        target: 'mes',
        details: expect.objectContaining({ by: 'operator-1', reason: 'window over' }),
      }),
    ]),
  );
}, 60000);

it('searches messages by object and system for a viewer, newest first, page by page', async () => {
  const api = request(hub.url!);
  const first = await api.get('/api/v1/messages?objectKey=PO-PAUSE-1&limit=2').set(as('viewer'));
  expect(first.status).toBe(200);
  expect(first.body.messages).toHaveLength(2);
  expect(first.body.next).toEqual(expect.any(String));
  const second = await api
    .get(`/api/v1/messages?objectKey=PO-PAUSE-1&limit=2&cursor=${encodeURIComponent(first.body.next)}`)
    .set(as('viewer'));
  const ids = [...first.body.messages, ...second.body.messages].map((m: { messageId: string }) => m.messageId);
  expect(new Set(ids).size).toBe(3);
  expect(second.body.next).toBeUndefined();
  const times = [...first.body.messages, ...second.body.messages].map((m: { receivedAt: string }) => m.receivedAt);
  expect([...times].sort().reverse()).toEqual(times);
  const bad = await api.get('/api/v1/messages?cursor=nonsense').set(as('viewer'));
  expect(bad.status).toBe(400);
  expect(bad.body.error.details).toEqual([expect.objectContaining({ path: '/cursor' })]);
});

it('discards a dead letter with a reason: it leaves the open ones, and the audit says who and why', async () => {
  mes.respond = () => 400;
  const messageId = await sendOrder('PO-DISCARD-1', 1);
  const letter = await waitFor(
    async () => (await listDeadLetters(hub.context.db)).find((l) => l.messageId === messageId),
    20000,
  );
  mes.respond = () => 200;
  const api = request(hub.url!);
  expect(
    (await api.post(`/api/v1/dead-letters/${letter.id}/discard`).set(as('viewer')).send({ reason: 'x' })).status,
  ).toBe(403);
  expect((await api.post(`/api/v1/dead-letters/${letter.id}/discard`).set(as('operator')).send({})).status).toBe(400);
  const discarded = await api
    .post(`/api/v1/dead-letters/${letter.id}/discard`)
    .set(as('operator'))
    .send({ reason: 'MES rejects test orders' });
  expect(discarded.body).toEqual({ deadLetter: letter.id, discarded: true });
  const again = await api
    .post(`/api/v1/dead-letters/${letter.id}/discard`)
    .set(as('operator'))
    .send({ reason: 'twice' });
  expect(again.status).toBe(409);
  expect(again.body.error.code).toBe('DEAD_LETTER_CLOSED');

  // Discarded on purpose, it is not replayed by accident.
  const replayed = await api.post(`/api/v1/dead-letters/${letter.id}/replay`).set(as('operator'));
  expect(replayed.status).toBe(409);
  expect(replayed.body.error.code).toBe('DEAD_LETTER_CLOSED');
  const open = (await api.get('/api/v1/dead-letters').set(as('viewer'))).body.deadLetters as Array<{ id: string }>;
  expect(open.map((l) => l.id)).not.toContain(letter.id);
  const all = (await api.get('/api/v1/dead-letters?all=true').set(as('viewer'))).body.deadLetters as Array<{
    id: string;
    discardedAt?: string;
  }>;
  expect(all.find((l) => l.id === letter.id)?.discardedAt).toEqual(expect.any(String));
  const [record] = (await queryAudit(hub.context.db, { messageId })).filter((r) => r.kind === 'operation');
  expect(record).toMatchObject({
    decision: 'discarded',
    details: { deadLetter: letter.id, by: 'operator-1', reason: 'MES rejects test orders' },
  });
}, 60000);

it('exports the audit log as CSV and JSONL for an auditor, and audits the export', async () => {
  const api = request(hub.url!);
  expect((await api.get('/api/v1/audit/export?format=csv').set(as('operator'))).status).toBe(403);
  expect((await api.get('/api/v1/audit/export?format=xlsx').set(as('auditor'))).status).toBe(400);
  const csv = await api.get('/api/v1/audit/export?format=csv').set(as('auditor'));
  expect(csv.status).toBe(200);
  expect(csv.headers['content-type']).toMatch(/^text\/csv/);
  const lines = csv.text.trim().split(/\r?\n/);
  expect(lines[0]).toBe('seq,at,kind,messageId,system,type,objectKey,decision,rule,target,details,prevHash,hash');
  expect(lines.length).toBeGreaterThan(5);
  const jsonl = await api.get('/api/v1/audit/export?format=jsonl&decision=accepted').set(as('auditor'));
  const records = jsonl.text
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { decision: string; hash: string });
  expect(records.length).toBeGreaterThan(0);
  expect(records.every((record) => record.decision === 'accepted' && record.hash.length === 64)).toBe(true);
  const exports = (await queryAudit(hub.context.db, { limit: 10000 })).filter((r) => r.decision === 'exported');
  expect(exports.map((r) => r.details)).toEqual([
    expect.objectContaining({ by: 'auditor-1', format: 'csv' }),
    expect.objectContaining({ by: 'auditor-1', format: 'jsonl', filter: { decision: 'accepted' } }),
  ]);
  expect((await api.get('/api/v1/audit/verify').set(as('auditor'))).body.ok).toBe(true);
}, 30000);

it('lists mappings and dry-runs a payload for an integrator, writing nothing', async () => {
  const api = request(hub.url!);
  expect((await api.get('/api/v1/mappings').set(as('viewer'))).status).toBe(403);
  const list = await api.get('/api/v1/mappings').set(as('integrator'));
  expect(list.status).toBe(200);
  const inbound = (
    list.body.mappings as Array<{ id: string; direction: string; system: string; version: number }>
  ).filter((mapping) => mapping.direction === 'inbound' && mapping.system === 'erp' && mapping.id.length > 0);
  expect(inbound.length).toBeGreaterThan(0);
  const broken = await api
    .post(`/api/v1/mappings/${inbound[0]!.id}/dry-run`)
    .set(as('integrator'))
    .send({ payload: '{not json', contentType: 'json' });
  expect(broken.status).toBe(200);
  expect(broken.body).toMatchObject({ ok: false, error: { code: expect.stringMatching(/MALFORMED|NOT_WELL_FORMED/) } });
  expect(
    (await api.post('/api/v1/mappings/no-such-mapping/dry-run').set(as('integrator')).send({ payload: '{}' })).status,
  ).toBe(404);
}, 30000);

it('lists the current objects of a type by key, a page at a time, for a viewer', async () => {
  const api = request(hub.url!);
  for (const key of ['PO-LIST-3', 'PO-LIST-1', 'PO-LIST-2']) await sendOrder(key, 1);
  await sendOrder('PO-LIST-2', 2);
  const listed = async (after?: string) =>
    (
      await api
        .get('/api/v1/objects')
        .query({ type: 'ProductionOrder', limit: 2, ...(after ? { after } : {}) })
        .set(as('viewer'))
    ).body as { objects: Array<{ key: string; version: number }>; next?: string };
  const all = await waitFor(async () => {
    const keys: Array<{ key: string; version: number }> = [];
    let page = await listed();
    keys.push(...page.objects);
    while (page.next) {
      page = await listed(page.next);
      keys.push(...page.objects);
    }
    const ours = keys.filter(({ key }) => key.startsWith('PO-LIST-'));
    return ours.length === 3 && ours[1]!.version === 2 ? ours : undefined;
  });
  expect(all.map(({ key, version }) => [key, version])).toEqual([
    ['PO-LIST-1', 1],
    ['PO-LIST-2', 2],
    ['PO-LIST-3', 1],
  ]);
  expect((await api.get('/api/v1/objects').query({ type: 'Nothing' }).set(as('viewer'))).status).toBe(404);
  expect((await api.get('/api/v1/objects').set(as('viewer'))).body.error.details).toEqual([
    { path: '?type', reason: 'required' },
  ]);
});
