/** Signal bindings: a bound JSON topic's payload and a bound Sparkplug metric become signal messages. */
import { ConfigError } from '../../hub/config/errors';
import { parseConfig } from '../../hub/config/load';
import { SignalIndex } from './signals';

const index = new SignalIndex([
  { topic: 'plant1/line1/filler/state', equipmentId: 'FILLER-01', signal: 'state' },
  { node: 'G/E/D', metric: 'Counts/Good', equipmentId: 'FILLER-01', signal: 'goodCount' },
]);

describe('a bound JSON topic', () => {
  it('takes a scalar payload as the value, with no time stamp', () => {
    expect(index.topic('plant1/line1/filler/state', '6')).toEqual({
      kind: 'signal',
      equipmentId: 'FILLER-01',
      signal: 'state',
      value: 6,
      quality: 'good',
      sourceTimestamp: null,
      protocol: 'mqtt',
      source: 'plant1/line1/filler/state',
    });
  });

  it('takes value, time stamp (ISO 8601 or epoch milliseconds) and quality from an object', () => {
    const at = Date.parse('2026-12-03T08:00:00.250Z');
    expect(
      index.topic('plant1/line1/filler/state', JSON.stringify({ value: 11, timestamp: at, quality: 'uncertain' })),
    ).toMatchObject({ value: 11, quality: 'uncertain', sourceTimestamp: '2026-12-03T08:00:00.250Z' });
    expect(
      index.topic('plant1/line1/filler/state', '{"value":2,"timestamp":"2026-12-03T09:00:00+01:00","quality":"??"}'),
    ).toMatchObject({ value: 2, quality: 'good', sourceTimestamp: '2026-12-03T08:00:00.000Z' });
  });

  it('leaves a payload that is not JSON, and topics no binding names, to be emitted as they are', () => {
    expect(index.topic('plant1/line1/filler/state', 'running')).toBeUndefined();
    expect(index.topic('plant1/line1/capper/state', '6')).toBeUndefined();
  });
});

it('binds a Sparkplug metric by its node (group/edge/device) and metric name (names may hold slashes)', () => {
  const metric = { kind: 'signal' as const, protocol: 'sparkplug' as const, groupId: 'G', edgeNodeId: 'E', datatype: 'UInt32', timestamp: '2026-12-03T08:00:00.000Z', seq: 4 }; // prettier-ignore
  expect(index.bindsSparkplug).toBe(true);
  expect(
    index.sparkplug([
      { ...metric, deviceId: 'D', metric: 'Counts/Good', value: 12 },
      { ...metric, deviceId: 'D', metric: 'Counts/Bad', value: 1 },
      { ...metric, metric: 'Counts/Good', value: 99 },
      { ...metric, deviceId: 'D', metric: 'Counts/Good', value: null },
    ]),
  ).toEqual([
    expect.objectContaining({ equipmentId: 'FILLER-01', signal: 'goodCount', value: 12, quality: 'good', source: 'G/E/D:Counts/Good', seq: 4 }), // prettier-ignore
    expect.objectContaining({ value: null, quality: 'bad' }),
  ]);
});

it('refuses, at start-up, a binding with no source or two, and a source or signal bound twice', () => {
  const config = `
systems:
  - { id: scada, name: SCADA, processOwner: Production, technicalOwner: Automation }
ownership: {}
connectors:
  - id: broker
    kind: mqtt
    config:
      url: mqtt://127.0.0.1:1883
      clientId: hub
      system: scada
      signals:
        - { node: G/E/D, metric: State, equipmentId: FILLER-01, signal: state }
        - { node: G/E/D, equipmentId: FILLER-01, signal: mode }
        - { node: G/E/D, metric: Mode, topic: a/b, equipmentId: FILLER-01, signal: mode }
        - { node: G/E/D, metric: State, equipmentId: FILLER-01, signal: other }
        - { topic: a/b, equipmentId: FILLER-01, signal: state }
`;
  let problems: unknown;
  try {
    parseConfig(config, 'hub.yaml');
  } catch (error) {
    problems = error instanceof ConfigError ? error.problems : error;
  }
  const either = 'give either node and metric (Sparkplug), or topic (JSON)';
  expect(problems).toEqual([
    { path: '/connectors/0/config/signals/1', reason: either, line: 14 },
    { path: '/connectors/0/config/signals/2', reason: either, line: 15 },
    { path: '/connectors/0/config/signals/3', reason: 'G/E/D:State is bound twice', line: 16 },
    { path: '/connectors/0/config/signals/4/signal', reason: 'FILLER-01/state is bound to two sources', line: 17 },
  ]);
});
