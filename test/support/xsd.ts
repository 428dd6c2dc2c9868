/** Validates XML against MESA's official B2MML XSDs with xmllint (libxml2-utils), as a partner system would. */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { b2mmlDir } from './paths';

const SCHEMAS = {
  V0700: join(b2mmlDir, 'V0700', 'AllSchemas.xsd'),
  V0600ProductionSchedule: join(b2mmlDir, 'V0600', 'B2MML-V0600-ProductionSchedule.xsd'),
} as const;

/** Returns xmllint's complaints; an empty string means the document is valid. */
export function xsdErrors(xml: string, schema: keyof typeof SCHEMAS = 'V0700'): string {
  // --nonet: never fetch anything; no --noent: never expand entities.
  const result = spawnSync('xmllint', ['--noout', '--nonet', '--schema', SCHEMAS[schema], '-'], {
    input: xml,
    encoding: 'utf8',
  });
  if (result.error)
    throw new Error(`xmllint is needed for XSD checks (apt-get install libxml2-utils): ${result.error.message}`);
  return result.status === 0 ? '' : result.stderr;
}
