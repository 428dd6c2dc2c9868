#!/usr/bin/env node
/** The `handover` command line: parses arguments and hands each command to its module. */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { EXIT, UsageError, type CliIo } from './io';
import { ConfigError } from '../config/errors';

/*
 * Each command's modules are loaded when it runs: `start` does not pay for the codec, the mapping
 * test runner or the audit export before it can take in its first message. (require, not import():
 * Jest's CommonJS runtime cannot run native dynamic imports.)
 */
/* eslint-disable @typescript-eslint/no-require-imports */
const auditCommand: typeof import('./audit.js').auditCommand = (...args) => require('./audit').auditCommand(...args);
const convertCommand: typeof import('./convert.js').convertCommand = (...args) =>
  require('./convert').convertCommand(...args);
const mappingsCommand: typeof import('./mappings.js').mappingsCommand = (...args) =>
  require('./mappings').mappingsCommand(...args);
const oeeCommand: typeof import('./oee.js').oeeCommand = (...args) => require('./oee').oeeCommand(...args);
const usersCommand: typeof import('./users.js').usersCommand = (...args) => require('./users').usersCommand(...args);
const startCommand: typeof import('./start.js').startCommand = (...args) => require('./start').startCommand(...args);
const validateCommand: typeof import('./validate.js').validateCommand = (...args) =>
  require('./validate').validateCommand(...args);
/* eslint-enable @typescript-eslint/no-require-imports */

export const USAGE = `Usage: handover <command> [options]

Commands:
  validate FILE [--type T]                  validate B2MML XML or canonical JSON; exit 1 lists "path: reason" lines
  convert FILE --to json|b2mml [--type T] [--verb V] [--sender ID]
                                            B2MML XML -> canonical envelopes (JSON), canonical JSON -> B2MML V0700
  start [--config FILE] [--port N] [--role all|api|worker]
                                            run the hub (default config: seeds/packaging-line/handover.yaml)
  mappings test [DIR]                       run every mapping's test cases (default DIR: mappings)
  mappings run MAPPING FILE                 show what a mapping makes of a payload
  audit verify                              check the audit log's hash chain; exit 1 names each broken record
  audit export --format csv|jsonl [--from T] [--to T]
                                            write audit records to stdout
  oee --equipment ID --from T --to T [--group-by shift|order] [--json] [--url URL]
                                            a work unit's or line's OEE (ISO 22400-2) from a running hub:
                                            time elements, quantities, A/E/Q/OEE and losses; exit 3 when
                                            the hub cannot be reached
  users add NAME --role R [--password-stdin]
                                            add a user (viewer, operator, integrator, auditor, admin); the
                                            password (for the console) is read from stdin; prints the user's
                                            API token, once, on its last line
  users list                                name, role, created, last seen
  users remove NAME                         remove a user with their tokens and sessions
  users token NAME                          issue another API token and print it
  help                                      this text

Environment: HANDOVER_DATA_DIR (default ./var), DATABASE_URL (PostgreSQL; default SQLite under the
data directory), REDIS_URL (default: the hub starts its own redis-server) or REDIS_CLUSTER_NODES
(host:port,… seed nodes of a Redis Cluster, with REDIS_PASSWORD), PORT, HANDOVER_ADMIN_TOKEN,
HANDOVER_TOKEN_<SYSTEM>; for oee, HANDOVER_URL (default http://127.0.0.1:$PORT, port 8080) and
HANDOVER_ADMIN_TOKEN.
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
        config: { type: 'string' },
        port: { type: 'string' },
        role: { type: 'string' },
        from: { type: 'string' },
        format: { type: 'string' },
        equipment: { type: 'string' },
        'group-by': { type: 'string' },
        json: { type: 'boolean' },
        'password-stdin': { type: 'boolean' },
        url: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    const [command, file, ...rest] = positionals;
    if (command === 'mappings') return await mappingsCommand(io, file, rest);
    if (command === 'users')
      return await usersCommand(io, file, rest, {
        ...(values.role === undefined ? {} : { role: values.role }),
        passwordStdin: values['password-stdin'] === true,
      });
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
      case 'start':
        if (file !== undefined) throw new UsageError(`unexpected argument "${file}"`);
        return await startCommand({
          ...(values.config === undefined ? {} : { config: values.config }),
          ...(values.port === undefined ? {} : { port: values.port }),
          ...(values.role === undefined ? {} : { role: values.role }),
        });
      case 'audit':
        return await auditCommand(io, file, {
          ...(values.from === undefined ? {} : { from: values.from }),
          ...(values.to === undefined ? {} : { to: values.to }),
          ...(values.format === undefined ? {} : { format: values.format }),
        });
      case 'oee':
        if (file !== undefined) throw new UsageError(`unexpected argument "${file}"`);
        return await oeeCommand(
          io,
          {
            ...(values.equipment === undefined ? {} : { equipment: values.equipment }),
            ...(values.from === undefined ? {} : { from: values.from }),
            ...(values.to === undefined ? {} : { to: values.to }),
            ...(values['group-by'] === undefined ? {} : { groupBy: values['group-by'] }),
            ...(values.json === undefined ? {} : { json: values.json }),
            ...(values.url === undefined ? {} : { url: values.url }),
          },
          process.env,
        );
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (error) {
    if (error instanceof ConfigError) {
      io.err(`handover: ${error.message}\n`);
      return EXIT.invalid;
    }
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
  readStdin: async () => {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  },
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
