/** ConfirmBOD: the acknowledgement (or rejection, with reasons) of a received B2MML document. */
import { formatProblems, type Problem } from '../problem';
import { B2MML_NAMESPACES } from './release';
import { element, renderXml, type XmlBody } from './xml-build';
import type { ApplicationArea } from './read';

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
  const description = options.description ?? (problems.length === 0 ? 'Accepted' : `Rejected:\n${formatProblems(problems)}`);
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
