/** Signal messages: values as JSON, quality from the status code, idempotency keys; and write coercion. */
// Jest cannot require hexy (ESM-only, pulled in by node-opcua-debug); Node's own require can.
// Loading node-opcua starts an RSA self-test (a 4096-bit key, 1–2 s) that logs a warning when done; in a
// suite this short that happens after Jest tore the environment down, where node-opcua's logger crashes
// the worker (and fails whichever suite runs next in it). The self-test only diagnoses Node versions.
jest.mock('node-opcua-secure-channel/dist/source/verify_pcks1.js', () => ({
  testRSAPKCS1V15_EncryptDecrypt: async () => undefined,
}));

import { DataType, DataValue, StatusCodes, Variant, VariantArrayType, coerceInt64 } from 'node-opcua';
import { OpcuaError } from './errors';
import { toVariant } from './outbound';
import { jsonValueOf, qualityOf, toInboundPayload, toSignalMessage } from './signal-message';

const binding = { nodeId: 'ns=1;s=Line1.Filler.Counter', equipmentId: 'FILLER-01', signal: 'count' };
const scalar = (dataType: DataType, value: unknown) =>
  new Variant({ dataType, arrayType: VariantArrayType.Scalar, value });

describe('jsonValueOf', () => {
  it.each([
    ['Boolean', scalar(DataType.Boolean, true), true],
    ['Int32', scalar(DataType.Int32, -7), -7],
    ['Double', scalar(DataType.Double, 1.5), 1.5],
    ['Double NaN', scalar(DataType.Double, NaN), 'NaN'],
    ['String', scalar(DataType.String, 'E042'), 'E042'],
    ['Int64 negative', scalar(DataType.Int64, coerceInt64('-5')), '-5'],
    ['Int64 past 2^53', scalar(DataType.Int64, coerceInt64('9007199254740993')), '9007199254740993'],
    ['UInt64 max', scalar(DataType.UInt64, [0xffffffff, 0xffffffff]), '18446744073709551615'],
    ['DateTime', scalar(DataType.DateTime, new Date('2026-03-01T06:00:00.250Z')), '2026-03-01T06:00:00.250Z'],
    ['ByteString', scalar(DataType.ByteString, Buffer.from('hi')), 'aGk='],
    ['Null', new Variant(), null],
    [
      'Double array',
      new Variant({ dataType: DataType.Double, arrayType: VariantArrayType.Array, value: [1, 2] }),
      [1, 2],
    ],
  ])('%s', (_name, variant, expected) => {
    expect(jsonValueOf(variant)).toEqual(expected);
  });
});

describe('signal message and payload', () => {
  const sourceTimestamp = new Date('2026-03-01T06:00:00.123Z');
  const serverTimestamp = new Date('2026-03-01T06:00:00.130Z');

  it('carries equipment, signal, value, quality and both timestamps; keyed by node and source time', () => {
    const dataValue = new DataValue({ value: scalar(DataType.Int32, 42), sourceTimestamp, serverTimestamp });
    const message = toSignalMessage(binding, dataValue);
    expect(message).toEqual({
      kind: 'signal',
      equipmentId: 'FILLER-01',
      signal: 'count',
      nodeId: 'ns=1;s=Line1.Filler.Counter',
      value: 42,
      quality: 'good',
      statusCode: 'Good',
      sourceTimestamp: '2026-03-01T06:00:00.123Z',
      serverTimestamp: '2026-03-01T06:00:00.130Z',
    });
    expect(toInboundPayload('scada', message)).toEqual({
      system: 'scada',
      contentType: 'json',
      body: JSON.stringify(message),
      idempotencyKey: 'ns=1;s=Line1.Filler.Counter@2026-03-01T06:00:00.123Z',
    });
  });

  it('falls back to the server timestamp for the key, and has no key without either', () => {
    const serverOnly = toSignalMessage(binding, new DataValue({ value: scalar(DataType.Int32, 1), serverTimestamp }));
    expect(serverOnly.sourceTimestamp).toBeNull();
    expect(toInboundPayload('scada', serverOnly).idempotencyKey).toBe(`${binding.nodeId}@2026-03-01T06:00:00.130Z`);
    const none = toSignalMessage(binding, new DataValue({ value: scalar(DataType.Int32, 1) }));
    expect(toInboundPayload('scada', none)).not.toHaveProperty('idempotencyKey');
  });

  it.each([
    [StatusCodes.Good, 'good'],
    [StatusCodes.UncertainInitialValue, 'uncertain'],
    [StatusCodes.BadCommunicationError, 'bad'],
    [StatusCodes.BadNodeIdUnknown, 'bad'],
  ])('%s is %s', (statusCode, quality) => {
    expect(qualityOf(statusCode)).toBe(quality);
  });
});

describe('toVariant (writes)', () => {
  it.each([
    ['Boolean', true, true],
    ['Int16', -300, -300],
    ['Double', 120.5, 120.5],
    ['String', 'E042', 'E042'],
    ['Int64', '-9007199254740993', coerceInt64('-9007199254740993')],
    ['UInt64', 42, [0, 42]],
    ['DateTime', '2026-03-01T06:00:00Z', new Date('2026-03-01T06:00:00Z')],
  ])('%s accepts %j', (dataType, value, expected) => {
    expect(toVariant(binding, DataType[dataType as keyof typeof DataType], value).value).toEqual(expected);
  });

  it.each([
    ['Boolean', 'true'],
    ['Byte', 256],
    ['Int32', 1.5],
    ['Double', 'fast'],
    ['UInt64', '-1'],
    ['Int64', 2 ** 60],
    ['DateTime', 'yesterday'],
    ['Guid', 'x'],
  ])('%s refuses %j', (dataType, value) => {
    const write = () => toVariant(binding, DataType[dataType as keyof typeof DataType], value);
    expect(write).toThrow(OpcuaError);
    expect(write).toThrow(expect.objectContaining({ code: 'OPCUA_VALUE_INVALID', permanent: true }));
  });
});
