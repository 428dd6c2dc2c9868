/**
 * The map stage: a raw payload becomes canonical envelopes. B2MML goes through the codec and
 * canonical JSON is taken as it is; system-specific mappings plug in here.
 */
import { readB2mml, B2mmlError } from '../../schemas/b2mml/index';
import { readCanonicalJson } from '../../schemas/canonical-json';
import type { CanonicalEnvelope } from '../../schemas/index';
import type { Problem } from '../../schemas/problem';
import { MappingError, payloadOf, runInbound, type Mapping } from '../../mappings/engine/mapping';
import type { MappingRegistry } from '../../mappings/engine/registry';
import type { InboundMessage } from './jobs';

/** What translated a message (or failed to): `id@version` of a mapping with its text's digest, or the codec's name. */
export interface TranslatedBy {
  name: string;
  /** A mapping's: which text of its `id@version` (hub/store/mapping-versions.ts keeps each). */
  digest?: string;
}

export type Translation =
  | { ok: true; mapping: TranslatedBy; envelopes: CanonicalEnvelope[] }
  | { ok: false; code: string; problems: Problem[]; mapping?: TranslatedBy };

const by = (mapping: Mapping): TranslatedBy => ({ name: mapping.name, digest: mapping.digest });

/**
 * Translates one inbound message; the envelopes carry the hub's message id and the authenticated
 * system. A mapping of the sending system that matches the payload comes first.
 */
export async function translate(job: InboundMessage, mappings: MappingRegistry): Promise<Translation> {
  if (mappings.hasInbound(job.system, job.contentType)) {
    let payload: unknown;
    try {
      payload = payloadOf(job.contentType, job.body);
    } catch (error) {
      // Bytes that do not parse never will: a dead letter at once, not a job retried for hours.
      if (error instanceof B2mmlError) return { ok: false, code: error.code, problems: error.problems };
      const reason = `not ${job.contentType === 'json' ? 'JSON' : 'XML'}: ${(error as Error).message.split('\n')[0]}`;
      return { ok: false, code: 'PAYLOAD_MALFORMED', problems: [{ path: '/', reason }] };
    }
    let mapping: Mapping | undefined;
    try {
      mapping = await mappings.inboundFor(job.system, job.contentType, payload);
    } catch (error) {
      if (error instanceof MappingError) return mappingFailure(error, error.file);
      throw error;
    }
    if (mapping) return translateWith(mapping, job, payload);
  }
  if (job.contentType === 'xml') {
    try {
      const result = readB2mml(job.body, { sourceSystem: job.system, receivedAt: job.receivedAt });
      const envelopes = result.envelopes.map((envelope) => ({ ...envelope, messageId: job.messageId }));
      return {
        ok: true,
        mapping: { name: `b2mml-${result.release.toLowerCase()}:${result.verb}${result.noun}` },
        envelopes,
      };
    } catch (error) {
      if (error instanceof B2mmlError) return { ok: false, code: error.code, problems: error.problems };
      throw error;
    }
  }
  const { envelopes, problems } = readCanonicalJson(job.body, {
    sourceSystem: job.system,
    ...(job.type === undefined ? {} : { type: job.type }),
  });
  const impersonation = envelopes.flatMap((envelope, index) =>
    envelope.sourceSystem === job.system
      ? []
      : [
          {
            path: `/${index}/sourceSystem`,
            reason: `"${envelope.sourceSystem}" is not the authenticated system "${job.system}"`,
          },
        ],
  );
  if (problems.length || impersonation.length) {
    return {
      ok: false,
      code: impersonation.length ? 'SOURCE_SYSTEM_MISMATCH' : 'CANONICAL_INVALID',
      problems: [...problems, ...impersonation],
    };
  }
  if (envelopes.length === 0)
    return { ok: false, code: 'CANONICAL_INVALID', problems: [{ path: '/', reason: 'no documents' }] };
  const stamped = envelopes.map((envelope) => ({ ...envelope, messageId: job.messageId, receivedAt: job.receivedAt }));
  return { ok: true, mapping: { name: 'canonical-json' }, envelopes: stamped };
}

async function translateWith(mapping: Mapping, job: InboundMessage, payload: unknown): Promise<Translation> {
  try {
    const documents = await runInbound(mapping, payload);
    if (documents.length === 0) return { ok: true, mapping: by(mapping), envelopes: [] };
    const envelopes = documents.map((mapped) => {
      const envelope = {
        messageId: job.messageId,
        type: mapped.type,
        objectKey: mapped.objectKey,
        sourceSystem: job.system,
        occurredAt: mapped.occurredAt ?? job.receivedAt,
        receivedAt: job.receivedAt,
        document: mapped.document,
      } as CanonicalEnvelope;
      if (mapped.version !== undefined) envelope.version = mapped.version;
      return envelope;
    });
    return { ok: true, mapping: by(mapping), envelopes };
  } catch (error) {
    if (error instanceof MappingError) return { ...mappingFailure(error, mapping.name), mapping: by(mapping) };
    throw error;
  }
}

/** A mapping error as a translation failure, every problem naming the mapping and its file. */
function mappingFailure(error: MappingError, name: string): Translation {
  const where = name === error.file ? error.file : `${name} (${error.file})`;
  return {
    ok: false,
    code: error.code,
    problems: error.problems.map((p) => ({ ...p, reason: `${where}: ${p.reason}` })),
  };
}
