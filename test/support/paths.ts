/** Where tests find the repository and the shared B2MML schemas (../shared beside the clone). */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const repoRoot = resolve(__dirname, '..', '..');
export const sharedDir = process.env.HANDOVER_SHARED_DIR ?? resolve(repoRoot, '..', 'shared');
export const b2mmlDir = join(sharedDir, 'b2mml');

if (!existsSync(b2mmlDir)) throw new Error(`B2MML schemas not found at ${b2mmlDir}: set HANDOVER_SHARED_DIR`);
