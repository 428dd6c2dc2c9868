/**
 * One mapping: loaded from YAML, its JSONata expressions compiled once, run inbound (payload →
 * canonical documents) or outbound (envelope → the system's payload). Every error names the file,
 * the expression and, where known, the position.
 */
import { readFileSync } from 'node:fs';
import Ajv from 'ajv';
import jsonata from 'jsonata';
import { Builder } from 'xml2js';
import { parse as parseYaml } from 'yaml';
import { parseXml } from '../../schemas/b2mml/xml-parse';
import type { CanonicalEnvelope, CanonicalType } from '../../schemas/index';
import type { Problem } from '../../schemas/problem';
import { validateDocument } from '../../schemas/validate';
import { helpers } from './helpers';
import { MappingFile } from './mapping-file';
import { toJson } from './xml-to-json';

const ajv = new Ajv({ allErrors: true, strict: false });
const validateFile = ajv.compile(MappingFile);

export type MappingErrorCode = 'MAPPING_INVALID' | 'MAPPING_FAILED' | 'MAPPING_OUTPUT_INVALID';

/** A mapping that could not load or run, with where and why. */
export class MappingError extends Error {
  constructor(
    readonly code: MappingErrorCode,
    readonly file: string,
    readonly problems: Problem[],
  ) {
    super(`${code}: ${file}\n${problems.map((p) => `  ${p.path}: ${p.reason}`).join('\n')}`);
    this.name = 'MappingError';
  }
}

type Compiled = ReturnType<typeof jsonata>;

export interface Mapping {
  file: string;
  spec: MappingFile;
  /** `id@version`, recorded with every message the mapping handles. */
  name: string;
  matches(payload: unknown): Promise<boolean>;
}

/** A document an inbound mapping made, before it gets its envelope. */
export interface MappedDocument {
  type: CanonicalType;
  objectKey: string;
  document: Record<string, unknown>;
  occurredAt?: string;
  version?: number;
}

interface LoadedMapping extends Mapping {
  expressions: Record<'expression' | 'match' | 'objectKey' | 'occurredAt' | 'objectVersion', Compiled | undefined>;
}

/** Loads and compiles the mapping file at `file`; throws MAPPING_INVALID with every problem. */
export function loadMapping(file: string): LoadedMapping {
  let spec: unknown;
  try {
    spec = parseYaml(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new MappingError('MAPPING_INVALID', file, [{ path: '/', reason: (error as Error).message.split('\n')[0]! }]);
  }
  if (!validateFile(spec)) {
    const problems = (validateFile.errors ?? []).map((error) => ({
      path: error.instancePath || '/',
      reason: error.message ?? error.keyword,
    }));
    throw new MappingError('MAPPING_INVALID', file, problems);
  }
  const mapping = spec as MappingFile;
  const compile = (name: keyof LoadedMapping['expressions']): Compiled | undefined => {
    const source = mapping[name];
    if (source === undefined) return undefined;
    try {
      const compiled = jsonata(source);
      for (const [helper, definition] of Object.entries(helpers)) {
        compiled.registerFunction(
          helper,
          definition.implementation as (...args: unknown[]) => unknown,
          definition.signature,
        );
      }
      return compiled;
    } catch (error) {
      const { position, message } = error as { position?: number; message: string };
      throw new MappingError('MAPPING_INVALID', file, [
        { path: `/${name}`, reason: `${message}${position === undefined ? '' : ` (at character ${position})`}` },
      ]);
    }
  };
  const expressions = {
    expression: compile('expression'),
    match: compile('match'),
    objectKey: compile('objectKey'),
    occurredAt: compile('occurredAt'),
    objectVersion: compile('objectVersion'),
  };
  return {
    file,
    spec: mapping,
    name: `${mapping.id}@${mapping.version}`,
    expressions,
    matches: async (payload) =>
      expressions.match ? Boolean(await evaluate(file, 'match', expressions.match, payload)) : true,
  };
}

async function evaluate(
  file: string,
  name: string,
  compiled: Compiled,
  input: unknown,
  bindings?: Record<string, unknown>,
): Promise<unknown> {
  try {
    return await compiled.evaluate(input, bindings);
  } catch (error) {
    const { position, token, message } = error as { position?: number; token?: string; message: string };
    const where = [position === undefined ? '' : `at character ${position}`, token ? `near "${token}"` : '']
      .filter(Boolean)
      .join(' ');
    throw new MappingError('MAPPING_FAILED', file, [
      { path: `/${name}`, reason: where ? `${message} (${where})` : message },
    ]);
  }
}

/** Parses a system payload the way mappings see it: JSON as is, XML as element-name objects. */
export function payloadOf(contentType: 'json' | 'xml', body: string): unknown {
  return contentType === 'json' ? (JSON.parse(body) as unknown) : toJson(parseXml(body));
}

/** Runs an inbound mapping: every document it makes, validated against its canonical schema. */
export async function runInbound(mapping: Mapping, payload: unknown): Promise<MappedDocument[]> {
  const loaded = mapping as LoadedMapping;
  const { file, spec, expressions } = loaded;
  const result = await evaluate(file, 'expression', expressions.expression!, payload);
  const documents = (Array.isArray(result) ? result : result === undefined ? [] : [result]) as Array<
    Record<string, unknown>
  >;
  const type = spec.types[0]!;
  const problems: Problem[] = [];
  const mapped: MappedDocument[] = [];
  for (const [index, document] of documents.entries()) {
    const clean = JSON.parse(JSON.stringify(document)) as Record<string, unknown>;
    problems.push(...validateDocument(type, clean, `/documents/${index}`));
    const objectKey = expressions.objectKey
      ? String(await evaluate(file, 'objectKey', expressions.objectKey, clean))
      : String(clean.id);
    const item: MappedDocument = { type, objectKey, document: clean };
    if (expressions.occurredAt) {
      const occurredAt = await evaluate(file, 'occurredAt', expressions.occurredAt, clean, { payload });
      if (typeof occurredAt === 'string') item.occurredAt = occurredAt;
    }
    if (expressions.objectVersion) {
      const version = await evaluate(file, 'objectVersion', expressions.objectVersion, clean, { payload });
      if (typeof version === 'number' && Number.isInteger(version)) item.version = version;
    }
    mapped.push(item);
  }
  if (problems.length > 0)
    throw new MappingError(
      'MAPPING_OUTPUT_INVALID',
      file,
      problems.map((p) => ({ ...p, reason: `${type} ${p.reason}` })),
    );
  return mapped;
}

const xmlBuilder = new Builder({
  xmldec: { version: '1.0', encoding: 'UTF-8' },
  renderOpts: { pretty: true, indent: '  ', newline: '\n' },
});

/** Runs an outbound mapping on an envelope: the body to send, JSON text or XML under `root`. */
export async function runOutbound(mapping: Mapping, envelope: CanonicalEnvelope): Promise<string> {
  const { file, spec, expressions } = mapping as LoadedMapping;
  const result = await evaluate(file, 'expression', expressions.expression!, envelope);
  if (spec.contentType === 'json') return JSON.stringify(result);
  if (!spec.root)
    throw new MappingError('MAPPING_INVALID', file, [{ path: '/root', reason: 'required for outbound XML' }]);
  return xmlBuilder.buildObject({ [spec.root]: JSON.parse(JSON.stringify(result)) as unknown });
}
