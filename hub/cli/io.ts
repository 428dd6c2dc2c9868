import { resolve } from 'node:path';

/** What a CLI command writes to and reads from, so commands run the same in tests and in a shell. */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  readFile(path: string): Buffer;
  /** Standard input, read to its end (a password piped in). */
  readStdin?(): Promise<string>;
}

/** Where the commands that work on the hub's database find it: the same variables as `start`. */
export function storeOptions(env: NodeJS.ProcessEnv = process.env): { dataDir: string; databaseUrl?: string } {
  return {
    dataDir: resolve(env.HANDOVER_DATA_DIR ?? 'var'),
    ...(env.DATABASE_URL ? { databaseUrl: env.DATABASE_URL } : {}),
  };
}

/** Exit codes every command shares: 3 is for a hub that cannot be reached. */
export const EXIT = { ok: 0, invalid: 1, usage: 2, unavailable: 3 } as const;

/** Thrown for a command line that cannot be run; main prints it with the usage and exits 2. */
export class UsageError extends Error {}
