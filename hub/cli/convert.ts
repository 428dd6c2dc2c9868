/**
 * `handover convert FILE --to json|b2mml`: B2MML XML → canonical envelopes (JSON array), or
 * canonical JSON → B2MML V0700 XML. Invalid input exits 1 with `path: reason` lines on stdout.
 */
import { B2mmlError, B2MML_VERBS, writeB2mml, type B2mmlVerb } from '../../schemas/b2mml/index';
import { formatProblems } from '../../schemas/problem';
import { EXIT, UsageError, type CliIo } from './io';
import { readInput } from './read-input';

export interface ConvertOptions {
  to: string;
  type?: string;
  verb?: string;
  sender?: string;
}

export function convertCommand(io: CliIo, file: string, options: ConvertOptions): number {
  if (options.to !== 'json' && options.to !== 'b2mml')
    throw new UsageError(`--to must be json or b2mml, not "${options.to}"`);
  if (options.verb !== undefined && !(B2MML_VERBS as readonly string[]).includes(options.verb)) {
    throw new UsageError(`--verb must be one of ${B2MML_VERBS.join(', ')}`);
  }
  const input = readInput(io, file, options.type);
  if (input.problems.length > 0) {
    io.out(`${formatProblems(input.problems)}\n`);
    io.err(`${file}: invalid (${input.code}), nothing converted\n`);
    return EXIT.invalid;
  }
  if (options.to === 'json') {
    const output = input.format === 'xml' && input.confirmBod ? input.confirmBod : input.envelopes;
    io.out(`${JSON.stringify(output, null, 2)}\n`);
    return EXIT.ok;
  }
  if (input.format === 'xml') throw new UsageError(`${file} is already XML; --to b2mml converts canonical JSON`);
  try {
    const writeOptions: { verb?: B2mmlVerb; sender?: string } = {};
    if (options.verb !== undefined) writeOptions.verb = options.verb as B2mmlVerb;
    if (options.sender !== undefined) writeOptions.sender = options.sender;
    io.out(`${writeB2mml(input.envelopes, writeOptions)}\n`);
    return EXIT.ok;
  } catch (error) {
    if (!(error instanceof B2mmlError)) throw error;
    io.out(`${formatProblems(error.problems)}\n`);
    io.err(`${file}: ${error.code}: ${error.message}\n`);
    return EXIT.invalid;
  }
}
