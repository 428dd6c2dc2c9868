/**
 * All mapping files under a directory (`mappings/<system>/*.yaml`), selectable by system and
 * payload. Reloading never replaces a working mapping with one that fails to load.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { loadMapping, MappingError, type LoadOptions, type Mapping } from './mapping';

/** The mapping files below `dir`, test files excluded. */
export function mappingFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((entry) => statSync(join(dir, entry)).isDirectory() && entry !== 'engine')
    .flatMap((system) =>
      readdirSync(join(dir, system))
        .filter((file) => file.endsWith('.yaml') && !file.endsWith('.test.yaml'))
        .sort()
        .map((file) => join(dir, system, file)),
    );
}

export class MappingRegistry {
  private readonly byFile = new Map<string, Mapping>();
  /** Files that failed to load at the last (re)load; their previous version, if any, stays in use. */
  failures: MappingError[] = [];
  /** Counts the (re)loads: what was loaded may have changed since a caller last looked. */
  generation = 0;

  constructor(
    readonly dir: string,
    readonly options: LoadOptions = {},
  ) {
    this.reload();
  }

  /**
   * Loads every file again; a file that fails keeps its previous working version, and a file no
   * longer there is no longer used.
   */
  reload(): { loaded: number; failed: MappingError[] } {
    const failures: MappingError[] = [];
    const files = mappingFiles(this.dir);
    for (const file of [...this.byFile.keys()]) if (!files.includes(file)) this.byFile.delete(file);
    for (const file of files) {
      try {
        this.byFile.set(file, loadMapping(file, this.options));
      } catch (error) {
        if (error instanceof MappingError) failures.push(error);
        else throw error;
      }
    }
    this.failures = failures;
    this.generation += 1;
    return { loaded: this.byFile.size, failed: failures };
  }

  all(): Mapping[] {
    return [...this.byFile.values()];
  }

  /** True when `system` has inbound mappings for this content type (so its payloads are worth parsing for them). */
  hasInbound(system: string, contentType: 'json' | 'xml'): boolean {
    return this.all().some(
      ({ spec }) => spec.direction === 'inbound' && spec.system === system && spec.contentType === contentType,
    );
  }

  /** The first inbound mapping of `system` for this content type whose `match` accepts the payload. */
  async inboundFor(system: string, contentType: 'json' | 'xml', payload: unknown): Promise<Mapping | undefined> {
    for (const mapping of this.byFile.values()) {
      const { spec } = mapping;
      if (
        spec.direction === 'inbound' &&
        spec.system === system &&
        spec.contentType === contentType &&
        (await mapping.matches(payload))
      ) {
        return mapping;
      }
    }
    return undefined;
  }

  /** The outbound mapping that turns `type` into `system`'s payload, if there is one. */
  outboundFor(system: string, type: string): Mapping | undefined {
    return this.all().find(
      ({ spec }) => spec.direction === 'outbound' && spec.system === system && (spec.types as string[]).includes(type),
    );
  }
}

/**
 * A registry of one mapping, for its system and content type, chosen whatever its `match` says (the
 * answer is kept in `matched`): what a dry run and a replay with a kept mapping version translate
 * with. A registry of no directory: it loads no file.
 */
export class SingleMappingRegistry extends MappingRegistry {
  matched: boolean | undefined;

  constructor(private readonly mapping: Mapping) {
    super('');
  }

  override hasInbound(system: string, contentType: 'json' | 'xml'): boolean {
    return system === this.mapping.spec.system && contentType === this.mapping.spec.contentType;
  }

  override async inboundFor(_system: string, _contentType: 'json' | 'xml', payload: unknown): Promise<Mapping> {
    this.matched = await this.mapping.matches(payload);
    return this.mapping;
  }
}
