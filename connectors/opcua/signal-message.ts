/**
 * Turns one OPC UA data change into the JSON signal message the connector emits: the bound equipment
 * and signal, the value as plain JSON, its quality and its timestamps.
 */
import { DataType, VariantArrayType, type DataValue, type StatusCode, type Variant } from 'node-opcua';
import type { InboundPayload } from '../types';
import type { SignalBinding } from './config';

/** JSON a variable's value becomes. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** OPC UA status severity, from the two top bits of the status code. */
export type SignalQuality = 'good' | 'uncertain' | 'bad';

/** The body of every payload the connector emits. */
export interface SignalMessage {
  kind: 'signal';
  equipmentId: string;
  signal: string;
  nodeId: string;
  value: JsonValue;
  quality: SignalQuality;
  /** Symbolic name of the status code, e.g. `Good`, `UncertainLastUsableValue`, `BadCommunicationError`. */
  statusCode: string;
  /** ISO 8601 UTC, as the device stamped the value; null when the server gives none. */
  sourceTimestamp: string | null;
  serverTimestamp: string | null;
}

/** The quality a status code stands for. */
export function qualityOf(statusCode: StatusCode): SignalQuality {
  const severity = statusCode.value >>> 30;
  return severity === 0 ? 'good' : severity === 1 ? 'uncertain' : 'bad';
}

function isoOrNull(date: Date | null | undefined): string | null {
  return date instanceof Date && !Number.isNaN(date.getTime()) ? date.toISOString() : null;
}

function int64(value: unknown, signed: boolean): string {
  if (Array.isArray(value) && value.length === 2) {
    const bits = (BigInt(value[0] as number) << 32n) | BigInt(value[1] as number);
    return (signed ? BigInt.asIntN(64, bits) : BigInt.asUintN(64, bits)).toString();
  }
  return String(value);
}

function scalar(dataType: DataType, value: unknown): JsonValue {
  if (value === null || value === undefined) return null;
  switch (dataType) {
    case DataType.Int64:
      return int64(value, true);
    case DataType.UInt64:
      return int64(value, false);
    case DataType.DateTime:
      return isoOrNull(value as Date);
    case DataType.ByteString:
      return Buffer.isBuffer(value) ? value.toString('base64') : null;
    case DataType.LocalizedText:
      return (value as { text?: string | null }).text ?? null;
    case DataType.QualifiedName:
    case DataType.NodeId:
    case DataType.ExpandedNodeId:
    case DataType.StatusCode:
      return String(value);
    case DataType.ExtensionObject:
      return JSON.parse(JSON.stringify(value)) as JsonValue;
  }
  if (typeof value === 'number') return Number.isFinite(value) ? value : String(value);
  if (typeof value === 'boolean' || typeof value === 'string') return value;
  return String(value);
}

/**
 * A variant's value as JSON: numbers, booleans and strings as they are, Int64/UInt64 as decimal
 * strings (JSON numbers lose precision past 2^53), DateTime as ISO 8601, ByteString as base64,
 * NaN and infinities as strings; arrays and matrices as (flat) arrays.
 */
export function jsonValueOf(variant: Variant): JsonValue {
  const { dataType, value } = variant;
  if (
    variant.arrayType !== VariantArrayType.Scalar &&
    value !== null &&
    value !== undefined &&
    typeof value === 'object'
  ) {
    return Array.from(value as ArrayLike<unknown>, (item) => scalar(dataType, item));
  }
  return scalar(dataType, value);
}

/** Builds the signal message for one data change of a bound variable. */
export function toSignalMessage(binding: SignalBinding, dataValue: DataValue): SignalMessage {
  return {
    kind: 'signal',
    equipmentId: binding.equipmentId,
    signal: binding.signal,
    nodeId: binding.nodeId,
    value: jsonValueOf(dataValue.value),
    quality: qualityOf(dataValue.statusCode),
    statusCode: dataValue.statusCode.name,
    sourceTimestamp: isoOrNull(dataValue.sourceTimestamp),
    serverTimestamp: isoOrNull(dataValue.serverTimestamp),
  };
}

/**
 * The payload handed to the hub. The idempotency key is `<nodeId>@<sourceTimestamp>` so a change
 * the server sends again (after a re-subscription, the current value of every item is sent anew) is
 * recognised; without a source timestamp the server timestamp stands in, and without either there is
 * no key.
 */
export function toInboundPayload(system: string, message: SignalMessage): InboundPayload {
  const stamp = message.sourceTimestamp ?? message.serverTimestamp;
  return {
    system,
    contentType: 'json',
    body: JSON.stringify(message),
    ...(stamp === null ? {} : { idempotencyKey: `${message.nodeId}@${stamp}` }),
  };
}
