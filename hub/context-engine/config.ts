/**
 * The `context` section of the hub's configuration: the lines and work units the engine keeps
 * state for, their signals, the reason catalogue, the shift calendar and the classification
 * settings. Validated with the rest of the file at start-up.
 */
import { Type, type Static } from '@sinclair/typebox';
import { isTimeZone, localDateTime, overlappingShifts } from './shifts';
import { STATE_MAP_NAMES } from './state-maps';

const EquipmentId = Type.String({
  minLength: 1,
  maxLength: 100,
  pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$',
  description: 'ISA-95 equipment id',
  examples: ['FILLER-01'],
});

const SignalName = Type.String({
  minLength: 1,
  maxLength: 100,
  description: 'The `signal` name of the signal messages that carry it (the connector’s binding)',
});

export const CounterConfig = Type.Object(
  {
    signal: SignalName,
    kind: Type.Union([Type.Literal('good'), Type.Literal('reject'), Type.Literal('total')], {
      description: 'What the counter counts: good units, rejected units, or all units (good = total − reject)',
    }),
    rollover: Type.Optional(
      Type.Integer({
        minimum: 2,
        description:
          'The value at which the counter wraps to 0 (65536 for a 16-bit counter); without it a drop is a reset',
        examples: [65536],
      }),
    ),
    maxPerSecond: Type.Optional(
      Type.Number({
        exclusiveMinimum: 0,
        description: 'Largest plausible rate; a rise faster than this is refused (COUNTER_IMPLAUSIBLE), not booked',
        examples: [50],
      }),
    ),
  },
  { additionalProperties: false, description: 'A counter signal of a work unit' },
);
export type CounterConfig = Static<typeof CounterConfig>;

export const WorkUnitConfig = Type.Object(
  {
    id: EquipmentId,
    equipmentClass: Type.Optional(
      Type.String({ minLength: 1, description: 'Equipment class: selects reason codes', examples: ['capper'] }),
    ),
    idealCycleSeconds: Type.Number({
      exclusiveMinimum: 0,
      description: 'Planned run time per unit (PRU, ISO 22400-2), in seconds',
      examples: [0.5],
    }),
    stateMap: Type.Union(
      STATE_MAP_NAMES.map((name) => Type.Literal(name)),
      { default: 'packml', description: 'How state and mode numbers read' },
    ),
    signals: Type.Object(
      {
        state: Type.Optional(SignalName),
        mode: Type.Optional(SignalName),
        stopReason: Type.Optional(SignalName),
        counters: Type.Array(CounterConfig, { default: [] }),
      },
      {
        additionalProperties: false,
        description: 'Which signals carry the unit’s state, mode, stop reason and counts',
      },
    ),
  },
  { additionalProperties: false, description: 'A work unit whose signals the engine turns into events' },
);
export type WorkUnitConfig = Static<typeof WorkUnitConfig>;

export const LineConfig = Type.Object(
  {
    id: EquipmentId,
    site: Type.Optional(EquipmentId),
    area: Type.Optional(EquipmentId),
    workUnits: Type.Array(WorkUnitConfig, {
      minItems: 1,
      description: 'In flow order: the last one counts the line’s output',
    }),
  },
  { additionalProperties: false, description: 'A line (ISA-95 WorkCenter) and its work units' },
);
export type LineConfig = Static<typeof LineConfig>;

const LocalTime = Type.String({ pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$', description: 'Local time, HH:MM' });

export const ShiftConfig = Type.Object(
  {
    id: Type.String({ pattern: '^[A-Za-z0-9_-]{1,40}$', description: 'Shift name', examples: ['early'] }),
    start: LocalTime,
    hours: Type.Number({ exclusiveMinimum: 0, maximum: 24, description: 'Length in local hours' }),
    breaks: Type.Array(
      Type.Object(
        {
          start: LocalTime,
          minutes: Type.Integer({ minimum: 1, maximum: 1440 }),
        },
        { additionalProperties: false },
      ),
      { default: [], description: 'Planned breaks: planned downtime, outside planned busy time' },
    ),
  },
  { additionalProperties: false, description: 'A shift that starts every day at the same local time' },
);
export type ShiftConfig = Static<typeof ShiftConfig>;

export const PlannedDowntimeConfig = Type.Object(
  {
    id: Type.String({ pattern: '^[A-Za-z0-9_-]{1,40}$', description: 'Name of the entry', examples: ['pm-capper'] }),
    start: Type.String({
      pattern: '^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]$',
      description: 'Local date-time in the plant’s time zone, YYYY-MM-DDTHH:MM',
      examples: ['2026-12-03T13:00'],
    }),
    minutes: Type.Integer({ minimum: 1, maximum: 44640, description: 'How long, in real (elapsed) minutes' }),
    equipment: Type.Optional(
      Type.Array(EquipmentId, {
        minItems: 1,
        description: 'Work units or lines (a line stands for all its work units); without it, all equipment',
      }),
    ),
    reason: Type.Optional(
      Type.String({ minLength: 1, maxLength: 200, description: 'Why', examples: ['Preventive maintenance'] }),
    ),
  },
  {
    additionalProperties: false,
    description: 'Planned downtime on a date: outside planned busy time (PDOT) for the equipment it names',
  },
);
export type PlannedDowntimeConfig = Static<typeof PlannedDowntimeConfig>;

export const ReasonConfig = Type.Object(
  {
    code: Type.String({ minLength: 1, maxLength: 40, description: 'The code the PLC sends', examples: ['17'] }),
    name: Type.String({ minLength: 1, description: 'What operators read', examples: ['Cap feed jam'] }),
    category: Type.Union(
      [Type.Literal('availability'), Type.Literal('performance'), Type.Literal('quality'), Type.Literal('excluded')],
      { description: 'ISO 22400 loss the stop counts as' },
    ),
    equipmentClass: Type.Optional(
      Type.String({ minLength: 1, description: 'Only for this equipment class; without it, for every class' }),
    ),
  },
  { additionalProperties: false, description: 'A stop reason of the catalogue' },
);
export type ReasonConfig = Static<typeof ReasonConfig>;

export const MaintenanceRule = Type.Object(
  {
    id: Type.String({ pattern: '^[a-z][a-z0-9-]{0,39}$', description: 'Rule id', examples: ['recurring-fault'] }),
    repeated: Type.Optional(
      Type.Object(
        {
          stops: Type.Integer({ minimum: 2, default: 3, description: 'Stops with the same reason…' }),
          withinMinutes: Type.Number({ exclusiveMinimum: 0, default: 30, description: '…within this many minutes' }),
        },
        { additionalProperties: false },
      ),
    ),
    persists: Type.Optional(
      Type.Object(
        { minutes: Type.Number({ exclusiveMinimum: 0, description: 'A stop that lasts this long' }) },
        { additionalProperties: false },
      ),
    ),
    equipmentClass: Type.Optional(Type.String({ minLength: 1, description: 'Only for this equipment class' })),
    priority: Type.Optional(Type.Integer({ minimum: 1, maximum: 9, description: 'Priority of the request' })),
  },
  {
    additionalProperties: false,
    description:
      'Raises one MaintenanceRequest when it fires; further occurrences while the request is open are attached to it',
  },
);
export type MaintenanceRule = Static<typeof MaintenanceRule>;

export const ContextConfig = Type.Object(
  {
    system: Type.String({
      pattern: '^[a-z][a-z0-9-]{0,39}$',
      default: 'line-context',
      description:
        'The system the engine publishes its documents as (declared under systems, owner by the ownership rules)',
    }),
    sources: Type.Array(Type.String({ pattern: '^[a-z][a-z0-9-]{0,39}$' }), {
      minItems: 1,
      description: 'Systems whose signal messages feed the engine',
      examples: [['scada']],
    }),
    timeZone: Type.String({ minLength: 1, description: 'The plant’s IANA time zone', examples: ['Europe/Berlin'] }),
    shifts: Type.Array(ShiftConfig, { default: [], description: 'The shift calendar; time outside shifts is NoShift' }),
    plannedDowntime: Type.Array(PlannedDowntimeConfig, {
      default: [],
      description: 'Planned downtime on dates, besides the shifts’ breaks (entries may overlap each other and breaks)',
    }),
    microStopSeconds: Type.Number({
      minimum: 0,
      default: 120,
      description: 'An unclassified stop of at most this long is a micro-stop (a speed loss)',
    }),
    ignoreBelowSeconds: Type.Number({
      minimum: 0,
      default: 0,
      description:
        'Stops and runs shorter than this are noise: a short stop is absorbed into the run around it, a short run between two stops into the stop',
    }),
    isoStrict: Type.Boolean({
      default: false,
      description: 'Book micro-stops as delay time (ISO 22400 ADET) instead of a speed loss',
    }),
    latenessSeconds: Type.Number({
      minimum: 0,
      default: 10,
      description:
        'How late signals may arrive: a silent line’s event time follows the wall clock this far behind its last signal',
    }),
    clockEverySeconds: Type.Number({
      minimum: 0.1,
      default: 5,
      description: 'How often a worker process moves silent lines’ event time on',
    }),
    countEverySeconds: Type.Integer({
      minimum: 1,
      default: 60,
      description: 'How often counts become a ProductionConfirmation of the running order (and at order end)',
    }),
    reasons: Type.Array(ReasonConfig, { default: [] }),
    maintenanceRules: Type.Array(MaintenanceRule, { default: [] }),
    reasonEditors: Type.Array(Type.String({ pattern: '^[a-z][a-z0-9-]{0,39}$' }), {
      default: [],
      description: 'Systems whose token may assign or correct a stop’s reason (operators always may)',
      examples: [['mes']],
    }),
    lines: Type.Array(LineConfig, { minItems: 1 }),
  },
  { additionalProperties: false, description: 'The operational-context engine: signals in context' },
);

export type ContextConfig = Static<typeof ContextConfig>;

/**
 * Problems a schema cannot see: systems declared, a known time zone, shifts apart, ids once each,
 * planned downtime at local times that exist and on declared equipment.
 */
export function contextProblems(
  context: ContextConfig,
  knownSystem: (id: string, path: string) => void,
): Array<{ path: string; reason: string }> {
  const problems: Array<{ path: string; reason: string }> = [];
  knownSystem(context.system, '/context/system');
  context.sources.forEach((source, index) => knownSystem(source, `/context/sources/${index}`));
  context.reasonEditors.forEach((editor, index) => knownSystem(editor, `/context/reasonEditors/${index}`));
  if (!isTimeZone(context.timeZone))
    problems.push({ path: '/context/timeZone', reason: `"${context.timeZone}" is not an IANA time zone` });
  for (const reason of overlappingShifts(context.shifts)) problems.push({ path: '/context/shifts', reason });
  const ids = new Set<string>();
  const once = (id: string, path: string) => {
    if (ids.has(id)) problems.push({ path, reason: `equipment "${id}" is declared twice` });
    ids.add(id);
  };
  context.lines.forEach((line, l) => {
    once(line.id, `/context/lines/${l}/id`);
    line.workUnits.forEach((unit, u) => {
      once(unit.id, `/context/lines/${l}/workUnits/${u}/id`);
      const { state, mode, stopReason, counters } = unit.signals;
      const names = [state, mode, stopReason, ...counters.map((counter) => counter.signal)].filter(
        (name): name is string => name !== undefined,
      );
      const repeated = names.find((name, index) => names.indexOf(name) !== index);
      if (repeated)
        problems.push({
          path: `/context/lines/${l}/workUnits/${u}/signals`,
          reason: `signal "${repeated}" is bound twice`,
        });
    });
  });
  context.maintenanceRules.forEach((rule, index) => {
    if ((rule.repeated === undefined) === (rule.persists === undefined))
      problems.push({ path: `/context/maintenanceRules/${index}`, reason: 'give either repeated or persists' });
  });
  problems.push(...plannedDowntimeProblems(context, ids));
  const reasons = new Set<string>();
  context.reasons.forEach((reason, index) => {
    const key = `${reason.code}@${reason.equipmentClass ?? ''}`;
    if (reasons.has(key))
      problems.push({ path: `/context/reasons/${index}/code`, reason: `reason "${reason.code}" is declared twice` });
    reasons.add(key);
  });
  return problems;
}

/** Planned downtime that names equipment the context does not declare, or a date-time that is no such local time. */
function plannedDowntimeProblems(
  context: ContextConfig,
  equipment: Set<string>,
): Array<{ path: string; reason: string }> {
  const problems: Array<{ path: string; reason: string }> = [];
  const ids = new Set<string>();
  context.plannedDowntime.forEach((entry, index) => {
    const path = `/context/plannedDowntime/${index}`;
    if (ids.has(entry.id))
      problems.push({ path: `${path}/id`, reason: `planned downtime "${entry.id}" is declared twice` });
    ids.add(entry.id);
    if (isTimeZone(context.timeZone) && Number.isNaN(localDateTime(context.timeZone, entry.start)))
      problems.push({ path: `${path}/start`, reason: `${entry.start} is no local time in ${context.timeZone}` });
    (entry.equipment ?? []).forEach((id, e) => {
      if (!equipment.has(id))
        problems.push({
          path: `${path}/equipment/${e}`,
          reason: `"${id}" is no line or work unit under context.lines`,
        });
    });
  });
  return problems;
}
