/**
 * Reading B2MML documents (V0700, and V0600 schedules and performances) into canonical
 * envelopes: safe parse, root and namespace checks, the noun's reader, then schema validation.
 */
import { randomUUID } from 'node:crypto';
import type { CanonicalEnvelope } from '../index';
import type { Problem } from '../problem';
import { validateDocument } from '../validate';
import { readEquipmentInformation } from './equipment-information';
import { B2mmlError } from './errors';
import { readMaterialInformation } from './material-information';
import { readOperationsEvents } from './operations-event';
import { readOperationsPerformances } from './operations-performance';
import { readOperationsSchedules } from './operations-schedule';
import { readOperationsTestInformation } from './operations-test';
import type { ReadDocument } from './read-result';
import { B2MML_NAMESPACES, B2MML_VERBS, READABLE_NOUNS, splitRootName, type B2mmlVerb, type Release } from './release';
import { readProductionPerformances, readProductionSchedules } from './v0600';
import { XmlCursor } from './xml-cursor';
import { DEFAULT_XML_LIMITS, parseXml, type XmlElement, type XmlLimits } from './xml-parse';

/** The sender's ApplicationArea. */
export interface ApplicationArea {
  sender?: string;
  creationDateTime: string;
  bodId?: string;
}

/** A read document: its B2MML identity and the canonical envelopes it carries. */
export interface B2mmlReadResult {
  release: Release;
  verb: B2mmlVerb;
  noun: string;
  applicationArea: ApplicationArea;
  envelopes: CanonicalEnvelope[];
}

export interface ReadOptions {
  /** The authenticated source system; defaults to ApplicationArea/Sender/LogicalID. */
  sourceSystem?: string;
  /** When the hub received the document; defaults to now. */
  receivedAt?: string;
  limits?: XmlLimits;
}

const READERS: Record<string, (dataArea: XmlCursor) => ReadDocument[]> = {
  OperationsSchedule: readOperationsSchedules,
  OperationsPerformance: readOperationsPerformances,
  MaterialInformation: readMaterialInformation,
  OperationsTestInformation: readOperationsTestInformation,
  OperationsEvent: readOperationsEvents,
  EquipmentInformation: readEquipmentInformation,
  ProductionSchedule: readProductionSchedules,
  ProductionPerformance: readProductionPerformances,
};

/**
 * Reads a B2MML document into canonical envelopes, or throws a {@link B2mmlError} listing
 * every problem with its path.
 * @example readB2mml(xml).envelopes[0].type // 'ProductionOrder'
 */
export function readB2mml(xml: string | Buffer, options: ReadOptions = {}): B2mmlReadResult {
  const root = XmlCursor.root(parseXml(xml, options.limits ?? DEFAULT_XML_LIMITS));
  const { release, verb, noun } = identify(root);

  const area = root.required('ApplicationArea');
  const applicationArea: ApplicationArea = {
    creationDateTime: area?.dateTime('CreationDateTime') ?? area?.requiredText('CreationDateTime') ?? '',
  };
  const sender = area?.one('Sender')?.text('LogicalID');
  if (sender !== undefined) applicationArea.sender = sender;
  const bodId = area?.text('BODID');
  if (bodId !== undefined) applicationArea.bodId = bodId;

  const dataArea = root.required('DataArea');
  const documents = dataArea ? READERS[noun]!(dataArea) : [];
  if (dataArea && documents.length === 0 && root.problems.length === 0 && noun !== 'OperationsEvent') {
    root.report(`${dataArea.path}/${noun}`, 'required (at least one)');
  }
  // The reader's own problems point at XML elements; the canonical check is the safety net behind them.
  if (root.problems.length === 0) documents.forEach((read) => root.problems.push(...canonicalProblems(read)));
  if (root.problems.length > 0) throw new B2mmlError('B2MML_INVALID', root.problems);

  const receivedAt = options.receivedAt ?? new Date().toISOString();
  const sourceSystem = options.sourceSystem ?? applicationArea.sender ?? 'unknown';
  const envelopes = documents.map((read) => {
    const envelope = {
      messageId: randomUUID(),
      type: read.type,
      objectKey: read.document.id,
      verb,
      sourceSystem,
      occurredAt: read.occurredAt ?? applicationArea.creationDateTime,
      receivedAt,
      document: read.document,
    } as CanonicalEnvelope;
    if (read.version !== undefined) envelope.version = read.version;
    if (applicationArea.bodId !== undefined) envelope.correlationId = applicationArea.bodId;
    return envelope;
  });
  return { release, verb, noun, applicationArea, envelopes };
}

/**
 * Throws the {@link B2mmlError} that {@link readB2mml} would for this root (unknown root, verb or
 * namespace), without reading the rest: the door uses it to refuse what no stage could read.
 * @example assertB2mmlRoot(parseXml('<hello/>')) // throws B2MML_UNKNOWN_ROOT: <hello> is not a B2MML document…
 */
export function assertB2mmlRoot(root: XmlElement): void {
  identify(XmlCursor.root(root));
}

function identify(root: XmlCursor): { release: Release; verb: B2mmlVerb; noun: string } {
  const { name, uri } = root.element;
  const release = (Object.keys(B2MML_NAMESPACES) as Release[]).find((key) => B2MML_NAMESPACES[key] === uri);
  const { verb, noun } = splitRootName(name);
  const known =
    (READABLE_NOUNS.V0700 as readonly string[]).includes(noun) ||
    (READABLE_NOUNS.V0600 as readonly string[]).includes(noun);
  if (!known) {
    throw new B2mmlError('B2MML_UNKNOWN_ROOT', [
      {
        path: `/${name}`,
        reason: `<${name}> is not a B2MML document: expected a verb (${B2MML_VERBS.join(', ')}) followed by one of ${[...READABLE_NOUNS.V0700, ...READABLE_NOUNS.V0600].join(', ')}`,
      },
    ]);
  }
  if (!verb) {
    throw new B2mmlError('B2MML_UNKNOWN_VERB', [
      {
        path: `/${name}`,
        reason: `"${name.slice(0, name.length - noun.length)}" is not one of ${B2MML_VERBS.join(', ')}`,
      },
    ]);
  }
  if (!release) {
    const expected = Object.values(B2MML_NAMESPACES).join(' or ');
    throw new B2mmlError('B2MML_WRONG_NAMESPACE', [
      { path: `/${name}`, reason: `namespace "${uri}" is not ${expected}` },
    ]);
  }
  if (!(READABLE_NOUNS[release] as readonly string[]).includes(noun)) {
    throw new B2mmlError('B2MML_UNKNOWN_ROOT', [
      {
        path: `/${name}`,
        reason: `${noun} is not read in ${release} (it reads ${READABLE_NOUNS[release].join(', ')})`,
      },
    ]);
  }
  return { release, verb, noun };
}

function canonicalProblems(read: ReadDocument): Problem[] {
  return validateDocument(read.type, read.document).map((problem) => ({
    path: read.path,
    reason: `canonical ${read.type} ${problem.path}: ${problem.reason}`,
  }));
}
