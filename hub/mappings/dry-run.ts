/**
 * The hub's mappings as operators see them: what a mapping makes of a payload, run as ingest runs
 * it but writing nothing, and which mappings are loaded and which of their versions messages name.
 */
import { relative } from 'node:path';
import type { Mapping } from '../../mappings/engine/mapping';
import { SingleMappingRegistry, type MappingRegistry } from '../../mappings/engine/registry';
import type { CanonicalEnvelope } from '../../schemas/index';
import type { Problem } from '../../schemas/problem';
import type { HubContext } from '../context';
import { translate } from '../pipeline/translate';

export interface DryRunRequest {
  /** The id of an inbound mapping the hub has loaded. */
  mapping: string;
  /** That version only; without it, the highest version loaded under the id. */
  version?: number;
  /** The payload's content type; the mapping's own when not given. */
  contentType?: 'json' | 'xml';
  body: string;
  /** When the payload is taken to arrive (the envelopes' receivedAt, and occurredAt where the mapping states none); now by default. */
  receivedAt?: string;
}

export interface MappingRef {
  id: string;
  version: number;
}

/** An envelope as ingest makes it, less the message id a payload gets only when the door accepts it. */
export type DryRunDocument = Omit<CanonicalEnvelope, 'messageId'>;

export type DryRunResult =
  | {
      ok: true;
      mapping: MappingRef;
      /**
       * Whether the mapping's `match` accepts the payload. When false, ingest would not choose this
       * mapping for it (another of the system's mappings, or the B2MML codec or canonical JSON,
       * would get it); the documents show what this mapping would make all the same.
       */
      matched: boolean;
      documents: DryRunDocument[];
    }
  | {
      ok: false;
      mapping: MappingRef;
      /** As above; absent when the payload did not parse, so `match` never ran. */
      matched?: boolean;
      /** The code and problems ingest would file the dead letter under. */
      error: { code: string; problems: Problem[] };
    };

/**
 * Runs `request.body` through the named inbound mapping the way ingest does — ingest's own
 * translate stage: parsed as JSON or XML, mapped, every document checked against its canonical
 * schema and its key, time and version checked — and returns the envelopes, or the error code and
 * problems (`PAYLOAD_MALFORMED`, an XML_* code, `MAPPING_FAILED`, `MAPPING_OUTPUT_INVALID`,
 * `MAPPING_TIMEOUT`) a dead letter would carry. It is given no store or queue: nothing is written.
 * Resolves to undefined when the hub has no inbound mapping of that id (and version).
 *
 * What it does not run: the door's checks before a payload is queued (size, UTF-8, JSON depth), and
 * the context engine, which takes its sources' signal messages before any mapping sees them.
 *
 * @example
 * await dryRunMapping(ctx, { mapping: 'scada-stop-event', body: '{"kind":"stop","equipment":"MIXER-01",…}' })
 * // { ok: true, mapping: { id: 'scada-stop-event', version: 1 }, matched: true, documents: [{ type: 'DowntimeEvent', … }] }
 */
export async function dryRunMapping(
  ctx: Pick<HubContext, 'mappings'>,
  request: DryRunRequest,
): Promise<DryRunResult | undefined> {
  const mapping = inboundMapping(ctx.mappings, request.mapping, request.version);
  if (!mapping) return undefined;
  const { spec } = mapping;
  const ref = { id: spec.id, version: spec.version };
  const contentType = request.contentType ?? spec.contentType;
  if (contentType !== spec.contentType) {
    // Ingest never hands a mapping a payload of another content type.
    const reason = `${mapping.name} reads ${spec.contentType.toUpperCase()} payloads, not ${contentType.toUpperCase()}`;
    return { ok: false, mapping: ref, error: { code: 'PAYLOAD_MALFORMED', problems: [{ path: '/', reason }] } };
  }
  const only = new SingleMappingRegistry(mapping);
  const translation = await translate(
    {
      messageId: 'dry-run',
      system: spec.system,
      contentType,
      body: request.body,
      receivedAt: request.receivedAt ?? new Date().toISOString(),
      receivedSeq: 0,
    },
    only,
  );
  const matched = only.matched === undefined ? {} : { matched: only.matched };
  if (!translation.ok)
    return { ok: false, mapping: ref, ...matched, error: { code: translation.code, problems: translation.problems } };
  return {
    ok: true,
    mapping: ref,
    matched: only.matched ?? false,
    documents: translation.envelopes.map(({ messageId: _messageId, ...document }) => document),
  };
}

function inboundMapping(registry: MappingRegistry, id: string, version?: number): Mapping | undefined {
  const candidates = registry
    .all()
    .filter(
      ({ spec }) =>
        spec.direction === 'inbound' && spec.id === id && (version === undefined || spec.version === version),
    );
  return candidates.sort((a, b) => b.spec.version - a.spec.version)[0];
}

/** A version of a mapping that recorded messages name. */
export interface MappingVersionUse {
  version: number;
  messages: number;
  lastReceivedAt: string;
}

export interface MappingListing {
  id: string;
  version: number;
  description?: string;
  system: string;
  direction: 'inbound' | 'outbound';
  contentType: 'json' | 'xml';
  types: string[];
  /** The file, relative to the mappings directory. */
  file: string;
  /**
   * Inbound: the versions of this id the store's messages were translated by (messages.mapping),
   * newest version first: the loaded one, and earlier ones still on record. Outbound mappings are
   * not recorded with messages, so theirs is empty.
   */
  versionsInUse: MappingVersionUse[];
  /** Outbound: the configured routes (`format: mapped`) that render through this mapping. */
  routes?: string[];
}

export interface MappingList {
  mappings: MappingListing[];
  /** Files that failed to load at the last (re)load; a previous working version, if any, is still listed and in use. */
  failures: Array<{ file: string; code: string; problems: Problem[] }>;
}

/**
 * Every mapping the hub has loaded, by system and id, with what uses it. The versions in use come
 * from one aggregate over the messages table (no index serves it: it reads every message row), so
 * this is for an operator's page, not for a poll every second.
 */
export async function listMappings(ctx: Pick<HubContext, 'mappings' | 'db' | 'config'>): Promise<MappingList> {
  const loaded = ctx.mappings.all();
  const uses = await versionsInUse(ctx, new Set(loaded.map(({ spec }) => spec.id)));
  const routes = routesByMapping(ctx);
  const mappings = loaded
    .map((mapping): MappingListing => {
      const { spec } = mapping;
      return {
        id: spec.id,
        version: spec.version,
        ...(spec.description === undefined ? {} : { description: spec.description.trim() }),
        system: spec.system,
        direction: spec.direction,
        contentType: spec.contentType,
        types: [...spec.types],
        file: relative(ctx.mappings.dir, mapping.file),
        versionsInUse: spec.direction === 'inbound' ? (uses.get(spec.id) ?? []) : [],
        ...(spec.direction === 'outbound' ? { routes: routes.get(mapping) ?? [] } : {}),
      };
    })
    .sort((a, b) => a.system.localeCompare(b.system) || a.id.localeCompare(b.id) || b.version - a.version);
  const failures = ctx.mappings.failures.map((failure) => ({
    file: relative(ctx.mappings.dir, failure.file),
    code: failure.code,
    problems: failure.problems,
  }));
  return { mappings, failures };
}

/** Per mapping id, the versions messages.mapping names (`{"name":"<id>@<version>",…}`), newest first. */
async function versionsInUse(ctx: Pick<HubContext, 'db'>, ids: Set<string>): Promise<Map<string, MappingVersionUse[]>> {
  const name = ctx.db.dialect === 'postgres' ? `(mapping::jsonb ->> 'name')` : `json_extract(mapping, '$.name')`;
  const rows = await ctx.db.query<{ name: string | null; messages: number | string; last: string }>(
    `SELECT ${name} AS name, COUNT(*) AS messages, MAX(received_at) AS last
       FROM messages WHERE mapping IS NOT NULL GROUP BY ${name}`,
  );
  const uses = new Map<string, MappingVersionUse[]>();
  for (const row of rows) {
    // Other names are the B2MML codec's, canonical JSON's and the context engine's.
    const at = row.name?.lastIndexOf('@') ?? -1;
    if (at < 0) continue;
    const id = row.name!.slice(0, at);
    const version = Number(row.name!.slice(at + 1));
    if (!ids.has(id) || !Number.isInteger(version)) continue;
    const list = uses.get(id) ?? [];
    list.push({ version, messages: Number(row.messages), lastReceivedAt: String(row.last) });
    uses.set(id, list);
  }
  for (const list of uses.values()) list.sort((a, b) => b.version - a.version);
  return uses;
}

/** The routes each outbound mapping renders for: the one `outboundFor` picks per route target and type, as delivery does. */
function routesByMapping(ctx: Pick<HubContext, 'mappings' | 'config'>): Map<Mapping, string[]> {
  const routes = new Map<Mapping, string[]>();
  for (const route of ctx.config.routes) {
    if (route.format !== 'mapped') continue;
    for (const type of route.types) {
      const mapping = ctx.mappings.outboundFor(route.target, type);
      if (!mapping) continue;
      const list = routes.get(mapping) ?? [];
      if (!list.includes(route.id)) list.push(route.id);
      routes.set(mapping, list);
    }
  }
  return routes;
}
