/**
 * `--role api` and `--role worker` processes start at the same time on one SQLite file: each must
 * open (and migrate) it while the others do, whatever the interleaving. Real processes on a real
 * file (from the build: `npm test` builds first).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const store = resolve(__dirname, '..', '..', 'dist', 'hub', 'store', 'index.js');

/** Opens the store at `dir` once the clock passes `at` (so the processes open at the same instant). */
const opener = `
const { openStore } = require(${JSON.stringify(store)});
const [dir, at] = process.argv.slice(1);
const go = () => openStore({ dataDir: dir })
  .then(async (db) => { await db.query('SELECT 1 AS ok'); await db.close(); })
  .catch((error) => { process.stdout.write(error.message); process.exitCode = 1; });
const spin = () => (Date.now() >= Number(at) ? go() : setImmediate(spin));
spin();
`;

function openAt(dir: string, at: number): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, ['-e', opener, dir, String(at)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return new Promise((done) => child.on('close', (code) => done({ code, output })));
}

describe('SQLite opened by several processes at once', () => {
  it('opens a fresh store in four processes started together, every time', async () => {
    const failures: string[] = [];
    for (let round = 0; round < 40; round += 1) {
      const dir = mkdtempSync(join(tmpdir(), 'handover-open-'));
      // Far enough ahead for all four to have loaded the store's modules.
      const at = Date.now() + 600;
      try {
        const results = await Promise.all([1, 2, 3, 4].map(() => openAt(dir, at)));
        for (const result of results) if (result.code !== 0) failures.push(`round ${round}: ${result.output}`);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
    expect(failures).toEqual([]);
  }, 120_000);
});
