/**
 * Users, their personal API tokens and their console sessions, in the hub's database: every api
 * process sees a change at the next request, without a restart. Tokens and session ids are random
 * 256-bit strings shown once and stored only as SHA-256 digests (a digest of so much randomness cannot
 * be guessed back; a password, which can, goes through scrypt in passwords.ts).
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Db } from '../store/db';
import { hashPassword, passwordProblem, verifyPassword } from './passwords';
import { isRole, type Role } from './roles';

/** How long a console session lasts from its login. */
export const SESSION_HOURS = 12;
/** last_seen_at is written at most this often per user, not on every request. */
const SEEN_EVERY_MS = 60_000;

export interface User {
  name: string;
  role: Role;
  createdAt: string;
  lastSeenAt?: string;
  hasPassword: boolean;
  tokens: number;
}

export interface Session {
  user: string;
  role: Role;
  csrfToken: string;
  expiresAt: string;
}

/** A request the user store refuses: a bad name, role or password, an existing or missing user. */
export class UserError extends Error {
  constructor(
    readonly code: 'USER_INVALID' | 'USER_EXISTS' | 'USER_NOT_FOUND',
    message: string,
    readonly path?: string,
  ) {
    super(message);
  }
}

const NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/i;
const digest = (secret: string) => createHash('sha256').update(secret).digest('hex');
const secret = (prefix: string) => `${prefix}${randomBytes(32).toString('base64url')}`;

/** Adds a user with a role (and a password, for the console); answers the user's first API token. */
export async function addUser(
  db: Db,
  input: { name: string; role: string; password?: string },
  now = new Date(),
): Promise<{ token: string }> {
  if (!NAME.test(input.name))
    throw new UserError('USER_INVALID', 'a name is 1 to 64 letters, digits, ".", "_" or "-"', '/name');
  // Audit records name the bootstrap admin token `admin`: no user may look like it.
  if (input.name.toLowerCase() === 'admin')
    throw new UserError('USER_INVALID', '"admin" is the name of HANDOVER_ADMIN_TOKEN', '/name');
  if (!isRole(input.role))
    throw new UserError('USER_INVALID', 'the role is viewer, operator, integrator, auditor or admin', '/role');
  const problem = input.password === undefined ? undefined : passwordProblem(input.password);
  if (problem) throw new UserError('USER_INVALID', `the password needs ${problem}`, '/password');
  const passwordHash = input.password === undefined ? null : await hashPassword(input.password);
  const token = secret('hov_');
  await db.transaction(async (tx) => {
    const [existing] = await tx.query('SELECT name FROM users WHERE name = $1', [input.name]);
    if (existing) throw new UserError('USER_EXISTS', `a user "${input.name}" exists already`, '/name');
    await tx.execute('INSERT INTO users (name, role, password_hash, created_at) VALUES ($1, $2, $3, $4)', [
      input.name,
      input.role,
      passwordHash,
      now.toISOString(),
    ]);
    await tx.execute('INSERT INTO api_tokens (token_hash, user_name, created_at) VALUES ($1, $2, $3)', [
      digest(token),
      input.name,
      now.toISOString(),
    ]);
  });
  return { token };
}

export async function listUsers(db: Db): Promise<User[]> {
  const rows = await db.query<{
    name: string;
    role: Role;
    created_at: string;
    last_seen_at: string | null;
    password_hash: string | null;
    tokens: number | string;
  }>(
    `SELECT u.name, u.role, u.created_at, u.last_seen_at, u.password_hash,
            (SELECT COUNT(*) FROM api_tokens t WHERE t.user_name = u.name) AS tokens
       FROM users u ORDER BY u.name`,
  );
  return rows.map((row) => ({
    name: row.name,
    role: row.role,
    createdAt: row.created_at,
    ...(row.last_seen_at ? { lastSeenAt: row.last_seen_at } : {}),
    hasPassword: row.password_hash !== null,
    tokens: Number(row.tokens),
  }));
}

/** Removes a user with every token and session of theirs: the next request with one is refused. */
export async function removeUser(db: Db, name: string): Promise<void> {
  await db.transaction(async (tx) => {
    const [existing] = await tx.query('SELECT name FROM users WHERE name = $1', [name]);
    if (!existing) throw new UserError('USER_NOT_FOUND', `no user "${name}"`, '/name');
    await tx.execute('DELETE FROM api_tokens WHERE user_name = $1', [name]);
    await tx.execute('DELETE FROM sessions WHERE user_name = $1', [name]);
    await tx.execute('DELETE FROM users WHERE name = $1', [name]);
  });
}

/** Issues an additional API token for a user; shown once. */
export async function issueToken(db: Db, name: string, now = new Date()): Promise<string> {
  const token = secret('hov_');
  await db.transaction(async (tx) => {
    const [existing] = await tx.query('SELECT name FROM users WHERE name = $1', [name]);
    if (!existing) throw new UserError('USER_NOT_FOUND', `no user "${name}"`, '/name');
    await tx.execute('INSERT INTO api_tokens (token_hash, user_name, created_at) VALUES ($1, $2, $3)', [
      digest(token),
      name,
      now.toISOString(),
    ]);
  });
  return token;
}

/** The user a personal API token belongs to, or undefined. */
export async function userOfToken(
  db: Db,
  token: string,
  now = new Date(),
): Promise<{ name: string; role: Role } | undefined> {
  const [row] = await db.query<{ name: string; role: Role; last_seen_at: string | null }>(
    `SELECT u.name, u.role, u.last_seen_at FROM api_tokens t JOIN users u ON u.name = t.user_name WHERE t.token_hash = $1`,
    [digest(token)],
  );
  if (!row) return undefined;
  await seen(db, row.name, row.last_seen_at, now);
  return { name: row.name, role: row.role };
}

/** Checks a login; the user when the password is right, undefined for any wrong name or password. */
export async function checkLogin(
  db: Db,
  name: string,
  password: string,
): Promise<{ name: string; role: Role } | undefined> {
  const [row] = await db.query<{ name: string; role: Role; password_hash: string | null }>(
    'SELECT name, role, password_hash FROM users WHERE name = $1',
    [name],
  );
  // A missing user costs a hash as well, so the answer's timing does not tell which names exist.
  const ok = await verifyPassword(password, row?.password_hash ?? (await dummyHash()));
  return ok && row?.password_hash ? { name: row.name, role: row.role } : undefined;
}

let dummy: Promise<string> | undefined;
const dummyHash = () => (dummy ??= hashPassword(randomBytes(16).toString('hex')));

/** Opens a console session; the id goes into the cookie, the CSRF token into the console's headers. */
export async function openSession(db: Db, user: string, now = new Date()): Promise<{ id: string } & Session> {
  const [row] = await db.query<{ role: Role }>('SELECT role FROM users WHERE name = $1', [user]);
  if (!row) throw new UserError('USER_NOT_FOUND', `no user "${user}"`, '/user');
  const id = secret('');
  const csrfToken = secret('');
  const expiresAt = new Date(now.getTime() + SESSION_HOURS * 3600_000).toISOString();
  await db.execute(
    'INSERT INTO sessions (id_hash, user_name, csrf_token, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)',
    [digest(id), user, csrfToken, now.toISOString(), expiresAt],
  );
  await seen(db, user, null, now);
  return { id, user, role: row.role, csrfToken, expiresAt };
}

/** The live session with this id, or undefined (unknown, expired, or its user removed). */
export async function sessionOf(db: Db, id: string, now = new Date()): Promise<Session | undefined> {
  const [row] = await db.query<{
    user_name: string;
    role: Role;
    csrf_token: string;
    expires_at: string;
    last_seen_at: string | null;
  }>(
    `SELECT s.user_name, u.role, s.csrf_token, s.expires_at, u.last_seen_at
       FROM sessions s JOIN users u ON u.name = s.user_name WHERE s.id_hash = $1`,
    [digest(id)],
  );
  if (!row || row.expires_at <= now.toISOString()) return undefined;
  await seen(db, row.user_name, row.last_seen_at, now);
  return { user: row.user_name, role: row.role, csrfToken: row.csrf_token, expiresAt: row.expires_at };
}

export async function closeSession(db: Db, id: string, now = new Date()): Promise<void> {
  await db.execute('DELETE FROM sessions WHERE id_hash = $1 OR expires_at <= $2', [digest(id), now.toISOString()]);
}

async function seen(db: Db, name: string, last: string | null, now: Date): Promise<void> {
  if (last && now.getTime() - Date.parse(last) < SEEN_EVERY_MS) return;
  await db.execute('UPDATE users SET last_seen_at = $2 WHERE name = $1', [name, now.toISOString()]);
}
