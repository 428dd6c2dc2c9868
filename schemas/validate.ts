/**
 * Validation of canonical documents and envelopes with ajv: every schema is compiled once,
 * and failures come back as `path: reason` problems.
 */
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { documentSchemas, Envelope, isCanonicalType, type CanonicalType } from './index';
import type { Problem } from './problem';

const ajv = new Ajv({ allErrors: true, strict: true, strictTypes: false });
addFormats(ajv);
ajv.addKeyword('x-b2mml');

// Compiled at first use, once: compiling all of them took a third of the hub's start-up, before it
// could take in its first message.
const documentValidators = new Map<CanonicalType, ValidateFunction>();
let envelopeValidator: ValidateFunction | undefined;

function documentValidator(type: CanonicalType): ValidateFunction {
  let validate = documentValidators.get(type);
  if (!validate) {
    validate = ajv.compile(documentSchemas[type]);
    documentValidators.set(type, validate);
  }
  return validate;
}

/**
 * Checks one canonical document of `type` against its schema.
 * @example validateDocument('ProductionOrder', order) // [] when valid
 */
export function validateDocument(type: CanonicalType, document: unknown, basePath = ''): Problem[] {
  const validate = documentValidator(type);
  return validate(document) ? [] : toProblems(validate.errors ?? [], basePath);
}

/** Checks an envelope and the document inside it. */
export function validateEnvelope(envelope: unknown, basePath = ''): Problem[] {
  envelopeValidator ??= ajv.compile(Envelope);
  if (!envelopeValidator(envelope)) return toProblems(envelopeValidator.errors ?? [], basePath);
  const { type, document } = envelope as { type: string; document: unknown };
  if (!isCanonicalType(type)) return [{ path: `${basePath}/type`, reason: `unknown canonical type "${type}"` }];
  return validateDocument(type, document, `${basePath}/document`);
}

/** Ajv errors as located problems, `path: reason`. */
export function toProblems(errors: ErrorObject[], basePath: string): Problem[] {
  return errors.map((error) => ({ path: basePath + locate(error), reason: describe(error) }));
}

function locate(error: ErrorObject): string {
  if (error.keyword === 'required') return `${error.instancePath}/${String(error.params.missingProperty)}`;
  if (error.keyword === 'additionalProperties')
    return `${error.instancePath}/${String(error.params.additionalProperty)}`;
  return error.instancePath;
}

function describe(error: ErrorObject): string {
  switch (error.keyword) {
    case 'required':
      return 'required';
    case 'additionalProperties':
      return 'not allowed here (unknown property)';
    case 'enum':
      return `must be one of ${(error.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    case 'pattern':
      return error.instancePath.endsWith('/value')
        ? 'must be an exact decimal such as "12.375"'
        : `must match ${String(error.params.pattern)}`;
    case 'format':
      return `must be a ${String(error.params.format)} (RFC 3339, with time zone)`;
    default:
      return error.message ?? error.keyword;
  }
}
