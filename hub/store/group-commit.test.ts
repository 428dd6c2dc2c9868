/**
 * SQLite's group commit on a real file: transactions that queue up while one runs are committed
 * together, but never for so long that the process's event loop stops answering (HTTP, BullMQ's
 * lock renewals, the metrics scrape).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDb, type Db } from './db';

/** Holds the thread for `ms`, as a transaction's own statements and JavaScript do. */
function busy(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

describe('the SQLite group commit', () => {
  let dir: string;
  let db: Db;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'handover-group-commit-'));
    db = openDb({ sqliteFile: join(dir, 'handover.db') });
    await db.execute('CREATE TABLE rows (n INTEGER PRIMARY KEY)');
  });
  afterEach(async () => {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('lets the event loop run between groups when many transactions wait', async () => {
    // 60 transactions of 5 ms each arrive at once. In one group they held the loop for 300 ms:
    // a timer due every millisecond waited that long.
    const ticks: number[] = [];
    const timer = setInterval(() => ticks.push(performance.now()), 1);
    await new Promise((resolve) => setTimeout(resolve, 5));
    await Promise.all(
      Array.from({ length: 60 }, (_, n) =>
        db.transaction(async (tx) => {
          busy(5);
          await tx.execute('INSERT INTO rows (n) VALUES ($1)', [n]);
        }),
      ),
    );
    ticks.push(performance.now());
    clearInterval(timer);
    const gaps = ticks.slice(1).map((tick, index) => tick - ticks[index]!);
    expect(Math.max(...gaps)).toBeLessThan(150);
    // Nothing is lost or reordered by committing in several groups.
    const rows = await db.query<{ n: number }>('SELECT n FROM rows ORDER BY n');
    expect(rows.map((row) => Number(row.n))).toEqual(Array.from({ length: 60 }, (_, n) => n));
  });

  it('still commits transactions that arrive together in one group, each all or nothing', async () => {
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, (_, n) =>
        db.transaction(async (tx) => {
          await tx.execute('INSERT INTO rows (n) VALUES ($1)', [n]);
          if (n === 4) throw new Error('this one fails');
          await tx.execute('INSERT INTO rows (n) VALUES ($1)', [100 + n]);
        }),
      ),
    );
    expect(results.map((result) => result.status)).toEqual(
      Array.from({ length: 10 }, (_, n) => (n === 4 ? 'rejected' : 'fulfilled')),
    );
    const rows = await db.query<{ n: number }>('SELECT n FROM rows ORDER BY n');
    expect(rows.map((row) => Number(row.n)).filter((n) => n % 100 === 4)).toEqual([]);
    expect(rows).toHaveLength(18);
  });
});
