/** The B2MML codec: read V0700/V0600 into canonical envelopes, write V0700, acknowledge with ConfirmBOD. */
export { assertB2mmlRoot, readB2mml, type ApplicationArea, type B2mmlReadResult, type ReadOptions } from './read';
export { writeB2mml, NOUN_OF, type WriteOptions } from './write';
export {
  originalApplicationArea,
  readConfirmBod,
  writeConfirmBod,
  type ConfirmBod,
  type ConfirmOptions,
} from './confirm-bod';
export { B2mmlError, B2MML_ERRORS, type B2mmlErrorCode } from './errors';
export { B2MML_NAMESPACES, B2MML_VERBS, type B2mmlVerb, type Release } from './release';
export { DEFAULT_XML_LIMITS, parseXml, type XmlLimits } from './xml-parse';
