/**
 * The outbound-only mode a delivering hub process runs the connector in: it publishes, receives
 * nothing, announces nothing, and never knocks the full (receiving) instance off the broker.
 */
import { resolveConfig } from './config';
import { outboundOnly } from './session';
import { createConnector, recordingContext, useBroker, waitFor } from './test-support';

const fixture = useBroker();

test('outboundOnly drops subscriptions and Sparkplug STATE, and takes a client id and clean session of its own', () => {
  const config = resolveConfig({
    url: 'mqtt://broker:1883',
    clientId: 'handover-plant1',
    system: 'scada',
    subscriptions: [{ topic: 'spBv1.0/#', format: 'sparkplug' }],
    sparkplug: { hostId: 'handover' },
  });
  const outbound = outboundOnly(config, 'mes-host:4711:ab12');
  expect(outbound).toMatchObject({
    clientId: 'handover-plant1-out-mes-host-4711-ab12',
    subscriptions: [],
    cleanSession: true,
  });
  expect(outbound.hostId).toBeUndefined();
  expect(outboundOnly(config).clientId).toMatch(/^handover-plant1-out-[0-9a-f]{8}$/);
});

test('an outbound instance beside the full one: the full one keeps its connection and alone receives', async () => {
  const config = fixture.config({
    subscriptions: [{ topic: 'plant1/+/status', format: 'json' }],
    publish: { topicTemplate: 'handover/{type}/{objectKey}' },
  });
  const full = await fixture.connector(config);
  const recording = recordingContext();
  const outbound = createConnector(config, { ...recording.context, mode: 'outbound', instanceId: 'worker-1' });
  expect([full.connector.receives, outbound.receives]).toEqual([true, false]);
  const watcher = await fixture.client();
  const published: string[] = [];
  watcher.on('message', (topic) => published.push(topic));
  await watcher.subscribeAsync('handover/#', { qos: 1 });
  try {
    await outbound.start();
    expect(outbound.health()).toMatchObject({ status: 'up' });
    const healths: string[] = [];
    const sampler = setInterval(() => healths.push(full.connector.health().status), 20);
    const signal = new AbortController().signal;
    for (let i = 0; i < 5; i += 1) {
      const body = JSON.stringify({ type: 'ProductionOrder', objectKey: `PO-${i}` });
      await outbound.send(
        { idempotencyKey: `d-${i}`, contentType: 'application/json', body, type: 'ProductionOrder' },
        signal,
      );
    }
    await (await fixture.client()).publishAsync('plant1/line3/status', '{"state":"running"}', { qos: 1 });
    await waitFor(() => full.emitted.length === 1 && published.length === 5, 'one received, five published');
    await new Promise((resolve) => setTimeout(resolve, 500));
    clearInterval(sampler);
    expect(healths.filter((status) => status !== 'up')).toEqual([]);
    expect(recording.emitted).toEqual([]);
    expect(full.emitted).toHaveLength(1);
  } finally {
    await outbound.stop();
  }
});
