/**
 * Dry runs with the shipped mappings: every inbound test case beside them maps as it states, the
 * envelopes are the ones ingest makes, and bad payloads get ingest's codes and paths. The listing on
 * SQLite and PostgreSQL: every loaded mapping, the versions messages name, the routes that render.
 */
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { MappingCase } from '../../mappings/engine/mapping-file';
import { MappingRegistry, mappingFiles } from '../../mappings/engine/registry';
import { repoRoot } from '../../test/support/paths';
import { parseConfig } from '../config/load';
import { translate } from '../pipeline/translate';
import { recordReceived, type Db } from '../store/index';
import { storeBackends } from '../store/test-backends';
import { dryRunMapping, listMappings, type DryRunResult } from './dry-run';

const mappingsDir = join(repoRoot, 'mappings');
const mappings = new MappingRegistry(mappingsDir);

/** Every inbound mapping's test cases, as [mapping id, case name, case]. */
const inboundCases = mappings
  .all()
  .filter(({ spec }) => spec.direction === 'inbound')
  .flatMap(({ file, spec }) => {
    const tests = parseYaml(readFileSync(file.replace(/\.yaml$/, '.test.yaml'), 'utf8')) as { cases: MappingCase[] };
    return tests.cases.map((testCase) => [spec.id, testCase.name, testCase] as const);
  });

const bodyOf = (input: unknown) => (typeof input === 'string' ? input : JSON.stringify(input));
const each = <T>(value: T | T[] | undefined, count: number): Array<T | undefined> =>
  Array.isArray(value) ? value : Array.from({ length: count }, () => value);

/** LOIPRO01 IDocs with one order each, from the mapping's own test cases: with and without a creation time. */
const [idoc, idocWithoutTime] = inboundCases
  .filter(([id]) => id === 'erp-loipro01-production-order')
  .map(([, , testCase]) => testCase.input as string) as [string, string];

function failure(result: DryRunResult | undefined) {
  if (!result || result.ok) throw new Error(`expected a failed dry run, got ${JSON.stringify(result)}`);
  return result;
}

describe('a dry run', () => {
  it('covers the shipped inbound mappings', () => {
    expect(new Set(inboundCases.map(([id]) => id)).size).toBeGreaterThanOrEqual(6);
  });

  it.each(inboundCases)('of %s › %s makes the documents the case expects', async (id, _name, testCase) => {
    const result = await dryRunMapping({ mappings }, { mapping: id, body: bodyOf(testCase.input) });
    if (!result?.ok) throw new Error(JSON.stringify(result));
    expect(result.matched).toBe(true);
    expect(result.documents.map((envelope) => envelope.document)).toEqual(testCase.expected);
    const count = result.documents.length;
    each(testCase.objectKey, count).forEach((key, index) => {
      if (key !== undefined) expect(result.documents[index]!.objectKey).toBe(key);
    });
    each(testCase.occurredAt, count).forEach((at, index) => {
      if (at !== undefined) expect(result.documents[index]!.occurredAt).toBe(at);
    });
    each(testCase.version, count).forEach((version, index) => {
      if (version !== undefined) expect(result.documents[index]!.version).toBe(version);
    });
  });

  it('returns the envelopes ingest makes of the same payload, without a message id', async () => {
    const receivedAt = '2026-03-01T10:00:00.000Z';
    const result = await dryRunMapping(
      { mappings },
      { mapping: 'erp-loipro01-production-order', body: idoc, receivedAt },
    );
    const ingest = await translate(
      { messageId: 'm-1', system: 'erp', contentType: 'xml', body: idoc, receivedAt, receivedSeq: 1 },
      mappings,
    );
    if (!ingest.ok) throw new Error(JSON.stringify(ingest));
    expect(ingest.mapping.name).toBe('erp-loipro01-production-order@2');
    expect(result).toEqual({
      ok: true,
      mapping: { id: 'erp-loipro01-production-order', version: 2 },
      matched: true,
      documents: ingest.envelopes.map(({ messageId: _messageId, ...envelope }) => envelope),
    });
    expect(result).toMatchObject({
      documents: [
        {
          type: 'ProductionOrder',
          objectKey: '1000123',
          sourceSystem: 'erp',
          occurredAt: '2024-05-01T20:15:00Z',
          receivedAt,
        },
      ],
    });
    expect(JSON.stringify(result)).not.toContain('messageId');
  });

  it('takes the arrival time for occurredAt where the mapping states none, now by default', async () => {
    const before = new Date().toISOString();
    const result = await dryRunMapping(
      { mappings },
      {
        mapping: 'erp-loipro01-production-order',
        version: 2,
        contentType: 'xml',
        // The mapping's second case: an IDoc without CREDAT/CRETIM.
        body: idocWithoutTime,
      },
    );
    if (!result?.ok) throw new Error(JSON.stringify(result));
    const [envelope] = result.documents;
    expect(envelope).toMatchObject({ objectKey: '4200077', document: { id: '4200077' } });
    expect(envelope!.receivedAt >= before && envelope!.receivedAt <= new Date().toISOString()).toBe(true);
    expect(envelope!.occurredAt).toBe(envelope!.receivedAt);
  });

  it('says when the mapping’s match would not choose the payload, and still shows what it makes', async () => {
    const result = await dryRunMapping(
      { mappings },
      {
        mapping: 'scada-stop-event',
        body: JSON.stringify({
          kind: 'signal',
          equipment: 'MIXER-01',
          start: '2024-05-02T07:15:00Z',
          faultCode: 'E042',
        }),
      },
    );
    expect(result).toMatchObject({
      ok: true,
      matched: false,
      documents: [{ type: 'DowntimeEvent', objectKey: 'DT-MIXER-01-20240502T071500Z' }],
    });
  });

  describe('of a payload ingest would dead-letter gives ingest’s code and paths', () => {
    it('JSON that does not parse: PAYLOAD_MALFORMED at /', async () => {
      const result = failure(
        await dryRunMapping({ mappings }, { mapping: 'scada-stop-event', body: '{"kind":"stop",' }),
      );
      expect(result.error.code).toBe('PAYLOAD_MALFORMED');
      expect(result.error.problems).toEqual([{ path: '/', reason: expect.stringMatching(/^not JSON: .*position 15/) }]);
      expect(result.matched).toBeUndefined();
    });

    it('XML that is not well-formed: XML_NOT_WELL_FORMED with line and column', async () => {
      const result = failure(
        await dryRunMapping({ mappings }, { mapping: 'erp-loipro01-production-order', body: '<LOIPRO01><IDOC>' }),
      );
      expect(result.error).toEqual({
        code: 'XML_NOT_WELL_FORMED',
        problems: [{ path: '/', reason: 'Unclosed root tag (line 1, column 17)' }],
      });
    });

    it('XML with a DOCTYPE: refused as at ingest', async () => {
      const body = '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "boom">]><LOIPRO01>&e;</LOIPRO01>';
      const result = failure(await dryRunMapping({ mappings }, { mapping: 'erp-loipro01-production-order', body }));
      expect(result.error.code).toBe('XML_DOCTYPE_FORBIDDEN');
    });

    it('a stop without its start: MAPPING_OUTPUT_INVALID at /documents/0/startTime', async () => {
      const body = JSON.stringify({ kind: 'stop', equipment: 'MIXER-01', faultCode: 'E042' });
      const result = failure(await dryRunMapping({ mappings }, { mapping: 'scada-stop-event', body }));
      expect(result).toMatchObject({ mapping: { id: 'scada-stop-event', version: 1 }, matched: true });
      expect(result.error.code).toBe('MAPPING_OUTPUT_INVALID');
      expect(result.error.problems).toEqual([
        {
          path: '/documents/0/startTime',
          reason: expect.stringMatching(/^scada-stop-event@1 \(.*stop-event\.yaml\): DowntimeEvent required$/),
        },
      ]);
    });

    it('an order without its number: MAPPING_OUTPUT_INVALID at its id and its object key', async () => {
      const body = idoc.replace(/<AUFNR>\d+<\/AUFNR>/, '');
      const result = failure(await dryRunMapping({ mappings }, { mapping: 'erp-loipro01-production-order', body }));
      expect(result.error.code).toBe('MAPPING_OUTPUT_INVALID');
      expect(result.error.problems.map((problem) => problem.path)).toEqual([
        '/documents/0/id',
        '/documents/0/objectKey',
      ]);
      expect(result.error.problems[0]!.reason).toMatch(/ProductionOrder required$/);
    });

    it('a quantity that is no decimal: MAPPING_FAILED in the expression, naming the helper', async () => {
      const body = idoc.replace('<BDMNG>12.375</BDMNG>', '<BDMNG>12,375</BDMNG>');
      const result = failure(await dryRunMapping({ mappings }, { mapping: 'erp-loipro01-production-order', body }));
      expect(result.error).toEqual({
        code: 'MAPPING_FAILED',
        problems: [{ path: '/expression', reason: expect.stringContaining('"12,375" is not a decimal') }],
      });
    });

    it('a payload of the other content type: PAYLOAD_MALFORMED naming both', async () => {
      const result = failure(
        await dryRunMapping(
          { mappings },
          { mapping: 'erp-loipro01-production-order', contentType: 'json', body: '{}' },
        ),
      );
      expect(result.error).toEqual({
        code: 'PAYLOAD_MALFORMED',
        problems: [{ path: '/', reason: 'erp-loipro01-production-order@2 reads XML payloads, not JSON' }],
      });
    });
  });

  it('finds nothing for an unknown id, a version not loaded, or an outbound mapping', async () => {
    expect(await dryRunMapping({ mappings }, { mapping: 'no-such-mapping', body: '{}' })).toBeUndefined();
    expect(
      await dryRunMapping({ mappings }, { mapping: 'erp-loipro01-production-order', version: 1, body: idoc }),
    ).toBeUndefined();
    expect(await dryRunMapping({ mappings }, { mapping: 'mes-job', body: '{}' })).toBeUndefined();
  });
});

describe.each(storeBackends)('the mapping list on %s', (_name, open) => {
  let db: Db;
  let drop: () => Promise<void>;
  beforeEach(async () => {
    ({ db, drop } = await open());
  });
  afterEach(async () => {
    await db.close();
    await drop();
  });

  const config = parseConfig(`
systems:
  - { id: erp, name: ERP, processOwner: Planning, technicalOwner: IT }
  - { id: mes, name: MES, processOwner: Production, technicalOwner: IT }
  - { id: scada, name: SCADA, processOwner: Production, technicalOwner: OT }
ownership:
  ProductionOrder: { owner: erp }
routes:
  - { id: orders-to-mes, target: mes, types: [ProductionOrder], format: mapped, url: "http://mes.local/orders" }
  - { id: orders-to-mes-json, target: mes, types: [ProductionOrder], url: "http://mes.local/json" }
  - { id: orders-to-scada, target: scada, types: [ProductionOrder], format: mapped, url: "http://scada.local/orders" }
`);

  let seq = 0;
  const receive = (name: string, receivedAt: string) =>
    recordReceived(db, {
      id: `m-${(seq += 1)}`,
      system: name.split('-')[0]!,
      receivedAt,
      receivedSeq: seq,
      contentType: 'json',
      body: '{}',
      mapping: { name, documents: 1 },
    });

  it('lists every loaded mapping with its identity, file and the versions messages were mapped by', async () => {
    await receive('erp-loipro01-production-order@1', '2026-01-05T08:00:00.000Z');
    await receive('erp-loipro01-production-order@2', '2026-02-01T08:00:00.000Z');
    await receive('erp-loipro01-production-order@2', '2026-02-03T09:30:00.000Z');
    await receive('scada-stop-event@1', '2026-02-02T07:00:00.000Z');
    await receive('canonical-json', '2026-02-02T07:00:00.000Z');
    await receive('b2mml-v0700:ProcessOperationsSchedule', '2026-02-02T07:00:00.000Z');
    await receive('retired-mapping@4', '2026-02-02T07:00:00.000Z');

    const { mappings: listed, failures } = await listMappings({ mappings, db, config });
    expect(failures).toEqual([]);
    expect(listed).toHaveLength(mappingFiles(mappingsDir).length);
    expect(listed.map((mapping) => `${mapping.system}/${mapping.id}`)).toEqual(
      listed.map((mapping) => `${mapping.system}/${mapping.id}`).sort(),
    );
    expect(listed.find((mapping) => mapping.id === 'erp-loipro01-production-order')).toEqual({
      id: 'erp-loipro01-production-order',
      version: 2,
      description: expect.stringMatching(/^Header \(E1AFKOL\) → order/),
      system: 'erp',
      direction: 'inbound',
      contentType: 'xml',
      types: ['ProductionOrder'],
      file: join('erp', 'loipro01-production-order.yaml'),
      versionsInUse: [
        { version: 2, messages: 2, lastReceivedAt: '2026-02-03T09:30:00.000Z' },
        { version: 1, messages: 1, lastReceivedAt: '2026-01-05T08:00:00.000Z' },
      ],
    });
    expect(listed.find((mapping) => mapping.id === 'scada-stop-event')).toMatchObject({
      system: 'scada',
      direction: 'inbound',
      contentType: 'json',
      versionsInUse: [{ version: 1, messages: 1, lastReceivedAt: '2026-02-02T07:00:00.000Z' }],
    });
    expect(listed.find((mapping) => mapping.id === 'mes-confirmation')).toMatchObject({ versionsInUse: [] });
    // Names that are not a loaded mapping's (the codec's, canonical JSON's, a retired id) are not listed.
    expect(listed.some((mapping) => mapping.id === 'retired-mapping')).toBe(false);
  });

  it('names the routes each outbound mapping renders for', async () => {
    const { mappings: listed } = await listMappings({ mappings, db, config });
    const outbound = Object.fromEntries(
      listed.filter((mapping) => mapping.direction === 'outbound').map((mapping) => [mapping.id, mapping.routes]),
    );
    expect(outbound).toMatchObject({
      'mes-job': ['orders-to-mes'],
      'scada-order-download': ['orders-to-scada'],
      'cmms-maximo-service-request': [],
    });
    expect(listed.filter((mapping) => mapping.direction === 'inbound').every((mapping) => !('routes' in mapping))).toBe(
      true,
    );
  });

  it('lists the files that failed to load beside the mappings that did', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'handover-dry-run-'));
    cpSync(join(mappingsDir, 'erp'), join(dir, 'erp'), { recursive: true });
    writeFileSync(join(dir, 'erp', 'broken.yaml'), 'id: erp-broken\nversion: 1\nsystem: erp\n');
    const registry = new MappingRegistry(dir);
    const { mappings: listed, failures } = await listMappings({ mappings: registry, db, config });
    expect(listed.map((mapping) => mapping.id)).toEqual(['erp-loipro01-production-order', 'erp-wmmbxy-goods-movement']);
    expect(failures).toEqual([
      {
        file: join('erp', 'broken.yaml'),
        code: 'MAPPING_INVALID',
        problems: expect.arrayContaining([{ path: '/', reason: expect.stringContaining('direction') }]),
      },
    ]);
  });
});
