import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../test/support/paths';
import { B2MML_ERRORS } from './b2mml/errors';

describe('docs/errors.md', () => {
  const doc = readFileSync(join(repoRoot, 'docs', 'errors.md'), 'utf8');

  it.each(Object.keys(B2MML_ERRORS))('documents %s with its HTTP status', (code) => {
    const row = doc.split('\n').find((line) => line.startsWith(`| \`${code}\` |`));
    expect(row).toBeDefined();
    expect(row).toContain(`| ${B2MML_ERRORS[code as keyof typeof B2MML_ERRORS].status} |`);
  });

  it('documents the canonical JSON code the CLI prints', () => {
    expect(doc).toContain('| `CANONICAL_INVALID` |');
  });
});
