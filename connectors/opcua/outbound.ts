/**
 * The outbound side of the OPC UA connector: writing a value to a variable listed under `writes`, on
 * the inbound side's session. OPC UA takes no documents, so there is no `send`.
 */
import {
  AttributeIds,
  DataType,
  StatusCodes,
  Variant,
  VariantArrayType,
  coerceInt64,
  resolveNodeId,
  type ClientSession,
  type StatusCode,
} from 'node-opcua';
import { firstLine } from './client';
import type { SignalBinding } from './config';
import { OpcuaError } from './errors';

const INTEGER_RANGES: Partial<Record<DataType, [number, number]>> = {
  [DataType.SByte]: [-128, 127],
  [DataType.Byte]: [0, 255],
  [DataType.Int16]: [-32768, 32767],
  [DataType.UInt16]: [0, 65535],
  [DataType.Int32]: [-2147483648, 2147483647],
  [DataType.UInt32]: [0, 4294967295],
};

/** Answers that trying again cannot change. */
const FINAL_WRITE_STATUSES = [
  StatusCodes.BadNotWritable,
  StatusCodes.BadUserAccessDenied,
  StatusCodes.BadTypeMismatch,
  StatusCodes.BadOutOfRange,
  StatusCodes.BadNodeIdUnknown,
  StatusCodes.BadNodeIdInvalid,
  StatusCodes.BadWriteNotSupported,
  StatusCodes.BadAttributeIdInvalid,
];

function invalid(binding: SignalBinding, dataType: DataType, value: unknown): OpcuaError {
  return new OpcuaError(
    'OPCUA_VALUE_INVALID',
    `${binding.equipmentId}/${binding.signal} (${binding.nodeId}) is ${DataType[dataType]}, got ${JSON.stringify(value)}`,
  );
}

/**
 * The variant to write for a JSON value, given the variable's built-in type: booleans, numbers
 * (integers in range for integer types), Int64/UInt64 as decimal strings or safe integers, strings,
 * DateTime as ISO 8601, ByteString as base64.
 */
export function toVariant(binding: SignalBinding, dataType: DataType, value: unknown): Variant {
  const scalar = (v: unknown) => new Variant({ dataType, arrayType: VariantArrayType.Scalar, value: v });
  const range = INTEGER_RANGES[dataType];
  if (range) {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < range[0] || value > range[1]) {
      throw invalid(binding, dataType, value);
    }
    return scalar(value);
  }
  switch (dataType) {
    case DataType.Boolean:
      if (typeof value !== 'boolean') throw invalid(binding, dataType, value);
      return scalar(value);
    case DataType.Float:
    case DataType.Double:
      if (typeof value !== 'number' || !Number.isFinite(value)) throw invalid(binding, dataType, value);
      return scalar(value);
    case DataType.Int64:
    case DataType.UInt64: {
      const text = typeof value === 'number' && Number.isSafeInteger(value) ? String(value) : value;
      if (typeof text !== 'string' || !/^-?\d+$/.test(text)) throw invalid(binding, dataType, value);
      const bits = BigInt(text);
      const fits = dataType === DataType.Int64 ? BigInt.asIntN(64, bits) === bits : BigInt.asUintN(64, bits) === bits;
      if (!fits) throw invalid(binding, dataType, value);
      return scalar(coerceInt64(text));
    }
    case DataType.String:
      if (typeof value !== 'string') throw invalid(binding, dataType, value);
      return scalar(value);
    case DataType.DateTime: {
      const date = typeof value === 'string' ? new Date(value) : undefined;
      if (!date || Number.isNaN(date.getTime())) throw invalid(binding, dataType, value);
      return scalar(date);
    }
    case DataType.ByteString:
      if (typeof value !== 'string') throw invalid(binding, dataType, value);
      return scalar(Buffer.from(value, 'base64'));
    default:
      throw new OpcuaError('OPCUA_VALUE_INVALID', `writing ${DataType[dataType]} variables is not supported`);
  }
}

/** Writes values to the variables listed under `writes`, and refuses any other. */
export class OpcuaWriter {
  /** Built-in data type per node id, read once per session. */
  private readonly dataTypes = new WeakMap<ClientSession, Map<string, DataType>>();

  constructor(
    private readonly writes: SignalBinding[],
    private readonly session: () => ClientSession | undefined,
  ) {}

  /**
   * Writes `value` to the variable bound to `equipmentId`/`signal`. Throws an {@link OpcuaError}:
   * OPCUA_WRITE_NOT_ALLOWED or OPCUA_VALUE_INVALID (permanent), OPCUA_NOT_CONNECTED (retried),
   * OPCUA_WRITE_REJECTED (permanent or retried, after the server's status).
   *
   * @example await connector.write('FILLER-01', 'speedSetpoint', 120.5)
   */
  async write(equipmentId: string, signal: string, value: unknown): Promise<void> {
    const binding = this.writes.find((w) => w.equipmentId === equipmentId && w.signal === signal);
    if (!binding) {
      const allowed = this.writes.map((w) => `${w.equipmentId}/${w.signal}`).join(', ') || 'none';
      throw new OpcuaError('OPCUA_WRITE_NOT_ALLOWED', `${equipmentId}/${signal}; allowed: ${allowed}`);
    }
    const session = this.session();
    if (!session) throw new OpcuaError('OPCUA_NOT_CONNECTED', `cannot write ${equipmentId}/${signal}`);
    const dataType = await this.dataTypeOf(session, binding);
    const variant = toVariant(binding, dataType, value);
    let status: StatusCode;
    try {
      status = await session.write({
        nodeId: binding.nodeId,
        attributeId: AttributeIds.Value,
        value: { value: variant },
      });
    } catch (error) {
      throw new OpcuaError('OPCUA_WRITE_REJECTED', `${binding.nodeId}: ${firstLine(error)}`);
    }
    if (status.isNotGood()) {
      this.dataTypes.get(session)?.delete(binding.nodeId);
      const final = FINAL_WRITE_STATUSES.some((s) => s.value === status.value);
      throw new OpcuaError('OPCUA_WRITE_REJECTED', `${binding.nodeId}: ${status.name}`, final);
    }
  }

  private async dataTypeOf(session: ClientSession, binding: SignalBinding): Promise<DataType> {
    let known = this.dataTypes.get(session);
    if (!known) this.dataTypes.set(session, (known = new Map()));
    const cached = known.get(binding.nodeId);
    if (cached !== undefined) return cached;
    let dataType: DataType;
    try {
      dataType = await session.getBuiltInDataType(resolveNodeId(binding.nodeId));
    } catch (error) {
      throw new OpcuaError(
        'OPCUA_WRITE_REJECTED',
        `${binding.nodeId}: reading its data type failed: ${firstLine(error)}`,
      );
    }
    known.set(binding.nodeId, dataType);
    return dataType;
  }
}
