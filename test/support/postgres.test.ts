import pg from 'pg';
import { freshSchema, postgresTestUrl, type FreshSchema } from './postgres';

async function query<T extends pg.QueryResultRow>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

async function schemaExists(name: string): Promise<boolean> {
  const rows = await query(postgresTestUrl(), 'SELECT 1 FROM information_schema.schemata WHERE schema_name = $1', [
    name,
  ]);
  return rows.length === 1;
}

describe('freshSchema', () => {
  let a: FreshSchema;
  let b: FreshSchema;

  beforeAll(async () => {
    [a, b] = await Promise.all([freshSchema(), freshSchema()]);
  });

  afterAll(async () => {
    await Promise.all([a.drop(), b.drop()]);
  });

  it('creates a distinct schema each time', () => {
    expect(a.schema).toMatch(/^t_[0-9a-f]+$/);
    expect(b.schema).not.toBe(a.schema);
  });

  it('gives a URL whose unqualified names resolve in that schema', async () => {
    await query(a.url, 'CREATE TABLE items (id integer PRIMARY KEY)');
    const rows = await query(
      postgresTestUrl(),
      "SELECT 1 FROM information_schema.tables WHERE table_schema = $1 AND table_name = 'items'",
      [a.schema],
    );
    expect(rows).toHaveLength(1);
    expect(await query(a.url, 'SELECT current_schema() AS schema')).toEqual([{ schema: a.schema }]);
  });

  it('keeps two schemas apart: same table name, separate rows', async () => {
    await query(b.url, 'CREATE TABLE notes (body text)');
    await query(a.url, 'CREATE TABLE notes (body text)');
    await query(a.url, "INSERT INTO notes VALUES ('only in a')");
    expect(await query(a.url, 'SELECT body FROM notes')).toEqual([{ body: 'only in a' }]);
    expect(await query(b.url, 'SELECT body FROM notes')).toEqual([]);
    await expect(query(b.url, 'SELECT * FROM items')).rejects.toThrow(/does not exist/);
  });

  it('drops the schema and everything in it', async () => {
    const schema = await freshSchema();
    await query(schema.url, 'CREATE TABLE doomed (id integer)');
    expect(await schemaExists(schema.schema)).toBe(true);
    await schema.drop();
    expect(await schemaExists(schema.schema)).toBe(false);
  });
});
