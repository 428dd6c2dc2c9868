/**
 * `handover mappings test [DIR]` runs every mapping's test cases (exit 1 naming each failing case
 * and how it differs); `handover mappings run MAPPING FILE` shows what a mapping makes of a payload.
 */
import { resolve } from 'node:path';
import { wrap } from '../../schemas/canonical-json';
import type { CanonicalEnvelope } from '../../schemas/index';
import { loadMapping, MappingError, payloadOf, runInbound, runOutbound } from '../../mappings/engine/mapping';
import { runMappingTests } from '../../mappings/engine/run-tests';
import { EXIT, UsageError, type CliIo } from './io';

export async function mappingsCommand(io: CliIo, action: string | undefined, args: string[]): Promise<number> {
  if (action === 'test') {
    const dir = resolve(args[0] ?? 'mappings');
    const results = await runMappingTests(dir);
    for (const result of results) {
      io.out(`${result.ok ? 'ok  ' : 'FAIL'} ${result.mapping} › ${result.name}\n`);
      for (const difference of result.differences) io.out(`       ${difference.replace(/\n/g, '\n       ')}\n`);
    }
    const failed = results.filter((result) => !result.ok).length;
    io.err(`${results.length - failed} passed, ${failed} failed\n`);
    return failed === 0 && results.length > 0 ? EXIT.ok : EXIT.invalid;
  }
  if (action === 'run') {
    const [mappingFile, payloadFile] = args;
    if (!mappingFile || !payloadFile) throw new UsageError('mappings run needs MAPPING FILE');
    try {
      const mapping = loadMapping(resolve(mappingFile));
      const body = io.readFile(payloadFile).toString('utf8');
      if (mapping.spec.direction === 'inbound') {
        io.out(`${JSON.stringify(await runInbound(mapping, payloadOf(mapping.spec.contentType, body)), null, 2)}\n`);
      } else {
        const input = JSON.parse(body) as Record<string, unknown>;
        const envelope = (
          'document' in input ? input : wrap(mapping.spec.types[0]!, input as { id: string })
        ) as CanonicalEnvelope;
        io.out(`${await runOutbound(mapping, envelope)}\n`);
      }
      return EXIT.ok;
    } catch (error) {
      if (!(error instanceof MappingError)) throw error;
      io.err(`${error.message}\n`);
      return EXIT.invalid;
    }
  }
  throw new UsageError('mappings needs test or run');
}
