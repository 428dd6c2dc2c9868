import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../test/support/paths';
import { B2MML_ERRORS } from './b2mml/errors';

describe('docs/errors.md', () => {
  const doc = readFileSync(join(repoRoot, 'docs', 'errors.md'), 'utf8');
  const rows = doc
    .split('\n')
    .filter((line) => line.startsWith('|'))
    .map((line) =>
      line
        .split('|')
        .slice(1, -1)
        .map((cell) => cell.trim()),
    );

  it.each(Object.keys(B2MML_ERRORS))('documents %s with its HTTP status', (code) => {
    const cells = rows.find((row) => row[0] === `\`${code}\``);
    expect(cells).toBeDefined();
    expect(cells![1]).toBe(String(B2MML_ERRORS[code as keyof typeof B2MML_ERRORS].status));
  });

  it('documents the canonical JSON code the CLI prints', () => {
    expect(rows.some((row) => row[0] === '`CANONICAL_INVALID`')).toBe(true);
  });
});
