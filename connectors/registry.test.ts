import { readdirSync, statSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { connectors } from './index';

describe('connector registry', () => {
  const folders = readdirSync(__dirname).filter((entry) => statSync(join(__dirname, entry)).isDirectory());

  it.each(folders)('%s is registered in connectors/index.ts under its kind, with a README', (folder) => {
    expect(Object.keys(connectors)).toContain(folder);
    expect(connectors[folder]!.kind).toBe(folder);
    expect(existsSync(join(__dirname, folder, 'README.md'))).toBe(true);
  });

  it.each(Object.values(connectors).map((definition) => [definition.kind, definition] as const))(
    '%s documents every configuration field',
    (_kind, definition) => {
      const properties =
        (definition.configSchema as { properties?: Record<string, { description?: string }> }).properties ?? {};
      const undocumented = Object.entries(properties).filter(
        ([, schema]) => !schema.description && !(schema as { anyOf?: unknown }).anyOf,
      );
      expect(undocumented.map(([name]) => name)).toEqual([]);
    },
  );
});
