/** B2MML releases Handover reads and writes, their namespaces, verbs and the nouns it understands. */
import { VERBS, type Verb } from '../envelope';

export const B2MML_NAMESPACES = {
  V0700: 'http://www.mesa.org/xml/B2MML',
  V0600: 'http://www.mesa.org/xml/B2MML-V0600',
} as const;
export type Release = keyof typeof B2MML_NAMESPACES;

/** OAGIS verbs that prefix a B2MML root element (ProcessOperationsSchedule = Process + OperationsSchedule). */
export const B2MML_VERBS = VERBS;
export type B2mmlVerb = Verb;

/** Nouns Handover reads, per release. */
export const READABLE_NOUNS = {
  V0700: [
    'OperationsSchedule',
    'OperationsPerformance',
    'MaterialInformation',
    'OperationsTestInformation',
    'OperationsEvent',
    'EquipmentInformation',
  ],
  V0600: ['ProductionSchedule', 'ProductionPerformance'],
} as const satisfies Record<Release, readonly string[]>;

/** Splits a root element name into verb and noun; the verb is undefined when it is not a B2MML verb. */
export function splitRootName(name: string): { verb?: B2mmlVerb; noun: string } {
  const verb = B2MML_VERBS.find((candidate) => name.startsWith(candidate) && name.length > candidate.length);
  if (verb) return { verb, noun: name.slice(verb.length) };
  const noun = Object.values(READABLE_NOUNS)
    .flat()
    .find((candidate) => name.endsWith(candidate));
  return { noun: noun ?? name };
}
