import { contentHash, stableJson } from './stable-json';

/** The text the first release wrote (audit hashes cover it, so it may never change for JSON values). */
function reference(value: unknown): string {
  if (Array.isArray(value))
    return `[${value.map((item) => (item === undefined ? 'null' : reference(item))).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, item]) => item !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${reference(item)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

describe('stableJson', () => {
  it('sorts keys at every depth and keeps array order', () => {
    expect(stableJson({ b: 1, a: [{ d: 2, c: null }, 'x'] })).toBe('{"a":[{"c":null,"d":2},"x"],"b":1}');
    expect(contentHash({ a: 1, b: 2 })).toBe(contentHash({ b: 2, a: 1 }));
  });

  it('writes the same text as the first release for every JSON value, so old audit hashes verify', () => {
    const values: unknown[] = [
      {},
      [],
      '',
      0,
      -0.5,
      1e21,
      true,
      null,
      { é: 'ü', Z: 'z', a: '\u2028\u0000"\\', 10: 1, 9: 2, '': { nested: [1, { y: undefined, x: 2 }] } },
      [undefined, 1, [[]], { k: undefined }],
      { details: { ignoredFields: undefined, routes: ['mes', 'erp'], revision: 3, reason: 'accepted' } },
    ];
    for (const value of values) expect(stableJson(value)).toBe(reference(value));
  });
});
