/**
 * What the simulated MES reads and writes: the job the hub delivers for a ProductionOrder (the
 * mes-job mapping's JSON), and the canonical envelopes it sends — its state changes of an order,
 * its own ProductionConfirmations per shift, finished-goods MaterialLots and MaterialConsumptions.
 */
import { randomUUID } from 'node:crypto';
import { LINE } from './scenario';

/** The job JSON of the hub's mes-job mapping (mappings/mes/job.yaml). */
export interface Job {
  jobId: string;
  title?: string;
  line?: string;
  status?: string;
  plannedStart?: string;
  plannedEnd?: string;
  operations?: Array<{
    operation: string;
    workCenter?: string;
    produce?: JobMaterial[];
    consume?: JobMaterial[];
  }>;
}

export interface JobMaterial {
  material: string;
  lot?: string;
  qty?: string;
  uom?: string;
}

/** Why a job cannot be taken (answered 400: the hub dead-letters it). */
export function jobProblems(body: unknown): string[] {
  const job = body as Partial<Job> | null;
  if (typeof job !== 'object' || job === null) return ['/: a job object is required'];
  const problems: string[] = [];
  if (typeof job.jobId !== 'string' || job.jobId === '') problems.push('/jobId: required');
  if (job.operations !== undefined && !Array.isArray(job.operations)) problems.push('/operations: must be an array');
  const produced = (job.operations ?? []).flatMap((operation) => operation.produce ?? []);
  if (produced.length === 0 || !produced[0]?.qty) problems.push('/operations/*/produce: a produced material with qty');
  return problems;
}

/** The line's scope of MES's own documents: the packaging line as a work centre. */
export const LINE_SCOPE = { equipmentId: LINE, equipmentLevel: 'WorkCenter' } as const;

/** A canonical envelope from MES (the hub stamps its own message id and receipt time). */
export function envelope(
  type: string,
  objectKey: string,
  version: number,
  occurredAt: string,
  document: Record<string, unknown>,
) {
  return {
    messageId: randomUUID(),
    type,
    objectKey,
    version,
    sourceSystem: 'mes',
    occurredAt,
    receivedAt: occurredAt,
    document,
  };
}

/**
 * The ProductionOrder as MES has it, from its job, with MES's state. MES owns only `state`: the
 * hub keeps ERP's plan fields whatever MES's copy of them says (it lists differing ones as ignored).
 */
export function orderDocument(job: Job, state: string): Record<string, unknown> {
  const operations = job.operations?.length ? job.operations : [{ operation: '0010' }];
  const quantity = (material: JobMaterial) =>
    material.qty === undefined
      ? {}
      : { quantity: { value: material.qty, ...(material.uom ? { unit: material.uom } : {}) } };
  return {
    id: job.jobId,
    ...(job.title ? { description: job.title } : {}),
    state,
    ...(job.plannedStart ? { startTime: job.plannedStart } : {}),
    ...(job.plannedEnd ? { endTime: job.plannedEnd } : {}),
    segments: operations.map((operation) => ({
      id: operation.operation,
      processSegmentId: operation.operation,
      operationsDefinitionId: job.jobId,
      operationsSegmentId: operation.operation,
      equipment: operation.workCenter ? [{ id: 'ARBPL', equipmentId: operation.workCenter }] : [],
      materials: [
        ...(operation.consume ?? []).map((material, index) => ({
          id: String(index + 1).padStart(4, '0'),
          materialDefinitionId: material.material,
          ...(material.lot ? { materialLotId: material.lot } : {}),
          use: 'Consumed',
          ...quantity(material),
        })),
        ...(operation.produce ?? []).map((material) => ({
          id: 'HEADER',
          materialDefinitionId: material.material,
          use: 'Produced',
          ...quantity(material),
        })),
      ],
    })),
  };
}

/** MES's booking of what an order produced in a shift (or up to its completion). */
export interface Booking {
  id: string;
  orderId: string;
  operation: string;
  material: string;
  unit: string;
  good: number;
  scrap: number;
  start: string;
  end: string;
}

/** The segment response id of a booking (what a consumption refers to). */
export const segmentOf = (booking: Pick<Booking, 'id' | 'operation'>) => `${booking.id}-${booking.operation}`;

export function confirmationDocument(booking: Booking): Record<string, unknown> {
  const produced = (id: string, disposition: 'Good' | 'Scrap', value: number) => ({
    id,
    materialDefinitionId: booking.material,
    use: 'Produced',
    quantity: { value: String(value), unit: booking.unit },
    disposition,
  });
  return {
    id: booking.id,
    orderId: booking.orderId,
    state: 'Completed',
    startTime: booking.start,
    endTime: booking.end,
    hierarchyScope: LINE_SCOPE,
    segments: [
      {
        id: segmentOf(booking),
        segmentRequirementId: booking.operation,
        state: 'Completed',
        actualStartTime: booking.start,
        actualEndTime: booking.end,
        equipment: [{ id: LINE, equipmentId: LINE }],
        personnel: [],
        materials: [produced('good', 'Good', booking.good), produced('scrap', 'Scrap', booking.scrap)],
      },
    ],
  };
}

export function lotDocument(lot: {
  id: string;
  orderId: string;
  n: number;
  material: string;
  unit: string;
  quantity: number;
  fromLots: string[];
}): Record<string, unknown> {
  return {
    id: lot.id,
    description: `Pallet ${lot.n} of order ${lot.orderId}`,
    materialDefinitionId: lot.material,
    status: 'Quarantine',
    storageLocation: `${LINE}-OUT`,
    quantity: { value: String(lot.quantity), unit: lot.unit },
    subLots: [],
    assembledFromLotIds: lot.fromLots,
    properties: [{ id: 'OrderId', value: lot.orderId }],
    hierarchyScope: LINE_SCOPE,
  };
}

export function consumptionDocument(consumption: {
  id: string;
  orderId: string;
  segmentResponseId: string;
  material: string;
  lot?: string;
  quantity: string;
  unit: string;
  storageLocation?: string;
  consumedAt: string;
}): Record<string, unknown> {
  return {
    id: consumption.id,
    orderId: consumption.orderId,
    segmentResponseId: consumption.segmentResponseId,
    materialDefinitionId: consumption.material,
    ...(consumption.lot ? { materialLotId: consumption.lot } : {}),
    quantity: { value: consumption.quantity, unit: consumption.unit },
    ...(consumption.storageLocation ? { storageLocation: consumption.storageLocation } : {}),
    consumedAt: consumption.consumedAt,
    hierarchyScope: LINE_SCOPE,
  };
}
