/** Writes docs/canonical-model.md; run after a build as `npm run docs:generate`. */
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { renderCanonicalModel } from './canonical-model';

/**
 * The folder holding package.json above `start`. Searched rather than fixed because this file runs
 * from dist/schemas/docs/ after a build but from schemas/docs/ under ts-jest.
 */
export function repositoryRoot(start: string = __dirname): string {
  let folder = path.resolve(start);
  while (!existsSync(path.join(folder, 'package.json'))) {
    const parent = path.dirname(folder);
    if (parent === folder) throw new Error(`no package.json above ${start}`);
    folder = parent;
  }
  return folder;
}

/** Where the generated reference lives. */
export function canonicalModelPath(root: string = repositoryRoot()): string {
  return path.join(root, 'docs', 'canonical-model.md');
}

if (require.main === module) {
  const target = canonicalModelPath();
  writeFileSync(target, renderCanonicalModel());
  console.log(`wrote ${path.relative(process.cwd(), target)}`);
}
