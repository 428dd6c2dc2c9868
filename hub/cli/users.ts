/**
 * `handover users add|list|remove|token`: people and their API tokens, on the hub's database
 * directly (like `audit verify`). A running hub sees the change at its next request.
 */
import { addUser, issueToken, listUsers, removeUser, UserError } from '../access/users';
import { openStore } from '../store/index';
import { EXIT, storeOptions, UsageError, type CliIo } from './io';

export async function usersCommand(
  io: CliIo,
  action: string | undefined,
  rest: string[],
  options: { role?: string; passwordStdin: boolean },
): Promise<number> {
  const [name, ...extra] = rest;
  if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`);
  if (action === 'list' && name !== undefined) throw new UsageError(`unexpected argument "${name}"`);
  if (action !== 'list' && action !== 'add' && action !== 'remove' && action !== 'token')
    throw new UsageError('users needs add, list, remove or token');
  if (action !== 'list' && name === undefined) throw new UsageError(`users ${action} needs a NAME`);
  if (action === 'add' && options.role === undefined) throw new UsageError('users add needs --role');
  // Read before opening the store: a password typed at a prompt does not wait on the database.
  if (options.passwordStdin && !io.readStdin) throw new UsageError('--password-stdin: no standard input here');
  const password = options.passwordStdin ? (await io.readStdin!()).replace(/\r?\n$/, '') : undefined;
  const db = await openStore(storeOptions());
  try {
    if (action === 'list') {
      const users = await listUsers(db);
      io.out(`${['name', 'role', 'created', 'last seen', 'tokens'].join('\t')}\n`);
      for (const user of users)
        io.out(`${[user.name, user.role, user.createdAt, user.lastSeenAt ?? 'never', user.tokens].join('\t')}\n`);
      return EXIT.ok;
    }
    if (action === 'add') {
      const { token } = await addUser(db, {
        name: name!,
        role: options.role!,
        ...(password === undefined ? {} : { password }),
      });
      io.err(
        `added ${name} (${options.role})${password === undefined ? ', API token only (no console password)' : ''}; the token is shown once:\n`,
      );
      io.out(`${token}\n`);
      return EXIT.ok;
    }
    if (action === 'remove') {
      await removeUser(db, name!);
      io.err(`removed ${name} with their tokens and sessions\n`);
      return EXIT.ok;
    }
    const token = await issueToken(db, name!);
    io.err(`a new token for ${name}, shown once:\n`);
    io.out(`${token}\n`);
    return EXIT.ok;
  } catch (error) {
    if (!(error instanceof UserError)) throw error;
    io.err(`handover: ${error.message}\n`);
    return EXIT.invalid;
  } finally {
    await db.close();
  }
}
