/**
 * Pipelined intake against a real broker, watched on the wire through a proxy: many messages are in
 * the hub's hands at once, each PUBACK goes out only once its message is queued and in the order
 * received, and a connector cut off or stopped with messages in flight loses none.
 */
import type { ConnectorContext, InboundPayload } from '../types';
import { startProxy, type TappedPacket, type TcpProxy } from './test-broker';
import { bodies, createConnector, recordingContext, useBroker, waitFor } from './test-support';
import type { MqttSession } from './session';

const fixture = useBroker();
const settle = () => new Promise((resolve) => setTimeout(resolve, 200));

let proxy: TcpProxy | undefined;
afterEach(async () => {
  await proxy?.close();
  proxy = undefined;
});

/** A proxy in front of the broker that records every packet. */
async function watchedBroker(): Promise<{ url: string; packets: TappedPacket[] }> {
  const packets: TappedPacket[] = [];
  proxy = await startProxy(fixture.broker.port, (packet) => packets.push(packet));
  return { url: proxy.url, packets };
}

/** A hub whose queue takes a message only when the test lets it: `held` are the emits waiting. */
function slowHub() {
  const held: { payload: InboundPayload; land(): void; refuse(): void }[] = [];
  const queued: InboundPayload[] = [];
  const context: ConnectorContext = {
    ...recordingContext().context,
    emit: (payload) =>
      new Promise<string>((resolve, reject) => {
        held.push({
          payload,
          land: () => {
            queued.push(payload);
            resolve(String(queued.length));
          },
          refuse: () => reject(new Error('queue unavailable')),
        });
      }),
  };
  return { context, held, queued };
}

/** A hub whose queue takes each message after `ms`, like one busy with its workers. */
function delayingHub(ms: number) {
  const queued: InboundPayload[] = [];
  let inHand = 0;
  let mostInHand = 0;
  const context: ConnectorContext = {
    ...recordingContext().context,
    emit: async (payload) => {
      mostInHand = Math.max(mostInHand, (inHand += 1));
      await new Promise((resolve) => setTimeout(resolve, ms));
      inHand -= 1;
      queued.push(payload);
      return String(queued.length);
    },
  };
  return { context, queued, mostInHand: () => mostInHand };
}

async function publish(topic: string, from: number, count: number): Promise<void> {
  const publisher = await fixture.client();
  const sent = [];
  for (let n = from; n < from + count; n += 1) {
    sent.push(publisher.publishAsync(topic, JSON.stringify({ n }), { qos: 1 }));
  }
  await Promise.all(sent);
}

async function started(url: string, context: ConnectorContext, extra: object = {}): Promise<MqttSession> {
  const connector = createConnector(
    fixture.config({ url, subscriptions: [{ topic: 'intake/#', format: 'json' }], ...extra }),
    context,
  );
  await connector.start();
  return connector;
}

const numbers = (payloads: InboundPayload[]) => bodies(payloads).map((message) => message.n as number);
const pubacks = (packets: TappedPacket[]) => packets.filter((p) => p.from === 'client' && p.type === 4);

test('takes many messages in while the hub queues slowly; each PUBACK only once queued, in the order received', async () => {
  const { url, packets } = await watchedBroker();
  const hub = slowHub();
  const connector = await started(url, hub.context);
  try {
    await publish('intake/a', 0, 100);
    // One at a time, the hub would hold one message here and the broker the other 99.
    await waitFor(() => hub.held.length === 100, '100 messages in the hub’s hands at once');
    expect(pubacks(packets)).toEqual([]);

    // Queued last to first: nothing may be acknowledged before the first one is queued.
    for (const emit of hub.held.slice(1).reverse()) emit.land();
    await settle();
    expect(pubacks(packets)).toEqual([]);
    hub.held[0]!.land();
    await waitFor(() => pubacks(packets).length === 100, '100 PUBACKs');

    const received = packets.filter((p) => p.from === 'broker' && p.type === 3);
    expect(pubacks(packets).map((p) => p.packetId)).toEqual(received.map((p) => p.packetId));
    expect(numbers(hub.queued).sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, n) => n));
  } finally {
    await connector.stop();
  }
});

test('keeps at most receiveWindow messages in the hub’s hands', async () => {
  const hub = delayingHub(20);
  const connector = await started(fixture.broker.url, hub.context, { receiveWindow: 8 });
  try {
    await publish('intake/b', 0, 200);
    await waitFor(() => hub.queued.length === 200, 'all 200 messages queued', 20000);
    expect(hub.mostInHand()).toBeGreaterThan(1);
    expect(hub.mostInHand()).toBeLessThanOrEqual(8);
  } finally {
    await connector.stop();
  }
});

test('a refused message stops acknowledgements on that connection; the broker redelivers it and the rest', async () => {
  const { url, packets } = await watchedBroker();
  const hub = slowHub();
  const connector = await started(url, hub.context);
  try {
    await publish('intake/c', 0, 20);
    await waitFor(() => hub.held.length === 20, '20 messages in the hub’s hands');
    const [first, second, ...rest] = hub.held.splice(0);
    first!.land();
    second!.refuse();
    for (const emit of rest) emit.land();
    // The first is acknowledged; after the refusal nothing is, and the connection is dropped.
    await waitFor(() => hub.held.length === 19, 'the redelivery of the refused message and those after it', 15000);
    const { connection } = packets.find((p) => p.from === 'broker' && p.type === 3)!;
    expect(pubacks(packets).filter((p) => p.connection === connection)).toHaveLength(1);
    for (const emit of hub.held.splice(0)) emit.land();
    await waitFor(() => new Set(numbers(hub.queued)).size === 20, 'all 20 messages queued');
  } finally {
    await connector.stop();
  }
});

test('a connector cut off with messages in flight loses none: the broker redelivers what it did not acknowledge', async () => {
  const { url } = await watchedBroker();
  const first = delayingHub(20);
  const clientId = fixture.config().clientId;
  const connector = await started(url, first.context, { clientId });
  const feed = publish('intake/d', 0, 300);
  await waitFor(() => first.queued.length >= 50, 'a first part queued');
  // As a kill -9 does: the connection drops while emits are on their way (some of them land later).
  proxy!.cut();
  await feed;
  await connector.stop();
  const second = recordingContext();
  const next = await started(fixture.broker.url, second.context, { clientId });
  try {
    const all = () => new Set([...numbers(first.queued), ...numbers(second.emitted)]);
    await waitFor(() => all().size === 300, 'every message, from one connector or the other', 20000);
  } finally {
    await next.stop();
  }
});

test('a connector stopped with messages in flight acknowledges what it queued; the next one gets the rest, once', async () => {
  const first = delayingHub(20);
  const clientId = fixture.config().clientId;
  const connector = await started(fixture.broker.url, first.context, { clientId });
  await publish('intake/e', 0, 300);
  await waitFor(() => first.queued.length >= 50, 'a first part queued');
  await connector.stop();
  const second = recordingContext();
  const next = await started(fixture.broker.url, second.context, { clientId });
  try {
    await waitFor(() => first.queued.length + second.emitted.length >= 300, 'every message', 20000);
    await settle();
    const all = [...numbers(first.queued), ...numbers(second.emitted)].sort((a, b) => a - b);
    expect(all).toEqual(Array.from({ length: 300 }, (_, n) => n));
  } finally {
    await next.stop();
  }
});
