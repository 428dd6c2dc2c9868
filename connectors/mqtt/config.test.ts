/** The configuration schema documents every field; defaults apply; credentials come from the environment. */
import type { TSchema } from '@sinclair/typebox';
import { configSchema, readCredentials, resolveConfig } from './config';
import { recordingContext } from './test-support';
import { mqttConnector } from './index';

/** Every property of an object schema, at any depth, with its path. */
function properties(schema: TSchema, path = ''): [string, TSchema][] {
  const own = Object.entries((schema.properties ?? {}) as Record<string, TSchema>);
  const items = schema.items as TSchema | undefined;
  return [
    ...own.flatMap(([name, inner]): [string, TSchema][] => [[`${path}/${name}`, inner], ...properties(inner, `${path}/${name}`)]), // prettier-ignore
    ...(items ? properties(items, `${path}[]`) : []),
  ];
}

test('every configuration field has a description and an example', () => {
  const found = properties(configSchema);
  expect(found.length).toBeGreaterThan(15);
  for (const [path, schema] of found) {
    expect([path, typeof schema.description]).toEqual([path, 'string']);
    expect([path, Array.isArray(schema.examples)]).toEqual([path, true]);
  }
});

test('defaults: persistent session, QoS 1, MQTT 5, reconnects within 200 ms', () => {
  const resolved = resolveConfig({
    url: 'mqtt://broker:1883',
    clientId: 'h',
    system: 'scada',
    subscriptions: [{ topic: 'a/#', format: 'json' }],
  });
  expect(resolved).toMatchObject({
    subscriptions: [{ topic: 'a/#', format: 'json', qos: 1 }],
    publish: { topicTemplate: 'handover/{type}/{objectKey}', qos: 1, retain: false },
    cleanSession: false,
    protocolVersion: 5,
    reconnectPeriodMs: 200,
    receiveWindow: 500,
  });
});

test('credentials are read from the variables the config names, and a missing one is an error', () => {
  const env = { MQTT_USER: 'hub', MQTT_PASS: 's3cret' };
  expect(readCredentials({ usernameEnv: 'MQTT_USER', passwordEnv: 'MQTT_PASS' }, env)).toEqual({
    username: 'hub',
    password: 's3cret',
  });
  expect(readCredentials({}, env)).toEqual({});
  expect(() => readCredentials({ passwordEnv: 'NOPE' }, env)).toThrow('MQTT_CREDENTIAL_MISSING');
});

test('an invalid subscription filter or topic template stops the connector from being created', () => {
  const base = { url: 'mqtt://broker:1883', clientId: 'h', system: 'scada' };
  const { context } = recordingContext();
  const create = (extra: object) => () => mqttConnector.create({ ...base, ...extra }, context);
  expect(create({ subscriptions: [{ topic: 'a/#/b', format: 'json' }] })).toThrow('MQTT_TOPIC_FILTER_INVALID');
  expect(create({ publish: { topicTemplate: 'x/{nope}' } })).toThrow('MQTT_TOPIC_TEMPLATE_INVALID');
  expect(create({ subscriptions: [{ topic: 'a/+/b', format: 'json' }] })).not.toThrow();
});
