/** Running the hub as its own process through its command line, as operators do: for end-to-end tests and benchmarks. */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { examples } from '../../schemas/examples';
import { waitFor } from './http-target';
import { repoRoot } from './paths';

export { freePort } from '../../hub/net';

/**
 * Runs `handover <args>` from the TypeScript sources (tsx), or from the build with `fromBuild`
 * (faster start, needs `npm run build`).
 */
export function spawnHandover(
  args: string[],
  options: {
    env: NodeJS.ProcessEnv;
    stdout?: 'pipe' | 'ignore';
    stderr?: 'pipe' | 'inherit';
    fromBuild?: boolean;
    nodeOptions?: string[];
  },
): ChildProcess {
  const entry = options.fromBuild
    ? [join(repoRoot, 'dist', 'hub', 'cli', 'main.js')]
    : ['--import', 'tsx', join(repoRoot, 'hub', 'cli', 'main.ts')];
  return spawn(process.execPath, [...(options.nodeOptions ?? []), ...entry, ...args], {
    env: options.env,
    cwd: repoRoot,
    stdio: ['ignore', options.stdout ?? 'ignore', options.stderr ?? 'inherit'],
  });
}

/** Resolves once the hub at `url` answers /readyz. */
export async function hubReady(url: string, timeoutMs = 60000): Promise<void> {
  await waitFor(
    async () => (await fetch(`${url}/readyz`).catch(() => undefined))?.ok,
    timeoutMs,
    `hub at ${url} ready`,
  );
}

/** The smallest useful configuration: ERP owns orders, routed to MES at `targetUrl`. */
export function ordersConfigYaml(targetUrl: string): string {
  return `systems:
  - { id: erp, name: ERP, processOwner: Planning, technicalOwner: IT }
  - { id: mes, name: MES, processOwner: Production, technicalOwner: IT }
ownership:
  ProductionOrder: { owner: erp }
routes:
  - { id: orders-to-mes, target: mes, types: [ProductionOrder], url: "${targetUrl}/orders", timeoutMs: 5000 }
`;
}

/** Writes ordersConfigYaml to `dir` and returns its path. */
export function writeOrdersConfig(dir: string, targetUrl: string): string {
  const file = join(dir, 'hub.yaml');
  writeFileSync(file, ordersConfigYaml(targetUrl));
  return file;
}

/** A canonical ProductionOrder envelope from `erp`, as JSON text, for load and crash runs. */
export function orderEnvelopeJson(id: string, extra: { version?: number; description?: string } = {}): string {
  return JSON.stringify({
    messageId: 'x',
    type: 'ProductionOrder',
    objectKey: id,
    sourceSystem: 'erp',
    occurredAt: '2024-05-02T06:00:00Z',
    receivedAt: '2024-05-02T06:00:00Z',
    ...(extra.version === undefined ? {} : { version: extra.version }),
    document: {
      ...examples.ProductionOrder,
      id,
      ...(extra.description === undefined ? {} : { description: extra.description }),
    },
  });
}

/**
 * Writes the seed plant's configuration (seeds/packaging-line/handover.yaml: its systems, ownership
 * rules and context engine) to `dir` without its connectors and with `routes` instead of the seed's,
 * which point at the demo's simulated systems; returns its path.
 */
export function writePackagingLineConfig(dir: string, routes: Array<Record<string, unknown>> = []): string {
  const seed = parse(readFileSync(join(repoRoot, 'seeds', 'packaging-line', 'handover.yaml'), 'utf8')) as Record<
    string,
    unknown
  >;
  delete seed['connectors'];
  const file = join(dir, 'handover.yaml');
  writeFileSync(file, stringify({ ...seed, routes }));
  return file;
}

/** kill -9 of a hub process; resolves once it is gone. */
export async function killHard(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGKILL');
  await exited;
}
