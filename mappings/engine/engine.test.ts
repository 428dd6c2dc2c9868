import { cpSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import jsonata from 'jsonata';
import { repoRoot } from '../../test/support/paths';
import { helpers } from './helpers';
import { loadMapping, MappingError, payloadOf, runInbound } from './mapping';
import { MappingRegistry } from './registry';
import { diff, runMappingTests } from './run-tests';

const mappingsDir = join(repoRoot, 'mappings');

describe('the mappings shipped with Handover', () => {
  it('pass every test case beside them', async () => {
    const results = await runMappingTests(mappingsDir);
    expect(results.filter((result) => !result.ok)).toEqual([]);
    expect(results.length).toBeGreaterThanOrEqual(12);
  });

  it('cover every seed system inbound and outbound', () => {
    const registry = new MappingRegistry(mappingsDir);
    expect(registry.failures).toEqual([]);
    for (const system of ['erp', 'mes', 'scada', 'cmms', 'qms', 'wms']) {
      const directions = registry
        .all()
        .filter((mapping) => mapping.spec.system === system)
        .map((mapping) => mapping.spec.direction);
      expect({ system, inbound: directions.includes('inbound'), outbound: directions.includes('outbound') }).toEqual({
        system,
        inbound: true,
        outbound: true,
      });
    }
  });
});

describe('mapping helpers', () => {
  const cases = Object.entries(helpers).flatMap(([name, helper]) =>
    helper.examples.map((example) => [name, example.call, example.result] as const),
  );
  it.each(cases)('%s: %s', async (_name, call, result) => {
    const expression = jsonata(call);
    for (const [name, helper] of Object.entries(helpers)) {
      expression.registerFunction(name, helper.implementation as (...args: unknown[]) => unknown, helper.signature);
    }
    expect(await expression.evaluate({})).toEqual(result);
  });
});

describe('the engine', () => {
  const dir = mkdtempSync(join(tmpdir(), 'handover-mappings-'));
  const write = (name: string, text: string) => {
    const file = join(dir, 'qms', name);
    writeFileSync(file, text);
    return file;
  };
  cpSync(join(mappingsDir, 'qms'), join(dir, 'qms'), { recursive: true });

  it('names the file, the expression and the position of a syntax error', () => {
    const file = write(
      'broken.yaml',
      'id: broken\nversion: 1\nsystem: qms\ndirection: inbound\ncontentType: json\ntypes: [QualityResult]\nexpression: "{ \\"id\\": resultId "\n',
    );
    const error = (() => {
      try {
        loadMapping(file);
      } catch (caught) {
        return caught as MappingError;
      }
      throw new Error('loaded');
    })();
    expect(error.code).toBe('MAPPING_INVALID');
    expect(error.file).toBe(file);
    expect(error.problems[0]).toMatchObject({ path: '/expression', reason: expect.stringMatching(/at character \d+/) });
  });

  it('refuses output that breaks the canonical schema, saying where', async () => {
    const file = write(
      'loose.yaml',
      'id: loose\nversion: 1\nsystem: qms\ndirection: inbound\ncontentType: json\ntypes: [QualityResult]\nexpression: "{ \\"id\\": resultId, \\"measurements\\": [{ \\"property\\": \\"pH\\", \\"value\\": 7 }] }"\n',
    );
    await expect(runInbound(loadMapping(file), { resultId: 'R1' })).rejects.toMatchObject({
      code: 'MAPPING_OUTPUT_INVALID',
      problems: [{ path: '/documents/0/measurements/0/value', reason: 'QualityResult must be string' }],
    });
  });

  it('keeps a working mapping when its new version fails to load', async () => {
    const registry = new MappingRegistry(dir);
    const file = join(dir, 'qms', 'lims-result.yaml');
    const before = registry.all().find((mapping) => mapping.file === file)!;
    writeFileSync(file, 'id: qms-lims-result\nversion: 2\nexpression: "{"\n');
    const { failed } = registry.reload();
    expect(failed.map((failure) => failure.file)).toContain(file);
    expect(registry.all().find((mapping) => mapping.file === file)).toBe(before);
    const payload = payloadOf('json', JSON.stringify({ resultId: 'R1', results: [] }));
    expect((await registry.inboundFor('qms', 'json', payload))?.name).toBe('qms-lims-result@1');
  });

  it('describes differences by path', () => {
    expect(diff({ a: [{ b: '12.5' }], c: 1 }, { a: [{ b: '12.50' }], d: 2 }, '')).toEqual([
      '/a/0/b: expected "12.5", got "12.50"',
      '/c: expected 1, missing',
      '/d: not expected, got 2',
    ]);
  });
});
