/**
 * One mapping: loaded from YAML, its JSONata expressions compiled once, run inbound (payload →
 * canonical documents) or outbound (envelope → the system's payload). Every error names the file,
 * the expression and, where known, the position.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Type } from '@sinclair/typebox';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import jsonata from 'jsonata';
import { Builder } from 'xml2js';
import { parse as parseYaml } from 'yaml';
import { parseXml } from '../../schemas/b2mml/xml-parse';
import { Envelope } from '../../schemas/envelope';
import type { CanonicalEnvelope, CanonicalType } from '../../schemas/index';
import type { Problem } from '../../schemas/problem';
import { validateDocument } from '../../schemas/validate';
import type { MappingErrorCode } from './errors';
import { helpers } from './helpers';
import { MappingFile } from './mapping-file';
import { toJson } from './xml-to-json';

const ajv = new Ajv({ allErrors: true, strict: false });
addFormats(ajv);
const validateFile = ajv.compile(MappingFile);

/** The envelope fields a mapping makes, checked by the same schemas as every envelope. */
const envelopeFields = {
  objectKey: ajv.compile(Envelope.properties.objectKey),
  occurredAt: ajv.compile(Envelope.properties.occurredAt),
  version: ajv.compile(Type.Integer({ minimum: 0 })),
};

/** How long one expression may run on one input unless the mapping or the loader says otherwise. */
export const DEFAULT_TIMEOUT_MS = 1000;

export type { MappingErrorCode } from './errors';

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
  /** The file's text, as loaded: the hub keeps every version it ran (hub/store/mapping-versions.ts). */
  source: string;
  /** The first 16 hex digits of the text's SHA-256: tells two texts of one `id@version` apart. */
  digest: string;
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

export interface LoadOptions {
  /** Time limit of one evaluation for mappings that set no `timeoutMs`; default {@link DEFAULT_TIMEOUT_MS}. */
  timeoutMs?: number;
}

/** Loads and compiles the mapping file at `file`; throws MAPPING_INVALID with every problem. */
export function loadMapping(file: string, options: LoadOptions = {}): LoadedMapping {
  let source: string;
  try {
    source = readFileSync(file, 'utf8');
  } catch (error) {
    throw new MappingError('MAPPING_INVALID', file, [{ path: '/', reason: (error as Error).message.split('\n')[0]! }]);
  }
  return compileMapping(source, file, options);
}

/**
 * Compiles a mapping from its text, as loaded from `file` (named in every error): a file on disk, or
 * a version the store kept. Throws MAPPING_INVALID with every problem.
 */
export function compileMapping(source: string, file: string, options: LoadOptions = {}): LoadedMapping {
  let spec: unknown;
  try {
    spec = parseYaml(source);
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
  // jsonata checks the limit each time it enters a sub-expression, so a runaway loop ends as D1012.
  const timeout = mapping.timeoutMs ?? options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const compile = (name: keyof LoadedMapping['expressions']): Compiled | undefined => {
    const source = mapping[name];
    if (source === undefined) return undefined;
    try {
      const compiled = jsonata(source, { timeout });
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
    source,
    digest: createHash('sha256').update(source).digest('hex').slice(0, 16),
    expressions,
    matches: async (payload) =>
      expressions.match ? Boolean(await evaluate(file, 'match', expressions.match, payload)) : true,
  };
}

/**
 * Evaluations take turns, one at a time in the process. JSONata measures its limit on the wall
 * clock from the start of an evaluation, and its steps are promises: a worker with a deep backlog
 * starts hundreds of payloads' mappings in one turn of the loop, they interleave, and each one's
 * clock would count the others' work — valid payloads became MAPPING_TIMEOUT dead letters. Taking
 * turns costs nothing (the evaluations share one thread either way) and makes the limit count an
 * expression's own running time.
 */
let lane: Promise<unknown> = Promise.resolve();
/** Evaluations waiting or running in the lane, and since when it has run without a turn of the loop. */
let queued = 0;
let sliceStart: number | undefined;
/**
 * JSONata's steps await promises that are already resolved, so evaluations in the lane run back to
 * back without the event loop getting a turn: after this long it gets one (timers, I/O, BullMQ's lock
 * renewals), also while expressions that run to their time limit queue up.
 */
const LANE_SLICE_MS = 20;

function inTurn<T>(run: () => Promise<T>): Promise<T> {
  queued += 1;
  const turn = lane.then(async () => {
    const now = performance.now();
    if (sliceStart === undefined) sliceStart = now;
    else if (now - sliceStart > LANE_SLICE_MS) {
      await new Promise((resolve) => setImmediate(resolve));
      sliceStart = performance.now();
    }
    try {
      return await run();
    } finally {
      queued -= 1;
      if (queued === 0) sliceStart = undefined;
    }
  });
  lane = turn.catch(() => undefined);
  return turn;
}

async function evaluate(
  file: string,
  name: string,
  compiled: Compiled,
  input: unknown,
  bindings?: Record<string, unknown>,
): Promise<unknown> {
  try {
    return await inTurn(() => compiled.evaluate(input, bindings));
  } catch (error) {
    const { position, token, message, code } = error as {
      position?: number;
      token?: string;
      message: string;
      code?: string;
    };
    if (code === 'D1012') {
      const limit = (error as { value?: number }).value;
      throw new MappingError('MAPPING_TIMEOUT', file, [
        { path: `/${name}`, reason: `ran past its time limit of ${limit} ms (an endless loop or recursion?)` },
      ]);
    }
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
  const envelopeProblems: Problem[] = [];
  const mapped: MappedDocument[] = [];
  for (const [index, document] of documents.entries()) {
    const clean = JSON.parse(JSON.stringify(document)) as Record<string, unknown>;
    const at = `/documents/${index}`;
    problems.push(...validateDocument(type, clean, at));
    const check = (field: keyof typeof envelopeFields, expression: string, value: unknown): boolean => {
      if (envelopeFields[field](value)) return true;
      const got = value === undefined ? 'nothing' : JSON.stringify(value);
      envelopeProblems.push({ path: `${at}/${field}`, reason: `${expression} gave ${got}: ${FIELD_RULES[field]}` });
      return false;
    };
    const rawKey = expressions.objectKey ? await evaluate(file, 'objectKey', expressions.objectKey, clean) : clean.id;
    const objectKey = typeof rawKey === 'number' && Number.isFinite(rawKey) ? String(rawKey) : rawKey;
    check('objectKey', expressions.objectKey ? `objectKey (${spec.objectKey})` : 'the document id', objectKey);
    const item: MappedDocument = { type, objectKey: objectKey as string, document: clean };
    if (expressions.occurredAt) {
      const occurredAt = await evaluate(file, 'occurredAt', expressions.occurredAt, clean, { payload });
      // Nothing means "the time it arrived"; anything else must be a real instant, or stale checks go blind.
      if (occurredAt !== undefined && check('occurredAt', `occurredAt (${spec.occurredAt})`, occurredAt))
        item.occurredAt = occurredAt as string;
    }
    if (expressions.objectVersion) {
      const version = await evaluate(file, 'objectVersion', expressions.objectVersion, clean, { payload });
      if (version !== undefined && check('version', `objectVersion (${spec.objectVersion})`, version))
        item.version = version as number;
    }
    mapped.push(item);
  }
  if (problems.length > 0 || envelopeProblems.length > 0)
    throw new MappingError('MAPPING_OUTPUT_INVALID', file, [
      ...problems.map((p) => ({ ...p, reason: `${type} ${p.reason}` })),
      ...envelopeProblems,
    ]);
  return mapped;
}

const FIELD_RULES: Record<keyof typeof envelopeFields, string> = {
  objectKey: 'an object key is a non-empty string (or a number) of at most 200 characters',
  occurredAt: 'occurredAt is an RFC 3339 date-time with a time zone',
  version: 'a version is an integer of 0 or more',
};

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
