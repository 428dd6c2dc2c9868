/**
 * Sparkplug B through a real broker: the specification's sample payloads decoded with aliases
 * resolved, rebirth requests on a seq gap or data before birth, and NDEATH handling.
 */
import { decodeSparkplug, encodeSparkplug, type WirePayload } from './sparkplug-codec';
import { aliasesOf, bodies, recordingContext, sample, useBroker, waitFor, wire } from './test-support';

const fixture = useBroker();
const subscriptions = [{ topic: 'spBv1.0/#', format: 'sparkplug' as const }];
const GROUP = 'Sparkplug B Devices';
const EDGE = 'Raspberry Pi';
const AT = '2017-02-03T17:55:02.122Z';

/** A publisher of Sparkplug payloads for one group and edge node. */
async function edgeNode(groupId: string, edgeNodeId: string) {
  const publisher = await fixture.client();
  return (type: string, payload: WirePayload, device?: string, edge = edgeNodeId) =>
    publisher.publishAsync(
      `spBv1.0/${groupId}/${type}/${edge}${device === undefined ? '' : `/${device}`}`,
      Buffer.from(encodeSparkplug(payload)),
      { qos: 1 },
    );
}

/** Rebirth commands seen on the broker. */
async function watchCommands(filter: string) {
  const watcher = await fixture.client();
  const commands: { topic: string; metrics: unknown }[] = [];
  watcher.on('message', (topic, payload) => commands.push({ topic, metrics: decodeSparkplug(payload).metrics }));
  await watcher.subscribeAsync(filter, { qos: 1 });
  return commands;
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 100));
const rebirth = (topic: string) => ({
  topic,
  metrics: [expect.objectContaining({ name: 'Node Control/Rebirth', datatype: 'Boolean', value: true })],
});

test('the specification sample payloads decode, aliases resolved, 64-bit integers as strings', async () => {
  const { connector, emitted } = await fixture.connector({ subscriptions });
  const commands = await watchCommands('spBv1.0/+/NCMD/#');
  const send = await edgeNode(GROUP, EDGE);
  const nodeAliases = aliasesOf(sample('NBIRTH'), 0);
  const deviceAliases = aliasesOf(sample('DBIRTH'), 100);
  await send('NBIRTH', wire(sample('NBIRTH'), { aliases: nodeAliases }));
  await send('DBIRTH', wire(sample('DBIRTH'), { aliases: deviceAliases }), 'Pibrella');
  await send('NDATA', wire(sample('NDATA'), { aliases: nodeAliases, aliasOnly: true }));
  // The spec's DDATA example says seq 0, which would break the sequence its other examples start.
  await send('DDATA', wire(sample('DDATA'), { aliases: deviceAliases, aliasOnly: true, seq: 3 }), 'Pibrella');
  await waitFor(() => emitted.length === 1 + 10 + 1 + 14 + 1 + 2, 'births and data');
  const messages = bodies(emitted);
  const node = { protocol: 'sparkplug', groupId: GROUP, edgeNodeId: EDGE };
  const device = { ...node, deviceId: 'Pibrella' };
  const signal = { kind: 'signal', timestamp: AT };
  expect(messages[0]).toEqual({ kind: 'lifecycle', event: 'birth', ...node, bdSeq: '0', seq: 0, timestamp: AT });
  expect(messages).toContainEqual({ ...signal, ...node, metric: 'Node Control/Scan Rate', alias: 4, value: '3000', datatype: 'Int64', seq: 0 }); // prettier-ignore
  expect(messages).toContainEqual({ kind: 'lifecycle', event: 'birth', ...device, seq: 1, timestamp: AT });
  expect(messages).toContainEqual({ ...signal, ...device, metric: 'Properties/Hardware Make', alias: 113, value: 'Pibrella', datatype: 'String', seq: 1 }); // prettier-ignore
  expect(messages.slice(-3)).toEqual([
    { ...signal, ...node, metric: 'Supply Voltage', alias: 9, value: 12.3, datatype: 'Float', seq: 2 },
    { ...signal, ...device, metric: 'Inputs/A', alias: 100, value: true, datatype: 'Boolean', seq: 3 },
    { ...signal, ...device, metric: 'Inputs/C', alias: 102, value: true, datatype: 'Boolean', seq: 3 },
  ]);
  // A Redis key per birth or death (bounded by the nodes' lifecycles), none per metric value.
  const keyed = emitted.filter((payload) => payload.idempotencyKey !== undefined);
  expect(bodies(keyed).map((message) => [message.kind, message.event])).toEqual([
    ['lifecycle', 'birth'],
    ['lifecycle', 'birth'],
  ]);
  expect(new Set(keyed.map((payload) => payload.idempotencyKey)).size).toBe(keyed.length);
  expect(connector.sparkplug.node(GROUP, EDGE)).toMatchObject({ online: true, stale: false, seq: 3, bdSeq: '0' });
  await settle();
  expect(commands).toEqual([]);
});

test('a seq gap, or data before any birth, triggers exactly one rebirth NCMD', async () => {
  const { connector, emitted } = await fixture.connector({ subscriptions });
  const commands = await watchCommands('spBv1.0/G1/NCMD/#');
  const send = await edgeNode('G1', 'E1');
  const data = (seq: number) => wire(sample('NDATA'), { seq });
  await send('NBIRTH', wire(sample('NBIRTH')));
  await send('NDATA', data(1));
  for (const seq of [5, 6, 7]) await send('NDATA', data(seq));
  await send('NDATA', data(3), undefined, 'E2');
  await send('NDATA', data(4), undefined, 'E2');
  await waitFor(() => commands.length === 2, 'two rebirth requests');
  expect(connector.sparkplug.node('G1', 'E1')).toMatchObject({ online: true, stale: true });
  // The node answers with a new birth, and its data is emitted again.
  await send('NBIRTH', wire(sample('NBIRTH')));
  await send('NDATA', data(1));
  const voltages = () => bodies(emitted).filter((m) => m.metric === 'Supply Voltage');
  await waitFor(() => voltages().length === 4, 'data after the rebirth');
  await settle();
  // One per node; two nodes' messages are handled side by side, so their requests come in either order.
  expect([...commands].sort((a, b) => a.topic.localeCompare(b.topic))).toEqual([
    rebirth('spBv1.0/G1/NCMD/E1'),
    rebirth('spBv1.0/G1/NCMD/E2'),
  ]);
  expect(voltages().map((m) => [m.seq, m.value])).toEqual([[0, 12.1], [1, 12.3], [0, 12.1], [1, 12.3]]); // prettier-ignore
  expect(connector.sparkplug.node('G1', 'E1')).toMatchObject({ online: true, stale: false, seq: 1 });
});

test('NDEATH marks the node and its devices dead, unless its bdSeq is from an earlier birth', async () => {
  const { connector, emitted } = await fixture.connector({ subscriptions });
  const send = await edgeNode('G2', 'E1');
  const withBdSeq = (name: string, bdSeq: number) => {
    const payload = sample(name);
    payload.metrics = payload.metrics?.map((m) => (m.name === 'bdSeq' ? { ...m, value: bdSeq } : m));
    return wire(payload);
  };
  await send('NBIRTH', withBdSeq('NBIRTH', 7));
  await send('DBIRTH', wire(sample('DBIRTH')), 'D1');
  await send('NDEATH', withBdSeq('NDEATH', 6));
  await send('NDATA', wire(sample('NDATA')));
  await waitFor(() => bodies(emitted).some((m) => m.metric === 'Supply Voltage' && m.seq === 2), 'data');
  expect(connector.sparkplug.node('G2', 'E1')).toMatchObject({ online: true, stale: false });
  await send('NDEATH', withBdSeq('NDEATH', 7));
  await waitFor(() => bodies(emitted).some((m) => m.event === 'death'), 'death');
  const death = { kind: 'lifecycle', event: 'death', protocol: 'sparkplug', groupId: 'G2', edgeNodeId: 'E1' };
  expect(bodies(emitted).filter((m) => m.kind === 'lifecycle')).toEqual([
    expect.objectContaining({ event: 'birth', bdSeq: '7' }),
    expect.objectContaining({ event: 'birth', deviceId: 'D1' }),
    { ...death, bdSeq: '7', seq: null, timestamp: AT },
  ]);
  const state = connector.sparkplug.node('G2', 'E1');
  expect(state?.online).toBe(false);
  expect([...(state?.devices ?? [])]).toEqual([['D1', false]]);
});

test('as primary host it publishes retained STATE online, and offline when stopped', async () => {
  const { connector } = await fixture.connector({ subscriptions, sparkplug: { hostId: 'handover-test' } });
  const watcher = await fixture.client();
  const states: { online: boolean; timestamp: number }[] = [];
  watcher.on('message', (_, payload) => states.push(JSON.parse(payload.toString()) as (typeof states)[number]));
  await watcher.subscribeAsync('spBv1.0/STATE/handover-test', { qos: 1 });
  await waitFor(() => states.length === 1, 'the retained STATE');
  await connector.stop();
  await waitFor(() => states.length === 2, 'STATE offline');
  expect(states).toEqual([
    { online: true, timestamp: expect.any(Number) },
    { online: false, timestamp: states[0]?.timestamp },
  ]);
});

test('an edge node’s messages are on their way in together; one the hub refuses is redelivered and judged as before, with no rebirth', async () => {
  let refusals = 0;
  // The hub is slow (every emit takes 30 ms) and refuses seq 5 once.
  const slow = recordingContext((payload) => payload.body.includes('"seq":5') && ++refusals === 1);
  const emit = slow.context.emit;
  let inFlight = 0;
  let mostInFlight = 0;
  slow.context.emit = async (payload) => {
    inFlight += 1;
    mostInFlight = Math.max(mostInFlight, inFlight);
    await new Promise((resolve) => setTimeout(resolve, 30));
    inFlight -= 1;
    return emit(payload);
  };
  const { connector, emitted } = await fixture.connector({ subscriptions }, slow);
  const commands = await watchCommands('spBv1.0/G3/NCMD/#');
  const send = await edgeNode('G3', 'E1');
  await send('NBIRTH', { timestamp: 1, seq: 0, metrics: [{ name: 'Count', alias: 1, type: 'Int32', value: 0 }] });
  for (let seq = 1; seq <= 10; seq += 1)
    await send('NDATA', { timestamp: 1, seq, metrics: [{ alias: 1, type: 'Int32', value: seq * 10 }] });
  const counts = () =>
    new Set(
      bodies(emitted)
        .filter((m) => m.metric === 'Count')
        .map((m) => m.value),
    );
  await waitFor(() => counts().size === 11, 'every value queued, the refused one after its redelivery', 15000);
  expect(refusals).toBeGreaterThanOrEqual(1);
  expect(mostInFlight).toBeGreaterThan(1);
  await settle();
  expect(commands).toEqual([]);
  expect(connector.sparkplug.node('G3', 'E1')).toMatchObject({ online: true, stale: false, seq: 10 });
});
