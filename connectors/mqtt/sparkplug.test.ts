/** Sparkplug B host state and value decoding, without a broker. */
import { decodeSparkplug, encodeSparkplug, type WireMetric } from './sparkplug-codec';
import { parseSparkplugTopic, REBIRTH_RETRY_MS, SparkplugTracker, type SparkplugTopic } from './sparkplug';

const node = (messageType: string): SparkplugTopic => ({ groupId: 'G', messageType, edgeNodeId: 'E' });
const device = (messageType: string): SparkplugTopic => ({ ...node(messageType), deviceId: 'D' });
const metric = (name: string, alias: number, value = 1): WireMetric => ({ name, alias, type: 'Int32', value });
const payload = (seq: number | undefined, metrics: WireMetric[] = []) =>
  decodeSparkplug(encodeSparkplug({ timestamp: 1_700_000_000_000, metrics, ...(seq === undefined ? {} : { seq }) }));

/** Handles and commits, as the connector does once the messages are queued. */
function feed(
  tracker: SparkplugTracker,
  topic: SparkplugTopic,
  seq: number | undefined,
  metrics?: WireMetric[],
  now = 0,
) {
  const outcome = tracker.handle(topic, payload(seq, metrics), now);
  outcome.commit();
  return outcome;
}

function born(): SparkplugTracker {
  const tracker = new SparkplugTracker();
  feed(tracker, node('NBIRTH'), 0, [{ name: 'bdSeq', type: 'UInt64', value: 4 }, metric('Speed', 1)]);
  return tracker;
}

test('topics: node and device messages parse; STATE and malformed topics do not', () => {
  expect(parseSparkplugTopic('spBv1.0/G/NDATA/E')).toEqual(node('NDATA'));
  expect(parseSparkplugTopic('spBv1.0/G/DDATA/E/D')).toEqual(device('DDATA'));
  for (const topic of ['spBv1.0/STATE/host', 'spBv1.0/G/NDATA/E/D', 'spBv1.0/G/DDATA/E', 'spAv1.0/G/NDATA/E']) {
    expect(parseSparkplugTopic(topic)).toBeUndefined();
  }
});

test('seq wraps from 255 to 0; a repeated seq (a redelivery) is ignored without a rebirth', () => {
  const tracker = born();
  for (let seq = 1; seq <= 255; seq += 1) expect(feed(tracker, node('NDATA'), seq).rebirth).toBeUndefined();
  const wrapped = feed(tracker, node('NDATA'), 0, [{ alias: 1, type: 'Int32', value: 9 }]);
  expect(wrapped.messages).toEqual([expect.objectContaining({ metric: 'Speed', alias: 1, value: 9, seq: 0 })]);
  const repeated = feed(tracker, node('NDATA'), 0);
  expect(repeated).toMatchObject({ messages: [], ignored: 'duplicate seq 0' });
  expect(repeated.rebirth).toBeUndefined();
});

test('an unknown alias, or device data before its DBIRTH, asks for a rebirth; again only after the retry time', () => {
  const tracker = born();
  const unknown = feed(tracker, node('NDATA'), 1, [{ alias: 99, type: 'Int32', value: 1 }], 1000);
  expect(unknown).toMatchObject({
    messages: [],
    rebirth: { groupId: 'G', edgeNodeId: 'E', reason: 'unknown alias 99' },
  });
  expect(feed(tracker, node('NDATA'), 2, [], 2000).rebirth).toBeUndefined();
  expect(feed(tracker, node('NDATA'), 3, [], 1000 + REBIRTH_RETRY_MS).rebirth).toBeDefined();

  const other = born();
  expect(feed(other, device('DDATA'), 1).rebirth?.reason).toBe('DDATA from device D before its DBIRTH');
});

test('state changes only on commit, so a message the hub refused is handled again when redelivered', () => {
  const tracker = born();
  const first = tracker.handle(node('NDATA'), payload(1, [metric('Speed', 1, 5)]));
  expect(first.messages).toHaveLength(1);
  const again = tracker.handle(node('NDATA'), payload(1, [metric('Speed', 1, 5)]));
  expect(again.messages).toHaveLength(1);
  again.commit();
  expect(tracker.node('G', 'E')?.seq).toBe(1);
});

test('device births extend the alias map; DDEATH marks the device dead', () => {
  const tracker = born();
  feed(tracker, device('DBIRTH'), 1, [metric('Temp', 2)]);
  const data = feed(tracker, device('DDATA'), 2, [{ alias: 2, type: 'Int32', value: 21 }]);
  expect(data.messages).toEqual([expect.objectContaining({ deviceId: 'D', metric: 'Temp', value: 21 })]);
  expect(feed(tracker, device('DDEATH'), 3).messages).toEqual([expect.objectContaining({ event: 'death', deviceId: 'D' })]); // prettier-ignore
  expect(tracker.node('G', 'E')?.devices.get('D')).toBe(false);
});

test('groups outside sparkplug.groupIds are ignored; commands are never treated as data', () => {
  const tracker = new SparkplugTracker(['Other']);
  expect(feed(tracker, node('NBIRTH'), 0).ignored).toBe('group not configured');
  expect(born().handle(node('NCMD'), payload(undefined)).ignored).toBe('command');
});

test('values: 64-bit integers as strings, UInt32 unsigned, DateTime ISO, Float as written, bytes base64, null', () => {
  const now = Date.UTC(2024, 0, 2, 3, 4, 5, 678);
  const decoded = payload(0, [
    { name: 'i64', type: 'Int64', value: -5 },
    { name: 'u64', type: 'UInt64', value: '18446744073709551615' },
    { name: 'u32', type: 'UInt32', value: 4_000_000_000 },
    { name: 'dt', type: 'DateTime', value: now },
    { name: 'f', type: 'Float', value: 0.1 },
    { name: 'b', type: 'Bytes', value: new Uint8Array([1, 2, 255]) },
    { name: 'n', type: 'Double', value: null },
  ]);
  expect(Object.fromEntries(decoded.metrics.map((m) => [m.name, m.value]))).toEqual({
    i64: '-5',
    u64: '18446744073709551615',
    u32: 4_000_000_000,
    dt: '2024-01-02T03:04:05.678Z',
    f: 0.1,
    b: 'AQL/',
    n: null,
  });
  expect(decoded.timestamp).toBe('2023-11-14T22:13:20.000Z');
});
