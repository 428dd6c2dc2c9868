/** Loading a CLI input file as B2MML XML or canonical JSON, told apart by its first character. */
import { readCanonicalJson } from '../../schemas/canonical-json';
import type { CanonicalEnvelope } from '../../schemas/index';
import type { Problem } from '../../schemas/problem';
import { B2mmlError, readB2mml, readConfirmBod, type ConfirmBod } from '../../schemas/b2mml/index';
import { UsageError, type CliIo } from './io';

export type Input =
  | {
      format: 'xml';
      summary: string;
      envelopes: CanonicalEnvelope[];
      confirmBod?: ConfirmBod;
      problems: Problem[];
      code?: string;
    }
  | { format: 'json'; summary: string; envelopes: CanonicalEnvelope[]; problems: Problem[]; code?: string };

/** Reads `file`; problems are returned, not thrown, so callers can print them all. */
export function readInput(io: CliIo, file: string, type?: string): Input {
  let content: Buffer;
  try {
    content = io.readFile(file);
  } catch (error) {
    throw new UsageError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  const text = content.toString('utf8').replace(/^\uFEFF/, '');
  if (text.trimStart().startsWith('<')) return readXml(text);
  const { envelopes, problems } = readCanonicalJson(text, type === undefined ? {} : { type });
  return {
    format: 'json',
    summary: `canonical JSON, ${describe(envelopes)}`,
    envelopes,
    problems,
    code: problems.length ? 'CANONICAL_INVALID' : undefined,
  };
}

function readXml(text: string): Input {
  try {
    if (/^\s*(<\?xml[^>]*\?>\s*)?(<!--[\s\S]*?-->\s*)*<([\w-]+:)?ConfirmBOD[\s>]/.test(text)) {
      const confirmBod = readConfirmBod(text);
      return {
        format: 'xml',
        summary: `ConfirmBOD for BODID ${confirmBod.original.bodId ?? '(none)'}`,
        envelopes: [],
        confirmBod,
        problems: [],
      };
    }
    const result = readB2mml(text);
    const summary = `${result.verb}${result.noun} (${result.release}), ${describe(result.envelopes)}`;
    return { format: 'xml', summary, envelopes: result.envelopes, problems: [] };
  } catch (error) {
    if (error instanceof B2mmlError) {
      const problems = error.problems.length > 0 ? error.problems : [{ path: '/', reason: error.message }];
      return { format: 'xml', summary: error.message, envelopes: [], problems, code: error.code };
    }
    throw error;
  }
}

function describe(envelopes: CanonicalEnvelope[]): string {
  const list = envelopes.map((envelope) => `${envelope.type} ${envelope.objectKey}`).join(', ');
  return `${envelopes.length} document${envelopes.length === 1 ? '' : 's'}${list ? `: ${list}` : ''}`;
}
