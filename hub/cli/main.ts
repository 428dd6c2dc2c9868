#!/usr/bin/env node
/** The `handover` command line: parses arguments and hands each command to its module. */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { convertCommand } from './convert';
import { EXIT, UsageError, type CliIo } from './io';
import { validateCommand } from './validate';

export const USAGE = `Usage: handover <command> [options]

Commands:
  validate FILE [--type T]                  validate B2MML XML or canonical JSON; exit 1 lists "path: reason" lines
  convert FILE --to json|b2mml [--type T] [--verb V] [--sender ID]
                                            B2MML XML -> canonical envelopes (JSON), canonical JSON -> B2MML V0700
  help                                      this text
`;

/**
 * Runs the CLI and returns its exit code.
 * @example await run(['validate', 'order.xml'], io) // 0
 */
export async function run(argv: string[], io: CliIo): Promise<number> {
  try {
    const { positionals, values } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        type: { type: 'string' },
        to: { type: 'string' },
        verb: { type: 'string' },
        sender: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    const [command, file, ...rest] = positionals;
    if (values.help || command === undefined || command === 'help') {
      io.out(USAGE);
      return command === undefined && !values.help ? EXIT.usage : EXIT.ok;
    }
    if (rest.length > 0) throw new UsageError(`unexpected argument "${rest[0]}"`);
    switch (command) {
      case 'validate':
        return validateCommand(io, required(file, 'validate needs a FILE'), values.type);
      case 'convert':
        return convertCommand(io, required(file, 'convert needs a FILE'), {
          to: required(values.to, 'convert needs --to json or --to b2mml'),
          ...(values.type === undefined ? {} : { type: values.type }),
          ...(values.verb === undefined ? {} : { verb: values.verb }),
          ...(values.sender === undefined ? {} : { sender: values.sender }),
        });
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (error) {
    if (error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      io.err(`handover: ${(error as Error).message}\n\n${USAGE}`);
      return EXIT.usage;
    }
    throw error;
  }
}

function required(value: string | undefined, message: string): string {
  if (value === undefined) throw new UsageError(message);
  return value;
}

const processIo: CliIo = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  readFile: (path) => readFileSync(path),
};

if (require.main === module) {
  run(process.argv.slice(2), processIo).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`handover: internal error: ${(error as Error).message}\n`);
      process.exitCode = 70;
    },
  );
}
