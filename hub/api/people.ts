/**
 * Logging in and out of the console, and managing users over the API (admin). The session cookie is
 * HttpOnly and SameSite=Strict; its CSRF token is answered in the body for the console to send back.
 * Failed logins are counted in Redis per user and address, so every api process shares the limit.
 */
import type { Static } from '@sinclair/typebox';
import type { Request } from 'express';
import {
  addUser,
  checkLogin,
  closeSession,
  issueToken,
  listUsers,
  openSession,
  removeUser,
  SESSION_HOURS,
  UserError,
} from '../access/users';
import type { HubContext } from '../context';
import { cookieOf, SESSION_COOKIE, type Caller } from './access';
import { ApiError } from './errors';
import { param, type Handlers } from './mount';
import { AddUserBody, LoginBody } from './schemas';

/** Failed logins for one user from one address within the window, before 429. */
const LOGIN_FAILURES = 10;
const LOGIN_WINDOW_SECONDS = 15 * 60;

export function peopleHandlers(ctx: HubContext): Handlers {
  return {
    openSession: [
      async (req, res) => {
        const { user, password } = req.body as Static<typeof LoginBody>;
        // Counted before the password is checked, so parallel guesses cannot all pass a count read
        // before any of them failed; a success clears it. Without Redis there is no login.
        const key = `handover:login-failures:${user}:${req.ip ?? ''}`;
        if (ctx.redis.status !== 'ready') throw ApiError.of('UNAVAILABLE');
        const counted = await ctx.redis
          .multi()
          .incr(key)
          .expire(key, LOGIN_WINDOW_SECONDS, 'NX')
          .exec()
          .catch(() => null);
        const attempts = counted?.[0]?.[1];
        if (typeof attempts !== 'number') throw ApiError.of('UNAVAILABLE');
        if (attempts > LOGIN_FAILURES) {
          const ttl = await ctx.redis.ttl(key).catch(() => LOGIN_WINDOW_SECONDS);
          res.setHeader('retry-after', String(Math.max(ttl, 1)));
          throw ApiError.of('LOGIN_RATE_LIMITED', { retryAfterSeconds: Math.max(ttl, 1) });
        }
        const found = await checkLogin(ctx.db, user, password);
        if (!found) {
          ctx.logger.warn({ user, ip: req.ip }, 'login failed');
          throw ApiError.of('LOGIN_FAILED');
        }
        await ctx.redis.del(key).catch(() => undefined);
        const session = await openSession(ctx.db, found.name);
        res.setHeader('set-cookie', sessionCookie(req, session.id, SESSION_HOURS * 3600));
        res.json({
          user: session.user,
          role: session.role,
          csrfToken: session.csrfToken,
          expiresAt: session.expiresAt,
        });
      },
    ],

    getSession: [
      (_req, res) => {
        const caller = res.locals['caller'] as Caller & { kind: 'user' };
        res.json({
          user: caller.name,
          role: caller.role,
          via: caller.via,
          ...(caller.csrfToken ? { csrfToken: caller.csrfToken } : {}),
        });
      },
    ],

    closeSession: [
      async (req, res) => {
        const id = cookieOf(req, SESSION_COOKIE);
        if (id) await closeSession(ctx.db, id);
        res.setHeader('set-cookie', sessionCookie(req, '', 0));
        res.status(204).end();
      },
    ],

    listUsers: [async (_req, res) => res.json({ users: await listUsers(ctx.db) })],

    addUser: [
      async (req, res) => {
        const body = req.body as Static<typeof AddUserBody>;
        // Audit records name the admin token `admin` and a system's token by its id: no user may look like them.
        if (ctx.config.systems.some((system) => system.id === body.name))
          throw ApiError.of('BAD_REQUEST', [{ path: '/name', reason: 'the id of a configured system' }]);
        const { token } = await asApiError(() =>
          addUser(ctx.db, {
            name: body.name,
            role: body.role,
            ...(body.password !== undefined ? { password: body.password } : {}),
          }),
        );
        ctx.logger.info({ user: body.name, role: body.role, by: res.locals['who'] }, 'user added');
        res.status(201).json({ name: body.name, role: body.role, token });
      },
    ],

    removeUser: [
      async (req, res) => {
        await asApiError(() => removeUser(ctx.db, param(req, 'name')));
        ctx.logger.info({ user: param(req, 'name'), by: res.locals['who'] }, 'user removed');
        res.status(204).end();
      },
    ],

    issueUserToken: [
      async (req, res) => {
        const token = await asApiError(() => issueToken(ctx.db, param(req, 'name')));
        res.status(201).json({ name: param(req, 'name'), token });
      },
    ],
  };
}

function sessionCookie(req: Request, value: string, maxAgeSeconds: number): string {
  const secure = req.secure ? '; Secure' : '';
  return `${SESSION_COOKIE}=${encodeURIComponent(value)}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}${secure}`;
}

async function asApiError<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (!(error instanceof UserError)) throw error;
    if (error.code === 'USER_EXISTS') throw ApiError.of('USER_EXISTS', [{ path: error.path, reason: error.message }]);
    if (error.code === 'USER_NOT_FOUND') throw ApiError.of('NOT_FOUND', { user: error.path }, error.message);
    throw ApiError.of('BAD_REQUEST', [{ path: error.path ?? '/', reason: error.message }]);
  }
}
