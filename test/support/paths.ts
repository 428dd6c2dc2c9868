/** Where tests find the repository and the copies of MESA's B2MML schemas and the Sparkplug samples it keeps. */
import { join, resolve } from 'node:path';

export const repoRoot = resolve(__dirname, '..', '..');
/** MESA's B2MML V0700 and V0600 XSDs and the project's skeleton documents (schemas/b2mml/mesa/). */
export const b2mmlDir = join(repoRoot, 'schemas', 'b2mml', 'mesa');
/** The Sparkplug B specification's example payloads (connectors/mqtt/samples/). */
export const samplesDir = join(repoRoot, 'connectors', 'mqtt', 'samples');
