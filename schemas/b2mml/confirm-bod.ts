/** ConfirmBOD: the acknowledgement (or rejection, with reasons) of a received B2MML document. */
import { formatProblems, type Problem } from '../problem';
import { B2MML_NAMESPACES } from './release';
import { element, renderXml, type XmlBody } from './xml-build';
import type { ApplicationArea } from './read';
import { B2mmlError } from './errors';
import { compact, XmlCursor } from './xml-cursor';
import { parseXml, type XmlElement } from './xml-parse';

export interface ConfirmOptions {
  sender?: string;
  creationDateTime?: string;
  /** Problems found; none means the document was accepted. */
  problems?: readonly Problem[];
  /** A free-text outcome, e.g. "Accepted: 3 documents queued". */
  description?: string;
}

/**
 * Writes a V0700 ConfirmBOD for the document whose ApplicationArea is `original`.
 * @example writeConfirmBod({ sender: 'ERP', creationDateTime: '2024-05-01T08:00:00Z', bodId: 'b1' })
 */
export function writeConfirmBod(original: ApplicationArea, options: ConfirmOptions = {}): string {
  const problems = options.problems ?? [];
  const description =
    options.description ?? (problems.length === 0 ? 'Accepted' : `Rejected:\n${formatProblems(problems)}`);
  const body = element({
    ApplicationArea: element({
      Sender: element({ LogicalID: options.sender ?? 'HANDOVER' }),
      CreationDateTime: options.creationDateTime ?? new Date().toISOString(),
    }),
    DataArea: element({
      Confirm: '',
      BOD: element({
        OriginalApplicationArea: element({
          Sender: original.sender === undefined ? undefined : element({ LogicalID: original.sender }),
          CreationDateTime: original.creationDateTime,
          BODID: original.bodId,
        }),
        Description: description,
      }),
    }),
  });
  return renderXml('ConfirmBOD', { $: { xmlns: B2MML_NAMESPACES.V0700 }, ...body } as XmlBody);
}

/** The ApplicationArea of a parsed B2MML document (what a ConfirmBOD refers to); empty parts stay absent. */
export function originalApplicationArea(root: XmlElement): ApplicationArea {
  const cursor = XmlCursor.root(root);
  const area = cursor.one('ApplicationArea');
  return compact({
    sender: area?.one('Sender')?.text('LogicalID'),
    creationDateTime: area?.text('CreationDateTime') ?? new Date().toISOString(),
    bodId: area?.text('BODID'),
  });
}

/** A received ConfirmBOD: which document it answers and what it says. */
export interface ConfirmBod {
  type: 'ConfirmBOD';
  sender?: string;
  creationDateTime: string;
  original: ApplicationArea;
  descriptions: string[];
}

/** Reads a V0700 ConfirmBOD acknowledgement. */
export function readConfirmBod(xml: string | Buffer): ConfirmBod {
  const root = XmlCursor.root(parseXml(xml));
  if (root.element.name !== 'ConfirmBOD') {
    throw new B2mmlError('B2MML_UNKNOWN_ROOT', [{ path: root.path, reason: 'expected ConfirmBOD' }]);
  }
  if (root.element.uri !== B2MML_NAMESPACES.V0700) {
    throw new B2mmlError('B2MML_WRONG_NAMESPACE', [
      { path: root.path, reason: `namespace "${root.element.uri}" is not ${B2MML_NAMESPACES.V0700}` },
    ]);
  }
  const area = root.required('ApplicationArea');
  const bod = root.required('DataArea')?.required('BOD');
  const original = bod?.one('OriginalApplicationArea');
  const result: ConfirmBod = {
    type: 'ConfirmBOD',
    creationDateTime: area?.requiredText('CreationDateTime') ?? '',
    original: compact({
      sender: original?.one('Sender')?.text('LogicalID'),
      creationDateTime: original?.text('CreationDateTime') ?? '',
      bodId: original?.text('BODID'),
    }),
    descriptions: bod?.texts('Description') ?? [],
  };
  const sender = area?.one('Sender')?.text('LogicalID');
  if (sender !== undefined) result.sender = sender;
  if (root.problems.length > 0) throw new B2mmlError('B2MML_INVALID', root.problems);
  return result;
}
