/**
 * OperationsEvent ⇄ DowntimeEvent. B2MML has no downtime element: the event's first Category
 * is `Downtime` or `Downtime.<loss category>`; reason, order, material and shift travel as
 * `Reason:`, `Order:`, `Material:`, `Shift:`, `Operation:` and `Kind:` categories; the end is a child
 * event `<id>.End` (a duration is the end less the start, and is not carried).
 */
import { EQUIPMENT_LEVELS } from '../common';
import type { DowntimeEvent } from '../index';
import { hierarchyScopeXml } from './common-elements';
import { readDocument, type ReadDocument } from './read-result';
import { compact, XmlCursor } from './xml-cursor';
import { element, type XmlBody } from './xml-build';

const DOWNTIME = 'Downtime';
const END_CATEGORY = 'Downtime.End';
const CONTEXT_CATEGORIES = {
  Reason: 'reasonCode',
  Order: 'orderId',
  Material: 'materialDefinitionId',
  Shift: 'shift',
  Operation: 'operationId',
  Kind: 'stopKind',
} as const;

/** Reads every OperationsEvent whose category marks it as downtime; other events carry no canonical document. */
export function readOperationsEvents(dataArea: XmlCursor): ReadDocument[] {
  return dataArea
    .all('OperationsEvent')
    .filter((event) => event.texts('Category').some(isDowntimeCategory))
    .map(readDowntime);
}

function isDowntimeCategory(category: string): boolean {
  return category === DOWNTIME || (category.startsWith(`${DOWNTIME}.`) && category !== END_CATEGORY);
}

function readDowntime(event: XmlCursor): ReadDocument<'DowntimeEvent'> {
  const categories = event.texts('Category');
  const downtime = categories.find(isDowntimeCategory) ?? DOWNTIME;
  const context: Partial<Record<(typeof CONTEXT_CATEGORIES)[keyof typeof CONTEXT_CATEGORIES], string>> = {};
  for (const category of categories) {
    const separator = category.indexOf(':');
    const key = category.slice(0, separator) as keyof typeof CONTEXT_CATEGORIES;
    if (separator > 0 && key in CONTEXT_CATEGORIES) context[CONTEXT_CATEGORIES[key]] = category.slice(separator + 1);
  }
  const scope = event.hierarchyScope(EQUIPMENT_LEVELS);
  const equipmentId = scope?.equipmentId ?? event.text('Source');
  if (!equipmentId) event.report(`${event.path}/HierarchyScope`, 'required (the equipment that stopped)');
  const startTime = event.dateTime('EffectiveTimeStamp');
  if (!event.text('EffectiveTimeStamp'))
    event.report(`${event.path}/EffectiveTimeStamp`, 'required (when the stop began)');
  const end = event.all('OperationsEventChild').find((child) => child.texts('Category').includes(END_CATEGORY));
  const document: DowntimeEvent = compact({
    id: event.requiredText('ID'),
    description: event.text('Description'),
    equipmentId: equipmentId ?? '',
    equipmentLevel: scope?.equipmentLevel ?? 'Other',
    startTime: startTime ?? '',
    endTime: end?.dateTime('EffectiveTimeStamp'),
    recordedAt: event.dateTime('RecordTimeStamp'),
    lossCategory: downtime === DOWNTIME ? undefined : downtime.slice(DOWNTIME.length + 1),
    // A Kind: outside STOP_KINDS is reported by the canonical schema.
    ...(context as Partial<DowntimeEvent>),
  });
  return readDocument('DowntimeEvent', document, event.path, {
    occurredAt: document.endTime ?? document.startTime,
    version: event.integer('Version'),
  });
}

/** One OperationsEvent for a downtime event. */
export function downtimeEventXml(event: DowntimeEvent, version: number | undefined): XmlBody {
  const context = Object.entries(CONTEXT_CATEGORIES).flatMap(([prefix, field]) => {
    const value = event[field];
    return value === undefined ? [] : [`${prefix}:${value}`];
  });
  return element({
    ID: event.id,
    Description: event.description,
    Version: version?.toString(),
    HierarchyScope: hierarchyScopeXml({ equipmentId: event.equipmentId, equipmentLevel: event.equipmentLevel }),
    EffectiveTimeStamp: event.startTime,
    RecordTimeStamp: event.recordedAt,
    OperationsEventType: 'Event',
    OperationsType: 'Production',
    Category: [event.lossCategory === undefined ? DOWNTIME : `${DOWNTIME}.${event.lossCategory}`, ...context],
    Source: event.equipmentId,
    OperationsEventChild:
      event.endTime === undefined
        ? undefined
        : element({
            ID: `${event.id}.End`,
            EffectiveTimeStamp: event.endTime,
            OperationsEventType: 'Event',
            Category: END_CATEGORY,
          }),
  });
}
