/** This release's version, from package.json (read at start: the build does not copy it into dist). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

function readVersion(): string {
  // hub/version.ts runs from the repository (tsx, jest) or from dist/hub/version.js.
  for (const up of ['..', '../..']) {
    try {
      const text = readFileSync(join(__dirname, up, 'package.json'), 'utf8');
      const parsed = JSON.parse(text) as { name?: string; version?: string };
      if (parsed.name === 'handover' && parsed.version) return parsed.version;
    } catch {
      // not at this level
    }
  }
  return 'unknown';
}

export const HUB_VERSION = readVersion();
