/** Topic filters, idempotency keys and outbound topic templates, without a broker. */
import { idempotencyKey, topicMatches } from './inbound';
import { checkTopicTemplate, renderTopic } from './outbound';

test('topic filters: + is one level, # the rest, $share is stripped, $-topics need an explicit first level', () => {
  expect(topicMatches('a/+/c', 'a/b/c')).toBe(true);
  expect(topicMatches('a/+/c', 'a/b/x/c')).toBe(false);
  expect(topicMatches('a/#', 'a')).toBe(true);
  expect(topicMatches('a/#', 'a/b/c')).toBe(true);
  expect(topicMatches('$share/hub/spBv1.0/#', 'spBv1.0/G/NDATA/E')).toBe(true);
  expect(topicMatches('#', '$SYS/broker/uptime')).toBe(false);
  expect(topicMatches('a/b', 'a/b/c')).toBe(false);
});

test('idempotency keys: the same topic and payload give the same key, and a key never passes 255 characters', () => {
  const payload = Buffer.from('{"a":1}');
  expect(idempotencyKey('t/1', payload)).toBe(idempotencyKey('t/1', Buffer.from('{"a":1}')));
  expect(idempotencyKey('t/1', payload)).not.toBe(idempotencyKey('t/2', payload));
  expect(idempotencyKey('t/1', payload, '3')).toMatch(/^t\/1#[0-9a-f]{64}\/3$/);
  expect(idempotencyKey('x'.repeat(400), payload, 'birth')).toMatch(/^[0-9a-f]{64}#[0-9a-f]{64}\/birth$/);
});

test('outbound topics come from the JSON envelope, else the document type and idempotency key', () => {
  const json = { idempotencyKey: 'k1', contentType: 'application/json', type: 'MaterialLot' } as const;
  const body = JSON.stringify({ type: 'ProductionOrder', objectKey: 'PO+1#a/b%' });
  expect(renderTopic('handover/{type}/{objectKey}', { ...json, body })).toBe('handover/ProductionOrder/PO%2B1%23a%2Fb%25'); // prettier-ignore
  expect(renderTopic('handover/{type}/{objectKey}', { ...json, body: '[1]' })).toBe('handover/MaterialLot/k1');
  const xml = { idempotencyKey: 'k2', contentType: 'application/xml', type: 'Equipment', body: '<x/>' } as const;
  expect(renderTopic('out/{type}/{objectKey}/{idempotencyKey}', xml)).toBe('out/Equipment/k2/k2');
});

test('a topic template with an unknown placeholder or a wildcard is refused', () => {
  expect(() => checkTopicTemplate('handover/{type}/{objectKey}')).not.toThrow();
  expect(() => checkTopicTemplate('handover/{site}/{objectKey}')).toThrow('MQTT_TOPIC_TEMPLATE_INVALID');
  expect(() => checkTopicTemplate('handover/+/{objectKey}')).toThrow('MQTT_TOPIC_TEMPLATE_INVALID');
});
