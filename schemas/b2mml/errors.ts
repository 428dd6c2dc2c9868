/** Error codes of the B2MML codec. Stable: a retired code is never reused (see docs/errors.md). */
import type { Problem } from '../problem';

export const B2MML_ERRORS = {
  XML_EMPTY: { status: 400, message: 'The document is empty' },
  XML_TOO_LARGE: { status: 413, message: 'The document is larger than the size limit' },
  XML_TOO_DEEP: { status: 400, message: 'The document nests elements deeper than the depth limit' },
  XML_TOO_MANY_ELEMENTS: { status: 400, message: 'The document has more elements than the limit' },
  XML_DOCTYPE_FORBIDDEN: {
    status: 400,
    message: 'DOCTYPE and entity declarations are refused (XXE and entity expansion)',
  },
  XML_NOT_WELL_FORMED: { status: 400, message: 'The document is not well-formed XML' },
  B2MML_UNKNOWN_ROOT: { status: 422, message: 'The root element is not a B2MML document Handover reads' },
  B2MML_WRONG_NAMESPACE: { status: 422, message: 'The root element is not in a B2MML namespace' },
  B2MML_UNKNOWN_VERB: { status: 422, message: 'The verb is not one B2MML defines' },
  B2MML_INVALID: { status: 422, message: 'The document breaks the B2MML schema or the canonical model' },
  B2MML_MIXED_NOUNS: { status: 422, message: 'The documents need different B2MML nouns and cannot share one document' },
  B2MML_UNSUPPORTED_TYPE: { status: 422, message: 'There is no B2MML form for this canonical type' },
} as const;
export type B2mmlErrorCode = keyof typeof B2MML_ERRORS;

/** A codec failure with a stable code, an HTTP status and the located problems. */
export class B2mmlError extends Error {
  readonly status: number;
  constructor(
    readonly code: B2mmlErrorCode,
    readonly problems: Problem[] = [],
    message: string = B2MML_ERRORS[code].message,
  ) {
    super(message);
    this.name = 'B2mmlError';
    this.status = B2MML_ERRORS[code].status;
  }
}
