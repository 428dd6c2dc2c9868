/**
 * What the QMS / LIMS sends the hub: its test results as LIMS JSON (mapping qms-lims-result) — in
 * specification, failing one, or in the shape a firmware quirk gives — and the canonical
 * ProductionOrder envelope with which it tries to change a plan it does not own.
 */
import { CASES_PER_PALLET, type PlannedOrder } from './scenario';
import { plantIso } from './wms-qms-cmms-bi-store';

/** The finished good's test specification: each check with its limits and target. */
export const SPECIFICATION = {
  id: 'TS-FG-500-01',
  checks: {
    fillVolume: { parameter: 'FillVolume', unit: 'ml', low: '495', high: '505', target: '500' },
    capTorque: { parameter: 'CapTorque', unit: 'Ncm', low: '12', high: '20', target: '16' },
    labelPosition: { parameter: 'LabelPosition', unit: 'mm', low: '-1.5', high: '1.5', target: '0' },
  },
} as const;

/** A cap torque below the specification's low limit: what the failing check measures. */
export const FAILING_CAP_TORQUE = '9.4';

export interface LimsLine {
  parameter: string;
  /** The measured value, verbatim (absent in the firmware quirk's line: see withFirmwareQuirk). */
  value?: string;
  /** The firmware quirk's reading: the value keyed by its unit. */
  reading?: Record<string, number>;
  unit: string;
  low: string;
  high: string;
  target: string;
  measuredAt: string;
}

export interface LimsResult {
  resultId: string;
  sampleId: string;
  specification: string;
  lot: string;
  order?: string;
  approvedAt: string;
  /** A: accepted, R: rejected. */
  disposition: 'A' | 'R';
  results: LimsLine[];
}

/** The pallet number of a finished-goods lot (`FG-<order>-<nn>`). */
export function lotIndex(lot: string): number | undefined {
  const match = /^FG-\d{7}-(\d{2})$/.exec(lot);
  return match ? Number(match[1]) : undefined;
}

/** Three numbers in [0, 1) that a lot always gets, so a rerun measures the same. */
function spread(lot: string): [number, number, number] {
  let hash = 2166136261;
  for (const char of lot) hash = Math.imul(hash ^ char.charCodeAt(0), 16777619) >>> 0;
  return [(hash & 0x3ff) / 1024, ((hash >>> 10) & 0x3ff) / 1024, ((hash >>> 20) & 0x3ff) / 1024];
}

const decimal = (value: number) => {
  const text = value.toFixed(1);
  return text === '-0.0' ? '0.0' : text;
};

/**
 * The LIMS result of a lot's sample: fill volume, cap torque and label position measured two plant
 * minutes before approval, inside the limits; a failing one has its cap torque below them (R).
 */
export function limsResult(options: {
  lot: string;
  sampleId: string;
  orderId: string | undefined;
  approvedAt: number;
  failing: boolean;
  resultId?: string;
}): LimsResult {
  const [fill, torque, label] = spread(options.lot);
  const { fillVolume, capTorque, labelPosition } = SPECIFICATION.checks;
  const measuredAt = plantIso(options.approvedAt - 120_000);
  return {
    resultId: options.resultId ?? `QR-${options.lot}`,
    sampleId: options.sampleId,
    specification: SPECIFICATION.id,
    lot: options.lot,
    ...(options.orderId ? { order: options.orderId } : {}),
    approvedAt: plantIso(options.approvedAt),
    disposition: options.failing ? 'R' : 'A',
    results: [
      { ...fillVolume, value: decimal(497 + fill * 6), measuredAt },
      { ...capTorque, value: options.failing ? FAILING_CAP_TORQUE : decimal(14 + torque * 4), measuredAt },
      { ...labelPosition, value: decimal(label * 2 - 1), measuredAt },
    ],
  };
}

/**
 * The same result as a LIMS firmware update sends it: the fill volume's reading as an object keyed
 * by its unit (`"reading": { "ml": 500.2 }`) instead of its `value`. The qms-lims-result mapping at
 * version 1 makes a measurement without a value of it (MAPPING_OUTPUT_INVALID: a dead letter);
 * version 2 (mappings/qms/lims-result-v2.yaml.fixed) takes it.
 */
export function withFirmwareQuirk(result: LimsResult): LimsResult {
  return {
    ...result,
    results: result.results.map((line) => {
      if (line.parameter !== SPECIFICATION.checks.fillVolume.parameter || line.value === undefined) return line;
      const { value, ...rest } = line;
      return { ...rest, reading: { [line.unit]: Number(value) } };
    }),
  };
}

/**
 * QMS's attempt to hold back one pallet of `order` by lowering its planned quantity: a canonical
 * ProductionOrder envelope from `qms`, which owns no part of a ProductionOrder (the hub rejects it).
 */
export function quantityChange(order: PlannedOrder, objectKey: string, at: number) {
  const cases = Math.max(order.quantity - CASES_PER_PALLET, 1);
  return {
    messageId: `qms-${objectKey}-quantity-${at}`,
    type: 'ProductionOrder',
    objectKey,
    verb: 'Change',
    sourceSystem: 'qms',
    occurredAt: plantIso(at),
    receivedAt: plantIso(at),
    document: {
      id: objectKey,
      description: 'Quality hold: one pallet less',
      segments: [
        {
          id: '0010',
          processSegmentId: 'PACKING',
          operationsDefinitionId: 'FG-500',
          operationsSegmentId: '0010',
          equipment: [],
          materials: [
            {
              id: 'HEADER',
              materialDefinitionId: 'FG-500',
              use: 'Produced',
              quantity: { value: String(cases), unit: 'CS' },
            },
          ],
        },
      ],
    },
  };
}
