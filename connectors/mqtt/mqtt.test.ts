/**
 * The MQTT connector against a real broker (Mosquitto when installed, else aedes; see
 * test-broker.ts): JSON in, documents out, connection test, and no QoS 1 message lost across a
 * broker restart, a cut connection, or a hub that could not queue a message.
 */
import { startProxy } from './test-broker';
import { bodies, recordingContext, useBroker, waitFor } from './test-support';

const fixture = useBroker();

test(`JSON payloads arrive unchanged (${process.env.HANDOVER_TEST_MQTT_BROKER ?? 'auto'} broker)`, async () => {
  const { emitted } = await fixture.connector({ subscriptions: [{ topic: 'plant1/+/status', format: 'json' }] });
  const publisher = await fixture.client();
  const payloads = ['{"state":"running","rate":12.5}', '{ "state" : "stopped",\n "note": "Störung ✓" }'];
  for (const payload of payloads) await publisher.publishAsync('plant1/line3/status', payload, { qos: 1 });
  await publisher.publishAsync('plant1/line3/other', '{"ignored":true}', { qos: 1 });
  await waitFor(() => emitted.length === 2, 'two JSON payloads');
  expect(emitted.map((payload) => payload.body)).toEqual(payloads);
  // Without an idempotency key: the same bytes published again later are a new fact.
  expect(emitted[0]).toEqual({ system: 'scada', contentType: 'json', body: payloads[0] });
});

test('outbound documents reach a subscriber; send resolves on PUBACK, refuses when not connected', async () => {
  const { connector } = await fixture.connector({ publish: { topicTemplate: 'handover/{type}/{objectKey}' } });
  const subscriber = await fixture.client();
  const received: { topic: string; body: string; key?: unknown }[] = [];
  subscriber.on('message', (topic, payload, packet) =>
    received.push({ topic, body: payload.toString(), key: packet.properties?.userProperties?.['idempotency-key'] }),
  );
  await subscriber.subscribeAsync('handover/#', { qos: 1 });
  const envelope = JSON.stringify({ type: 'ProductionOrder', objectKey: 'PO/1', document: { id: 'PO/1' } });
  const signal = new AbortController().signal;
  const json = { idempotencyKey: 'd-1', contentType: 'application/json', body: envelope, type: 'ProductionOrder' } as const; // prettier-ignore
  await expect(connector.send(json, signal)).resolves.toEqual({
    detail: 'published to handover/ProductionOrder/PO%2F1 (QoS 1)',
  });
  const xml = { idempotencyKey: 'd-2', contentType: 'application/xml', body: '<x/>', type: 'MaterialLot' } as const;
  await connector.send(xml, signal);
  await waitFor(() => received.length === 2, 'two published documents');
  const v5 = fixture.broker.protocolVersion === 5;
  expect(received).toEqual([
    { topic: 'handover/ProductionOrder/PO%2F1', body: envelope, key: v5 ? 'd-1' : undefined },
    { topic: 'handover/MaterialLot/d-2', body: '<x/>', key: v5 ? 'd-2' : undefined },
  ]);
  await connector.stop();
  await expect(connector.send(json, signal)).rejects.toMatchObject({ code: 'MQTT_NOT_CONNECTED' });
});

test('test() connects with the configured URL and credentials; health says why it is down', async () => {
  const working = fixture.created({});
  await expect(working.test()).resolves.toEqual({
    ok: true,
    detail: expect.stringContaining(`connected to ${fixture.broker.url}`),
  });
  const closed = await startProxy(1);
  closed.cut();
  try {
    const unreachable = fixture.created({ url: closed.url, connectTimeoutMs: 1000 });
    await expect(unreachable.test()).resolves.toMatchObject({ ok: false, detail: expect.stringContaining('cannot') });
    await unreachable.start();
    expect(unreachable.health()).toMatchObject({ status: 'down', detail: expect.stringContaining('not connected') });
  } finally {
    await closed.close();
  }
  const noSecret = fixture.created({ passwordEnv: 'HANDOVER_TEST_UNSET_VARIABLE' });
  await expect(noSecret.test()).resolves.toEqual({
    ok: false,
    detail: expect.stringContaining('MQTT_CREDENTIAL_MISSING'),
  });
});

test('no QoS 1 message is lost across a broker restart and a cut connection (persistent session)', async () => {
  const { broker } = fixture;
  const proxy = await startProxy(broker.port);
  try {
    const { connector, emitted } = await fixture.connector({
      url: proxy.url,
      subscriptions: [{ topic: 'restart/#', format: 'json', qos: 1 }],
    });
    const publishPhase = async (phase: number, from: number, count: number) => {
      const publisher = await fixture.client();
      const sent = [];
      for (let n = from; n < from + count; n += 1) {
        sent.push(publisher.publishAsync(`restart/${phase}`, JSON.stringify({ n, phase }), { qos: 1 }));
      }
      await Promise.all(sent);
    };
    const seen = () => new Set(bodies(emitted).map((m) => m.n as number));

    await broker.stop();
    await waitFor(() => connector.health().status === 'down', 'the connector to notice the broker is gone');
    await broker.start();
    await publishPhase(1, 0, 250);
    await waitFor(() => seen().size === 250, 'phase 1: 250 messages after the broker restart');

    proxy.cut();
    await waitFor(() => connector.health().status === 'down', 'the connector to be cut off');
    await publishPhase(2, 250, 250);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(seen().size).toBe(250);
    proxy.restore();
    await waitFor(() => seen().size === 500, 'phase 2: 250 messages queued while cut off', 15000);
    expect([...seen()].sort((a, b) => a - b)).toEqual(Array.from({ length: 500 }, (_, n) => n));
    expect(connector.health().status).toBe('up');
  } finally {
    await proxy.close();
  }
});

test('a message the hub could not queue is not acknowledged, and arrives once the broker redelivers it', async () => {
  let attempts = 0;
  const context = recordingContext((payload) => payload.body.includes('"n":3') && ++attempts <= 2);
  const { emitted } = await fixture.connector({ subscriptions: [{ topic: 'refuse/#', format: 'json' }] }, context);
  const publisher = await fixture.client();
  for (let n = 0; n < 10; n += 1) await publisher.publishAsync('refuse/x', JSON.stringify({ n }), { qos: 1 });
  await waitFor(() => new Set(bodies(emitted).map((m) => m.n)).size === 10, 'all ten messages');
  expect(attempts).toBe(3);
  expect(new Set(bodies(emitted).map((m) => m.n))).toEqual(new Set([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]));
});
