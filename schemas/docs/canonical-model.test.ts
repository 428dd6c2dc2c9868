/** Keeps docs/canonical-model.md in step with the schemas it is generated from. */
import { readFileSync } from 'node:fs';
import { REQUEST_STATES } from '../common';
import { CANONICAL_TYPES } from '../index';
import { renderCanonicalModel } from './canonical-model';
import { canonicalModelPath } from './generate-canonical-model';

const rendered = renderCanonicalModel();

describe('docs/canonical-model.md', () => {
  it('is what the schemas generate', () => {
    const written = readFileSync(canonicalModelPath(), 'utf8');
    // A bare diff would not say how to fix it; the message does.
    if (written !== rendered) {
      throw new Error(
        'docs/canonical-model.md is stale or hand-edited: run `npm run build && npm run docs:generate` and commit it',
      );
    }
  });

  it('says it is generated on its first line', () => {
    expect(rendered.split('\n')[0]).toMatch(/^<!--.*npm run docs:generate.*-->$/);
  });

  it.each(CANONICAL_TYPES)('documents %s', (type) => {
    expect(rendered).toContain(`### ${type}\n`);
  });

  it('credits MESA for B2MML', () => {
    expect(rendered).toContain(
      'The Business To Manufacturing Markup Language (B2MML) is used courtesy of MESA International.',
    );
  });

  it.each(REQUEST_STATES)('lists the RequestState value %s', (state) => {
    expect(rendered).toContain(`\`${state}\``);
  });
});
