/**
 * Runs every mapping's test cases (`<name>.test.yaml` beside `<name>.yaml`): input payload in,
 * expected canonical documents (inbound) or payload (outbound) out, with a readable difference.
 */
import { existsSync, readFileSync } from 'node:fs';
import Ajv from 'ajv';
import { parse as parseYaml } from 'yaml';
import { wrap } from '../../schemas/canonical-json';
import type { CanonicalEnvelope } from '../../schemas/index';
import { loadMapping, MappingError, payloadOf, runInbound, runOutbound, type MappedDocument } from './mapping';
import { MappingTests, type MappingCase } from './mapping-file';
import { mappingFiles } from './registry';

const validateTests = new Ajv({ strict: false }).compile(MappingTests);

export interface CaseResult {
  file: string;
  mapping: string;
  name: string;
  ok: boolean;
  differences: string[];
}

export async function runMappingTests(dir: string): Promise<CaseResult[]> {
  const results: CaseResult[] = [];
  for (const file of mappingFiles(dir)) {
    const testFile = file.replace(/\.yaml$/, '.test.yaml');
    const fail = (name: string, differences: string[]) =>
      results.push({ file, mapping: file, name, ok: false, differences });
    let mapping;
    try {
      mapping = loadMapping(file);
    } catch (error) {
      fail('(load)', [(error as Error).message]);
      continue;
    }
    if (!existsSync(testFile)) {
      fail('(tests)', [`no test cases: write ${testFile}`]);
      continue;
    }
    const tests = parseYaml(readFileSync(testFile, 'utf8')) as unknown;
    if (!validateTests(tests)) {
      fail(
        '(tests)',
        (validateTests.errors ?? []).map((error) => `${testFile} ${error.instancePath || '/'}: ${error.message}`),
      );
      continue;
    }
    for (const testCase of (tests as { cases: MappingCase[] }).cases) {
      try {
        const { documents, envelopes } = await run(mapping, testCase);
        const differences = [...diff(testCase.expected, documents, ''), ...envelopeDiff(testCase, envelopes)];
        results.push({ file, mapping: mapping.name, name: testCase.name, ok: differences.length === 0, differences });
      } catch (error) {
        results.push({
          file,
          mapping: mapping.name,
          name: testCase.name,
          ok: false,
          differences: [error instanceof MappingError ? error.message : String(error)],
        });
      }
    }
  }
  return results;
}

/** What a case's mapping made: the documents (or payload) and, inbound, each document's envelope fields. */
async function run(
  mapping: ReturnType<typeof loadMapping>,
  testCase: MappingCase,
): Promise<{ documents: unknown; envelopes: Array<Omit<MappedDocument, 'type' | 'document'>> }> {
  const { spec } = mapping;
  if (spec.direction === 'inbound') {
    const body = typeof testCase.input === 'string' ? testCase.input : JSON.stringify(testCase.input);
    const mapped = await runInbound(mapping, payloadOf(spec.contentType, body));
    return { documents: mapped.map((document) => document.document), envelopes: mapped.map(envelopeFields) };
  }
  const input = testCase.input as Record<string, unknown>;
  const envelope = (
    'document' in input ? input : wrap(spec.types[0]!, input as { id: string }, 'hub')
  ) as CanonicalEnvelope;
  const body = await runOutbound(mapping, envelope);
  return { documents: spec.contentType === 'json' ? JSON.parse(body) : body, envelopes: [] };
}

function envelopeFields({ objectKey, occurredAt, version }: MappedDocument): Omit<MappedDocument, 'type' | 'document'> {
  return {
    objectKey,
    ...(occurredAt === undefined ? {} : { occurredAt }),
    ...(version === undefined ? {} : { version }),
  };
}

/** Differences between the key, time and version a case states and what the mapping made, per document. */
function envelopeDiff(testCase: MappingCase, envelopes: Array<Omit<MappedDocument, 'type' | 'document'>>): string[] {
  const differences: string[] = [];
  for (const field of ['objectKey', 'occurredAt', 'version'] as const) {
    const stated = testCase[field];
    if (stated === undefined) continue;
    const expected: unknown[] = Array.isArray(stated) ? stated : envelopes.map(() => stated);
    expected.forEach((value, index) => {
      const actual = envelopes[index]?.[field];
      if (actual !== value)
        differences.push(
          `/${index} ${field}: expected ${JSON.stringify(value)}, got ${actual === undefined ? 'nothing' : JSON.stringify(actual)}`,
        );
    });
  }
  return differences.sort((a, b) => Number(a.split(' ')[0]!.slice(1)) - Number(b.split(' ')[0]!.slice(1)));
}

/** Paths where `actual` differs from `expected`, as `path: expected …, got …` lines. */
export function diff(expected: unknown, actual: unknown, path: string): string[] {
  if (typeof expected === 'string' && typeof actual === 'string' && expected.includes('\n')) {
    const expectedLines = expected.trim().split('\n');
    const actualLines = actual.trim().split('\n');
    const line = expectedLines.findIndex((text, index) => text.trim() !== (actualLines[index] ?? '').trim());
    if (line < 0 && expectedLines.length === actualLines.length) return [];
    const at = line < 0 ? expectedLines.length : line;
    return [
      `${path || '/'} line ${at + 1}: expected ${JSON.stringify(expectedLines[at]?.trim())}, got ${JSON.stringify(actualLines[at]?.trim())}`,
    ];
  }
  if (expected !== null && actual !== null && typeof expected === 'object' && typeof actual === 'object') {
    if (Array.isArray(expected) !== Array.isArray(actual))
      return [`${path || '/'}: expected ${kind(expected)}, got ${kind(actual)}`];
    const keys = new Set([...Object.keys(expected), ...Object.keys(actual)]);
    const differences: string[] = [];
    if (Array.isArray(expected) && Array.isArray(actual) && expected.length !== actual.length) {
      differences.push(`${path || '/'}: expected ${expected.length} items, got ${actual.length}`);
    }
    for (const key of keys) {
      const e = (expected as Record<string, unknown>)[key];
      const a = (actual as Record<string, unknown>)[key];
      if (e === undefined) differences.push(`${path}/${key}: not expected, got ${JSON.stringify(a)}`);
      else if (a === undefined) differences.push(`${path}/${key}: expected ${JSON.stringify(e)}, missing`);
      else differences.push(...diff(e, a, `${path}/${key}`));
    }
    return differences;
  }
  return expected === actual
    ? []
    : [`${path || '/'}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`];
}

function kind(value: unknown): string {
  return Array.isArray(value) ? 'an array' : 'an object';
}
