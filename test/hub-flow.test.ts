/**
 * The hub end to end on real Redis (its own redis-server child), real SQLite and real HTTP
 * targets: authentication, door checks, ownership decisions, delivery, retries, dead letters,
 * replay, ordering and the audit log.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import request from 'supertest';
import { readConfirmBod } from '../schemas/b2mml/index';
import { examples } from '../schemas/examples';
import { parseConfig } from '../hub/config/load';
import { startHub, type RunningHub } from '../hub/hub';
import { repoRoot } from './support/paths';
import { startHttpTarget, waitFor, type HttpTarget } from './support/http-target';
import { xsdErrors } from './support/xsd';

const tokens = {
  HANDOVER_TOKEN_ERP: 'erp-token',
  HANDOVER_TOKEN_MES: 'mes-token',
  HANDOVER_TOKEN_QMS: 'qms-token',
  HANDOVER_ADMIN_TOKEN: 'admin-token',
};
const schedule = readFileSync(
  join(repoRoot, 'seeds', 'packaging-line', 'b2mml', 'process-operations-schedule.xml'),
  'utf8',
);

let hub: RunningHub;
let mes: HttpTarget;
let erp: HttpTarget;
let api: ReturnType<typeof request>;

const admin = (path: string) => api.get(path).set('authorization', 'Bearer admin-token');
const post = (system: string, body: string, type = 'application/json', token = `${system}-token`) =>
  api.post(`/api/v1/inbound/${system}`).set('authorization', `Bearer ${token}`).set('content-type', type).send(body);

function envelope(sourceSystem: string, document: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return JSON.stringify({
    messageId: 'ignored',
    type: 'ProductionOrder',
    objectKey: document.id,
    sourceSystem,
    occurredAt: '2024-05-02T06:00:00Z',
    receivedAt: '2024-05-02T06:00:00Z',
    document,
    ...extra,
  });
}

async function trace(
  messageId: string,
  until: (body: { status: string; decisions: unknown[] }) => boolean = (b) => b.status !== 'received',
) {
  return waitFor(
    async () => {
      const response = await admin(`/api/v1/messages/${messageId}`);
      return response.status === 200 && until(response.body) ? response.body : undefined;
    },
    20000,
    `trace of ${messageId}`,
  );
}

beforeAll(async () => {
  mes = await startHttpTarget();
  erp = await startHttpTarget();
  const config = parseConfig(`
systems:
  - { id: erp, name: ERP, processOwner: Planning, technicalOwner: IT }
  - { id: mes, name: MES, processOwner: Production, technicalOwner: IT }
  - { id: qms, name: QMS, processOwner: Quality, technicalOwner: IT }
ownership:
  ProductionOrder: { owner: erp, fields: { state: mes } }
  QualityResult: { owner: qms }
routes:
  - { id: orders-to-mes, target: mes, types: [ProductionOrder], format: json, url: "${mes.url}/orders", timeoutMs: 2000, retry: { attempts: 3, backoffMs: 20, maxBackoffMs: 100 } }
  - { id: orders-to-erp, target: erp, types: [ProductionOrder], format: b2mml, url: "${erp.url}/b2mml" }
  - { id: results-to-mes, target: mes, types: [QualityResult], filter: { orderId: ["PO-7"] }, url: "${mes.url}/results" }
partitions: 4
`);
  hub = await startHub({
    config,
    dataDir: mkdtempSync(join(tmpdir(), 'handover-hub-')),
    env: tokens,
    logger: pino({ level: 'silent' }),
  });
  api = request(hub.url!);
});

afterAll(async () => {
  await hub?.stop();
  await mes?.close();
  await erp?.close();
});

beforeEach(() => {
  mes.respond = () => 200;
  erp.respond = () => 200;
});

describe('the door', () => {
  it('answers 401 without a token or with an unknown one, 403 with another system’s, 404 for an unknown system', async () => {
    const none = await api.post('/api/v1/inbound/erp').set('content-type', 'application/xml').send(schedule);
    expect(none.status).toBe(401);
    expect(none.body.error.code).toBe('AUTH_REQUIRED');
    expect((await post('erp', schedule, 'application/xml', 'nonsense')).body.error.code).toBe('AUTH_INVALID');
    const qmsAsErp = await post('erp', schedule, 'application/xml', 'qms-token');
    expect(qmsAsErp.status).toBe(403);
    expect(qmsAsErp.body.error).toMatchObject({ code: 'FORBIDDEN_SYSTEM', details: { system: 'erp', tokenOf: 'qms' } });
    expect((await post('nobody', '{}', 'application/json', 'erp-token')).status).toBe(404);
  });

  it('refuses bad bodies with a precise code and queues nothing', async () => {
    const before = await hub.context.queues.ingest.getJobCounts();
    expect((await post('erp', 'a,b', 'text/csv')).body.error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    const malformed = await post('erp', '{"id": ', 'application/json');
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.code).toBe('JSON_MALFORMED');
    const xxe = await post(
      'erp',
      '<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>',
      'application/xml',
    );
    expect(xxe.status).toBe(400);
    expect(xxe.body.error.code).toBe('XML_DOCTYPE_FORBIDDEN');
    expect(JSON.stringify(xxe.body)).not.toMatch(/at .*\.ts:\d+/);
    const big = await post('erp', `<a>${'x'.repeat(11 * 1024 * 1024)}</a>`, 'application/xml');
    expect(big.status).toBe(413);
    expect(big.body.error.code).toBe('BODY_TOO_LARGE');
    expect(await hub.context.queues.ingest.getJobCounts()).toEqual(before);
  });
});

describe('B2MML senders', () => {
  it('get a ConfirmBOD acknowledgement when they ask for XML, naming their BODID', async () => {
    const own = schedule.replace(/00000100012/g, '00000200012');
    const accepted = await post('erp', own, 'application/xml').set('accept', 'application/xml');
    expect(accepted.status).toBe(202);
    expect(accepted.headers['content-type']).toMatch(/^application\/xml/);
    const confirmation = readConfirmBod(accepted.text);
    expect(confirmation.original).toMatchObject({ sender: 'ERP', bodId: 'erp-sched-2024-05-02-early' });
    expect(confirmation.descriptions[0]).toBe(
      `Accepted: queued as message ${accepted.headers['x-handover-message-id']}`,
    );
    expect(xsdErrors(accepted.text)).toBe('');

    const refused = await post(
      'erp',
      schedule.replace('</ApplicationArea>', '</ApplicationAreaX>'),
      'application/xml',
    ).set('accept', 'application/xml');
    expect(refused.status).toBe(400);
    expect(readConfirmBod(refused.text).descriptions[0]).toMatch(
      /^Rejected \(XML_NOT_WELL_FORMED\):\n\/: Unexpected close tag/,
    );
  });
});

describe('routing with ownership', () => {
  it('accepts ERP’s B2MML orders, stores them and delivers them to MES but never back to ERP', async () => {
    const accepted = await post('erp', schedule, 'application/xml');
    expect(accepted.status).toBe(202);
    const body = await trace(accepted.body.messageId, (t) => t.decisions.length === 2);
    expect(body.decisions).toEqual([
      expect.objectContaining({
        objectKey: '000001000123',
        decision: 'accepted',
        rule: 'ownership.ProductionOrder.owner = erp',
      }),
      expect.objectContaining({ objectKey: '000001000124', decision: 'accepted' }),
    ]);
    await waitFor(
      () => mes.received.filter((r) => r.headers['x-handover-message-id'] === accepted.body.messageId).length === 2,
    );
    const delivered = mes.received.find((r) => r.headers['idempotency-key'] === `${accepted.body.messageId}-0-mes`)!;
    expect(JSON.parse(delivered.body)).toMatchObject({
      type: 'ProductionOrder',
      objectKey: '000001000123',
      sourceSystem: 'erp',
    });
    expect(erp.received.some((r) => r.headers['x-handover-message-id'] === accepted.body.messageId)).toBe(false);
    const object = await admin('/api/v1/objects/ProductionOrder/000001000123');
    expect(object.body).toMatchObject({ owner: 'erp', revision: 1, data: { state: 'Released' } });
  });

  it('refuses QMS changing an order, and the audit log names the rule', async () => {
    const document = { ...examples.ProductionOrder, id: 'PO-QMS', state: 'Held' };
    const erpPost = await post('erp', envelope('erp', { ...document, state: 'Released' }));
    await trace(erpPost.body.messageId);
    const qms = await post('qms', envelope('qms', document, { occurredAt: '2024-05-02T07:00:00Z' }));
    expect(qms.status).toBe(202);
    const body = await trace(qms.body.messageId, (t) => t.decisions.length === 1);
    expect(body.decisions[0]).toMatchObject({ decision: 'rejected', rule: 'ownership.ProductionOrder.owner = erp' });
    const audit = await admin('/api/v1/audit?decision=rejected&system=qms');
    expect(audit.body.records).toEqual([
      expect.objectContaining({ objectKey: 'PO-QMS', rule: 'ownership.ProductionOrder.owner = erp' }),
    ]);
    expect(mes.received.some((r) => r.headers['x-handover-message-id'] === qms.body.messageId)).toBe(false);
  });

  it('refuses a canonical envelope that claims another source system', async () => {
    const forged = await post('qms', envelope('erp', { ...examples.ProductionOrder, id: 'PO-FORGED' }));
    const body = await trace(forged.body.messageId);
    expect(body).toMatchObject({ status: 'invalid', error: { code: 'SOURCE_SYSTEM_MISMATCH' } });
  });

  it('takes MES’s state change and delivers the merged order to ERP as valid B2MML', async () => {
    const first = await post('erp', envelope('erp', { ...examples.ProductionOrder, id: 'PO-MES' }));
    await trace(first.body.messageId);
    const running = await post(
      'mes',
      envelope(
        'mes',
        { ...examples.ProductionOrder, id: 'PO-MES', state: 'Running' },
        { occurredAt: '2024-05-02T08:00:00Z' },
      ),
    );
    const body = await trace(running.body.messageId, (t) => t.decisions.length === 1);
    expect(body.decisions[0]).toMatchObject({
      decision: 'accepted',
      rule: 'ownership.ProductionOrder.fields.state = mes',
    });
    const xml = await waitFor(() =>
      erp.received.find((r) => r.headers['x-handover-message-id'] === running.body.messageId),
    );
    expect(xml.headers['content-type']).toBe('application/xml');
    expect(xml.body).toContain('<RequestState>Running</RequestState>');
    expect(xsdErrors(xml.body)).toBe('');
  });

  it('routes by filter', async () => {
    const result = (orderId: string, id: string) =>
      JSON.stringify({
        ...JSON.parse(envelope('qms', { ...examples.QualityResult, id, orderId })),
        type: 'QualityResult',
      });
    const matching = await post('qms', result('PO-7', 'QR-A'));
    const other = await post('qms', result('PO-8', 'QR-B'));
    await trace(other.body.messageId, (t) => t.decisions.length === 1);
    await waitFor(() => mes.received.find((r) => r.headers['x-handover-message-id'] === matching.body.messageId));
    expect((await admin(`/api/v1/messages/${other.body.messageId}`)).body.deliveries).toEqual([]);
  });
});

describe('delivery', () => {
  it('retries a failing target with the same Idempotency-Key until it answers', async () => {
    let calls = 0;
    mes.respond = () => (++calls <= 2 ? 503 : 200);
    const sent = await post('erp', envelope('erp', { ...examples.ProductionOrder, id: 'PO-RETRY' }));
    const delivered = await waitFor(() =>
      mes.received.find((r) => r.headers['x-handover-message-id'] === sent.body.messageId),
    );
    expect(delivered.headers['idempotency-key']).toBe(`${sent.body.messageId}-0-mes`);
    const body = await trace(sent.body.messageId, (t) =>
      (t as unknown as { deliveries: Array<{ status: string }> }).deliveries.some((d) => d.status === 'delivered'),
    );
    expect((body as unknown as { deliveries: unknown[] }).deliveries).toEqual([
      expect.objectContaining({ target: 'mes', status: 'delivered', attempts: 3 }),
    ]);
  });

  it('dead-letters after the last attempt and delivers on replay', async () => {
    mes.respond = () => 500;
    const sent = await post('erp', envelope('erp', { ...examples.ProductionOrder, id: 'PO-DEAD' }));
    const letter = await waitFor(async () => {
      const letters = (await admin('/api/v1/dead-letters')).body.deadLetters as Array<{
        id: string;
        messageId: string;
        code: string;
        reason: string;
      }>;
      return letters.find((candidate) => candidate.messageId === sent.body.messageId);
    });
    expect(letter).toMatchObject({ code: 'ATTEMPTS_EXHAUSTED', reason: expect.stringContaining('HTTP 500') });
    mes.respond = () => 200;
    const replay = await api
      .post(`/api/v1/dead-letters/${letter.id}/replay`)
      .set('authorization', 'Bearer admin-token');
    expect(replay.status).toBe(202);
    await waitFor(() => mes.received.find((r) => r.headers['x-handover-message-id'] === sent.body.messageId));
    expect((await admin('/api/v1/dead-letters')).body.deadLetters.some((l: { id: string }) => l.id === letter.id)).toBe(
      false,
    );
  });

  it('delivers the updates of one object in order and ends with the newest version', async () => {
    const key = 'PO-ORDER';
    const ids: string[] = [];
    for (let version = 1; version <= 30; version += 1) {
      const response = await post(
        'erp',
        envelope('erp', { ...examples.ProductionOrder, id: key, description: `v${version}` }, { version }),
      );
      ids.push(response.body.messageId);
    }
    await waitFor(async () => (await admin(`/api/v1/objects/ProductionOrder/${key}`)).body.version === 30);
    const last = ids[ids.length - 1]!;
    await waitFor(() => mes.received.find((r) => r.headers['x-handover-message-id'] === last));
    const versions = mes.received
      .filter((r) => JSON.parse(r.body).objectKey === key)
      .map((r) => JSON.parse(r.body).version as number);
    expect(versions).toEqual([...versions].sort((a, b) => a - b));
    expect(new Set(versions).size).toBe(versions.length);
    expect(versions[versions.length - 1]).toBe(30);
  });

  it('answers a repeated Idempotency-Key with the first message id and processes it once', async () => {
    const body = envelope('erp', { ...examples.ProductionOrder, id: 'PO-IDEM' });
    const first = await post('erp', body).set('idempotency-key', 'erp-4711');
    const again = await post('erp', body).set('idempotency-key', 'erp-4711');
    expect(again.body.messageId).toBe(first.body.messageId);
    await trace(first.body.messageId, (t) => t.decisions.length === 1);
    const objects = await admin('/api/v1/objects/ProductionOrder/PO-IDEM');
    expect(objects.body.history).toHaveLength(1);
  });
});

describe('operations', () => {
  it('serves health, readiness, metrics, the ownership matrix and a verifiable audit log', async () => {
    expect((await api.get('/healthz')).status).toBe(200);
    expect((await api.get('/readyz')).body).toMatchObject({ status: 'ready', redis: 'ok', database: 'ok' });
    const metrics = await api.get('/metrics');
    expect(metrics.text).toMatch(
      /handover_messages_total\{system="erp",type="ProductionOrder",decision="accepted"\} \d+/,
    );
    expect(metrics.text).toContain('handover_queue_depth{queue="ingest"}');
    expect((await admin('/api/v1/ownership')).body.ownership.ProductionOrder).toMatchObject({
      owner: 'erp',
      fields: { state: 'mes' },
    });
    expect((await api.get('/api/v1/ownership')).status).toBe(401);
    expect((await admin('/api/v1/audit/verify')).body).toMatchObject({ ok: true, problems: [] });
  });
});
