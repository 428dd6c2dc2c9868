/**
 * PostgreSQL for tests: the test database (.ci/services.sh prepares it), and a fresh schema per use so
 * test files running in parallel never see each other's tables.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** The test database: HANDOVER_TEST_DATABASE_URL, else the role and database .ci/services.sh creates. */
export function postgresTestUrl(): string {
  return process.env.HANDOVER_TEST_DATABASE_URL ?? 'postgres://handover:handover@127.0.0.1:5432/handover_test';
}

/** A schema of its own in the test database, and a URL whose connections use it. */
export interface FreshSchema {
  /** The test database's URL with `options=-c search_path=<schema>`, so unqualified names resolve there. */
  url: string;
  schema: string;
  /** Drops the schema and everything in it. */
  drop(): Promise<void>;
}

/**
 * Creates a uniquely named, empty schema in the test database.
 *
 * @example
 * const schema = await freshSchema();
 * afterAll(() => schema.drop());
 * const db = openDb({ databaseUrl: schema.url, sqliteFile: ':memory:' });
 */
export async function freshSchema(): Promise<FreshSchema> {
  const base = postgresTestUrl();
  const schema = `t_${randomBytes(8).toString('hex')}`;
  await run(base, `CREATE SCHEMA ${schema}`);
  const url = new URL(base);
  // Keeps options the given URL already has (a statement_timeout, say).
  const options = [url.searchParams.get('options'), `-c search_path=${schema}`].filter(Boolean).join(' ');
  url.searchParams.set('options', options);
  return { url: url.toString(), schema, drop: () => run(base, `DROP SCHEMA IF EXISTS ${schema} CASCADE`) };
}

async function run(url: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  try {
    await client.connect();
  } catch (error) {
    const where = new URL(url);
    where.password = '';
    throw new Error(
      `The PostgreSQL test database at ${where.toString()} is not reachable (${(error as Error).message}): ` +
        'run `bash .ci/services.sh`, or set HANDOVER_TEST_DATABASE_URL',
    );
  }
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
