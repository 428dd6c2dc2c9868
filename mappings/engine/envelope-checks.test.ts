/**
 * What a mapping makes besides the document: object key, occurred-at time and version are checked
 * like the document, an expression that never ends is stopped, and `mappings test` compares all three.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadMapping, runInbound } from './mapping';
import { runMappingTests } from './run-tests';

const dir = mkdtempSync(join(tmpdir(), 'handover-envelope-checks-'));
mkdirSync(join(dir, 'qms'));

/** A QualityResult mapping with the given fields (key, time and version expressions, limits) added or replaced. */
function mapping(name: string, extra: Record<string, string | number>): string {
  const fields: Record<string, string | number> = {
    id: name,
    version: 1,
    system: 'qms',
    direction: 'inbound',
    contentType: 'json',
    expression: '{ "id": resultId, "evaluatedAt": "2024-05-02T09:55:00Z", "disposition": "Pass", "measurements": [] }',
    ...extra,
  };
  const lines = [
    'types: [QualityResult]',
    ...Object.entries(fields).map(([key, value]) => `${key}: ${JSON.stringify(value)}`),
  ];
  const file = join(dir, 'qms', `${name}.yaml`);
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

const payload = { resultId: 'R1', at: 'yesterday', rev: 2.5, lot: 42 };

describe('mapped envelopes', () => {
  it('refuses an object key that comes out undefined instead of the string "undefined"', async () => {
    const file = mapping('no-key', { objectKey: '$missing' });
    await expect(runInbound(loadMapping(file), payload)).rejects.toMatchObject({
      code: 'MAPPING_OUTPUT_INVALID',
      problems: [{ path: '/documents/0/objectKey', reason: expect.stringContaining('objectKey ($missing)') }],
    });
  });

  it('makes a numeric object key a string', async () => {
    const file = mapping('numeric-key', { objectKey: '42' });
    const [document] = await runInbound(loadMapping(file), payload);
    expect(document!.objectKey).toBe('42');
  });

  it('refuses an occurredAt that is not an RFC 3339 date-time with zone', async () => {
    for (const [name, expression] of [
      ['bad-time', '$payload.at'],
      ['zoneless-time', '"2024-05-02T09:55:00"'],
      ['numeric-time', '1714643700000'],
    ] as const) {
      const file = mapping(name, { occurredAt: expression });
      await expect(runInbound(loadMapping(file), payload)).rejects.toMatchObject({
        code: 'MAPPING_OUTPUT_INVALID',
        problems: [{ path: '/documents/0/occurredAt', reason: expect.stringContaining(`occurredAt (${expression})`) }],
      });
    }
  });

  it('lets an occurredAt or version expression give nothing (the hub falls back to arrival)', async () => {
    const file = mapping('optional-time', { occurredAt: '$payload.none', objectVersion: '$payload.none' });
    const [document] = await runInbound(loadMapping(file), payload);
    expect(document).not.toHaveProperty('occurredAt');
    expect(document).not.toHaveProperty('version');
  });

  it('refuses a version that is not an integer of 0 or more instead of dropping it', async () => {
    for (const [name, expression] of [
      ['fraction-version', '$payload.rev'],
      ['negative-version', '-1'],
      ['text-version', '"7"'],
    ] as const) {
      const file = mapping(name, { objectVersion: expression });
      await expect(runInbound(loadMapping(file), payload)).rejects.toMatchObject({
        code: 'MAPPING_OUTPUT_INVALID',
        problems: [{ path: '/documents/0/version', reason: expect.stringContaining(`objectVersion (${expression})`) }],
      });
    }
  });
});

describe('the JSONata time limit', () => {
  it('stops an expression that loops forever with MAPPING_TIMEOUT naming the file and the expression', async () => {
    const file = mapping('forever', {
      objectKey: '($loop := function($n) { $loop($n + 1) }; $loop(0))',
      timeoutMs: 200,
    });
    const started = Date.now();
    await expect(runInbound(loadMapping(file), payload)).rejects.toMatchObject({
      code: 'MAPPING_TIMEOUT',
      file,
      problems: [{ path: '/objectKey', reason: expect.stringContaining('200 ms') }],
    });
    expect(Date.now() - started).toBeLessThan(20000);
  });

  it('counts only the expression’s own running time, not a backlog of evaluations beside it', async () => {
    // A worker with a deep backlog runs many payloads' mappings at once; a limit measured on the
    // wall clock from the start of each would fail valid payloads that only waited for the others.
    const file = mapping('busy', {
      expression:
        '{ "id": resultId, "evaluatedAt": "2024-05-02T09:55:00Z", "disposition": "Pass", "measurements": [1..40].{ "property": "p" & $string($), "value": $string($ * 2) } }',
      objectKey: 'resultId & "-" & $string(lot)',
      timeoutMs: 150,
    });
    const loaded = loadMapping(file);
    const results = await Promise.allSettled(
      Array.from({ length: 1500 }, (_, index) => runInbound(loaded, { ...payload, resultId: `R${index}` })),
    );
    const failures = results.filter((result) => result.status === 'rejected');
    expect(failures.map((failure) => (failure as PromiseRejectedResult).reason.code)).toEqual([]);
    expect(results).toHaveLength(1500);
  });

  it('gives the event loop a turn between expressions that run to their limit', async () => {
    // Taking turns must not make five runaway expressions one block of five time limits: timers,
    // I/O and BullMQ's lock renewals would wait for all of them.
    const file = mapping('forever-queued', {
      objectKey: '($loop := function($n) { $loop($n + 1) }; $loop(0))',
      timeoutMs: 100,
    });
    const loaded = loadMapping(file);
    let endedBeforeTimer: number | undefined;
    let ended = 0;
    const timer = new Promise<void>((resolve) =>
      setTimeout(() => {
        endedBeforeTimer = ended;
        resolve();
      }, 0),
    );
    const runs = Array.from({ length: 5 }, () =>
      runInbound(loaded, payload).catch((error: { code?: string }) => {
        ended += 1;
        return error.code;
      }),
    );
    expect(await Promise.all(runs)).toEqual(Array(5).fill('MAPPING_TIMEOUT'));
    await timer;
    expect(endedBeforeTimer).toBeLessThan(3);
  });

  it('applies the default limit given to the loader when the mapping states none', async () => {
    const file = mapping('forever-default', { expression: '($loop := function($n) { $loop($n + 1) }; $loop(0))' });
    await expect(runInbound(loadMapping(file, { timeoutMs: 100 }), payload)).rejects.toMatchObject({
      code: 'MAPPING_TIMEOUT',
    });
  });
});

describe('mappings test', () => {
  it('compares stated objectKey, occurredAt and version and reports mismatches like document diffs', async () => {
    const testDir = mkdtempSync(join(tmpdir(), 'handover-envelope-cases-'));
    mkdirSync(join(testDir, 'qms'));
    const file = join(testDir, 'qms', 'versioned.yaml');
    writeFileSync(
      file,
      [
        'id: versioned',
        'version: 1',
        'system: qms',
        'direction: inbound',
        'contentType: json',
        'types: [QualityResult]',
        `expression: '{ "id": resultId, "evaluatedAt": "2024-05-02T09:55:00Z", "disposition": "Pass", "measurements": [] }'`,
        'objectKey: \'"QR-" & id\'',
        "occurredAt: '$payload.at'",
        "objectVersion: '$payload.rev'",
        '',
      ].join('\n'),
    );
    const input = { resultId: 'R1', at: '2024-05-02T10:00:00Z', rev: 3 };
    const expected = [{ id: 'R1', evaluatedAt: '2024-05-02T09:55:00Z', disposition: 'Pass', measurements: [] }];
    writeFileSync(
      file.replace(/\.yaml$/, '.test.yaml'),
      JSON.stringify({
        cases: [
          { name: 'right', input, expected, objectKey: 'QR-R1', occurredAt: '2024-05-02T10:00:00Z', version: 3 },
          { name: 'wrong', input, expected, objectKey: 'R1', occurredAt: '2024-05-02T11:00:00Z', version: 4 },
        ],
      }),
    );
    const results = await runMappingTests(testDir);
    expect(results.map(({ name, ok, differences }) => ({ name, ok, differences }))).toEqual([
      { name: 'right', ok: true, differences: [] },
      {
        name: 'wrong',
        ok: false,
        differences: [
          '/0 objectKey: expected "R1", got "QR-R1"',
          '/0 occurredAt: expected "2024-05-02T11:00:00Z", got "2024-05-02T10:00:00Z"',
          '/0 version: expected 4, got 3',
        ],
      },
    ]);
  });
});
