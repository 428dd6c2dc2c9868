/** Test support: a fresh store on each backend (SQLite in a temp dir, PostgreSQL in a fresh schema) for describe.each. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freshSchema } from '../../test/support/postgres';
import { openStore, type Db } from './index';

export type OpenBackend = () => Promise<{ db: Db; drop(): Promise<void> }>;

export const storeBackends: Array<[string, OpenBackend]> = [
  [
    'SQLite',
    async () => ({
      db: await openStore({ dataDir: mkdtempSync(join(tmpdir(), 'handover-store-')) }),
      drop: async () => undefined,
    }),
  ],
  [
    'PostgreSQL',
    async () => {
      const schema = await freshSchema();
      return { db: await openStore({ dataDir: '/nonexistent', databaseUrl: schema.url }), drop: schema.drop };
    },
  ],
];
