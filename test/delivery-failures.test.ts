/**
 * One failure vocabulary for every connector, end to end: an MQTT publish the broker refuses
 * (MQTT 5 reason code, a real Mosquitto with an ACL) is final, filed as TARGET_REFUSED after one
 * attempt, exactly like an HTTP 4xx; not retried until ATTEMPTS_EXHAUSTED.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import request from 'supertest';
import { startTestBroker, type TestBroker } from '../connectors/mqtt/test-broker';
import { parseConfig } from '../hub/config/load';
import { startHub, type RunningHub } from '../hub/hub';
import { examples } from '../schemas/examples';
import { waitFor } from './support/http-target';

let broker: TestBroker;
let hub: RunningHub;

beforeAll(async () => {
  broker = await startTestBroker({ denyTopics: ['refused/#'] });
  const config = parseConfig(`
systems:
  - { id: erp, name: ERP, processOwner: Planning, technicalOwner: IT }
  - { id: line, name: Line broker, processOwner: Production, technicalOwner: OT }
ownership:
  ProductionOrder: { owner: erp }
connectors:
  - id: plant-broker
    kind: mqtt
    config:
      url: ${broker.url}
      clientId: handover-refusal-test
      system: line
      publish: { topicTemplate: "refused/{type}/{objectKey}" }
routes:
  - { id: orders-to-line, target: line, types: [ProductionOrder], connector: plant-broker, retry: { attempts: 4, backoffMs: 10, maxBackoffMs: 20 } }
`);
  hub = await startHub({
    config,
    dataDir: mkdtempSync(join(tmpdir(), 'handover-refusal-')),
    env: { HANDOVER_TOKEN_ERP: 'erp-token', HANDOVER_ADMIN_TOKEN: 'admin-token' },
    logger: pino({ level: 'silent' }),
  });
}, 30000);

afterAll(async () => {
  await hub?.stop();
  await broker?.close();
});

it('files a publish the broker refuses as TARGET_REFUSED after one attempt', async () => {
  const api = request(hub.url!);
  await waitFor(
    async () =>
      (await api.get('/api/v1/connectors').set('authorization', 'Bearer admin-token')).body.connectors?.[0]?.health
        .status === 'up',
    15000,
    'the mqtt connector to connect',
  );
  const posted = await api
    .post('/api/v1/inbound/erp?type=ProductionOrder')
    .set('authorization', 'Bearer erp-token')
    .set('content-type', 'application/json')
    .send(JSON.stringify({ ...examples.ProductionOrder, id: 'PO-REFUSED-1' }));
  expect(posted.status).toBe(202);
  const trace = await waitFor(
    async () => {
      const response = await api
        .get(`/api/v1/messages/${posted.body.messageId}`)
        .set('authorization', 'Bearer admin-token');
      return response.body.deliveries?.[0]?.status === 'dead' ? response.body : undefined;
    },
    20000,
    'the delivery to be dead-lettered',
  );
  expect(trace.deliveries[0]).toMatchObject({ target: 'line', attempts: 1 });
  expect(trace.deliveries[0].lastError).toContain('MQTT_PUBLISH_REFUSED');
  const letters = (await api.get('/api/v1/dead-letters').set('authorization', 'Bearer admin-token')).body
    .deadLetters as Array<{ messageId: string; code: string }>;
  expect(letters.find((letter) => letter.messageId === posted.body.messageId)).toMatchObject({
    code: 'TARGET_REFUSED',
  });
});
