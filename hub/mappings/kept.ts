/**
 * Translating with a kept mapping version (hub/store/mapping-versions.ts): what a replay "with the
 * original mapping" runs, whatever the mapping files say now.
 */
import { compileMapping } from '../../mappings/engine/mapping';
import { SingleMappingRegistry, type MappingRegistry } from '../../mappings/engine/registry';
import type { HubContext } from '../context';
import { keepMappingVersions, keptMappingVersion } from '../store/index';

/** The registry generation whose mappings each registry's store keeps already. */
const keptGeneration = new WeakMap<MappingRegistry, number>();

/**
 * Keeps the text of every mapping loaded now (once per load of the registry: at start, and after a
 * reload), before a message is translated with one: every version a message names is in the store.
 */
export async function keepLoadedVersions(ctx: Pick<HubContext, 'db' | 'mappings'>): Promise<void> {
  const { generation } = ctx.mappings;
  if (keptGeneration.get(ctx.mappings) === generation) return;
  await keepMappingVersions(ctx.db, ctx.mappings.all());
  keptGeneration.set(ctx.mappings, generation);
}

/** Compiled kept versions, by `name#digest`: a version's text never changes, so neither does its compilation. */
const compiled = new Map<string, SingleMappingRegistry>();

/**
 * The registry a message pinned to `pin` translates with: the kept version alone, chosen whatever
 * its `match` says (it translated this payload first). Throws when the store keeps no such version
 * (the job's retries, then a dead letter, say so).
 */
export async function pinnedRegistry(
  ctx: Pick<HubContext, 'db' | 'mappings'>,
  pin: { name: string; digest?: string },
): Promise<MappingRegistry> {
  const key = `${pin.name}#${pin.digest ?? ''}`;
  let registry = compiled.get(key);
  if (!registry) {
    const kept = await keptMappingVersion(ctx.db, pin.name, pin.digest);
    if (!kept) throw new Error(`mapping ${pin.name} (${pin.digest ?? 'any text'}) is not kept in this store`);
    const mapping = compileMapping(kept.source, `${kept.file} as kept (${kept.digest})`, ctx.mappings.options);
    registry = new SingleMappingRegistry(mapping);
    compiled.set(key, registry);
  }
  return registry;
}
