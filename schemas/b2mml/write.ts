/**
 * Writing canonical documents as B2MML V0700: the noun is chosen by the document types, the
 * verb by the caller, with an ApplicationArea (Sender, CreationDateTime, BODID).
 */
import { randomUUID } from 'node:crypto';
import type { CanonicalEnvelope, CanonicalType, DocumentOf } from '../index';
import { equipmentInformationXml } from './equipment-information';
import { B2mmlError } from './errors';
import { materialInformationXml } from './material-information';
import { downtimeEventXml } from './operations-event';
import { confirmationResponseXml, consumptionResponseXml, operationsPerformanceXml } from './operations-performance';
import { operationsScheduleXml } from './operations-schedule';
import { operationsTestInformationXml } from './operations-test';
import { B2MML_NAMESPACES, type B2mmlVerb } from './release';
import { element, renderXml, type XmlBody } from './xml-build';

export interface WriteOptions {
  verb?: B2mmlVerb;
  /** Sender/LogicalID; defaults to HANDOVER. */
  sender?: string;
  bodId?: string;
  creationDateTime?: string;
}

/** Which V0700 noun carries each canonical type. */
export const NOUN_OF: Record<CanonicalType, string> = {
  ProductionOrder: 'OperationsSchedule',
  MaintenanceRequest: 'OperationsSchedule',
  MaintenanceWorkOrder: 'OperationsSchedule',
  ProductionConfirmation: 'OperationsPerformance',
  MaterialConsumption: 'OperationsPerformance',
  MaterialLot: 'MaterialInformation',
  InventoryMovement: 'MaterialInformation',
  MaterialDefinition: 'MaterialInformation',
  QualityResult: 'OperationsTestInformation',
  DowntimeEvent: 'OperationsEvent',
  Equipment: 'EquipmentInformation',
};

/** The verb each noun uses when the caller names none. */
const DEFAULT_VERB: Record<string, B2mmlVerb> = {
  OperationsSchedule: 'Process',
  OperationsPerformance: 'Sync',
  MaterialInformation: 'Sync',
  OperationsTestInformation: 'Sync',
  OperationsEvent: 'Notify',
  EquipmentInformation: 'Sync',
};

/**
 * Writes envelopes whose types share one B2MML noun as one V0700 document.
 * @example writeB2mml([orderEnvelope], { verb: 'Process' }) // '<?xml …><ProcessOperationsSchedule …>'
 */
export function writeB2mml(envelopes: readonly CanonicalEnvelope[], options: WriteOptions = {}): string {
  if (envelopes.length === 0)
    throw new B2mmlError('B2MML_UNSUPPORTED_TYPE', [{ path: '/', reason: 'nothing to write' }]);
  const nouns = [...new Set(envelopes.map((envelope) => NOUN_OF[envelope.type]))];
  if (nouns.length > 1) {
    throw new B2mmlError('B2MML_MIXED_NOUNS', [
      { path: '/', reason: `the documents need different B2MML nouns (${nouns.join(', ')}); write them separately` },
    ]);
  }
  const noun = nouns[0]!;
  // NotifyOperationsEvent is the only verb B2MML defines for OperationsEvent.
  const verb = noun === 'OperationsEvent' ? 'Notify' : (options.verb ?? DEFAULT_VERB[noun]!);
  const bodId = options.bodId ?? randomUUID();
  const body = element({
    ApplicationArea: element({
      Sender: element({ LogicalID: options.sender ?? 'HANDOVER' }),
      CreationDateTime: options.creationDateTime ?? new Date().toISOString(),
      BODID: bodId,
    }),
    DataArea: element({
      [verb === 'Notify' ? 'Sync' : verb]: '',
      [noun]: nounBody(noun, envelopes, bodId),
    }),
  });
  return renderXml(`${verb}${noun}`, { $: { xmlns: B2MML_NAMESPACES.V0700, releaseID: 'V0700' }, ...body } as XmlBody);
}

function nounBody(noun: string, envelopes: readonly CanonicalEnvelope[], bodId: string): XmlBody | XmlBody[] {
  const of = <T extends CanonicalType>(type: T) =>
    envelopes.filter((envelope) => envelope.type === type).map((envelope) => envelope.document as DocumentOf[T]);
  const first = envelopes[0]!.document as { scheduleId?: string; performanceId?: string };
  switch (noun) {
    case 'OperationsSchedule':
      return operationsScheduleXml(
        first.scheduleId ?? `SCHED-${bodId}`,
        envelopes.map((envelope) => envelope.document as DocumentOf['ProductionOrder']),
        envelopes.map((envelope) => envelope.type as 'ProductionOrder'),
        envelopes.map((envelope) => envelope.version),
      );
    case 'OperationsPerformance':
      return operationsPerformanceXml(
        first.performanceId ?? `PERF-${bodId}`,
        first.scheduleId,
        envelopes.map((envelope) =>
          envelope.type === 'ProductionConfirmation'
            ? confirmationResponseXml(envelope.document, envelope.version)
            : consumptionResponseXml(envelope.document as DocumentOf['MaterialConsumption']),
        ),
      );
    case 'MaterialInformation':
      return materialInformationXml(`MAT-${bodId}`, {
        definitions: of('MaterialDefinition'),
        lots: of('MaterialLot'),
        movements: of('InventoryMovement'),
      });
    case 'OperationsTestInformation':
      return operationsTestInformationXml(`TEST-${bodId}`, of('QualityResult'));
    case 'OperationsEvent':
      return envelopes.map((envelope) =>
        downtimeEventXml(envelope.document as DocumentOf['DowntimeEvent'], envelope.version),
      );
    default:
      return equipmentInformationXml(`EQ-${bodId}`, of('Equipment'));
  }
}
