/** `handover validate FILE [--type T]`: exit 0 when valid, 1 with one `path: reason` line per problem. */
import { formatProblems } from '../../schemas/problem';
import { EXIT, type CliIo } from './io';
import { readInput } from './read-input';

export function validateCommand(io: CliIo, file: string, type?: string): number {
  const input = readInput(io, file, type);
  if (input.problems.length > 0) {
    io.out(`${formatProblems(input.problems)}\n`);
    io.err(
      `${file}: invalid (${input.code}), ${input.problems.length} problem${input.problems.length === 1 ? '' : 's'}\n`,
    );
    return EXIT.invalid;
  }
  io.out(`${file}: valid ${input.summary}\n`);
  return EXIT.ok;
}
