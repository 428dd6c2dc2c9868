/**
 * Who is calling and whether they may: a bearer token (HANDOVER_ADMIN_TOKEN, a user's API token or a
 * system's token) or a console session cookie; each operation's access is declared in
 * operations.ts. A session's state-changing requests carry its CSRF token (bearer calls need none:
 * a browser never adds a bearer header on its own).
 */
import { timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import type { Role } from '../access/roles';
import { sessionOf, userOfToken } from '../access/users';
import type { HubContext } from '../context';
import { allowedRoles, type Operation } from './operations';
import { bearerOf, identify } from './auth';
import { ApiError } from './errors';

export const SESSION_COOKIE = 'handover_session';
export const CSRF_HEADER = 'x-csrf-token';

/** A signed-in person (also the admin token, as user `admin`) or a system's token. */
export type Caller =
  | { kind: 'user'; name: string; role: Role; via: 'token' | 'session'; csrfToken?: string }
  | { kind: 'system'; system: string };

export function cookieOf(req: Request, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [key, ...value] = part.trim().split('=');
    if (key === name) return decodeURIComponent(value.join('='));
  }
  return undefined;
}

/** Who the request comes from; throws AUTH_REQUIRED or AUTH_INVALID. */
export async function callerOf(ctx: HubContext, req: Request): Promise<Caller> {
  const token = bearerOf(req.headers.authorization);
  if (token) {
    const holder = identify(token, ctx.credentials);
    if (holder === 'admin') return { kind: 'user', name: 'admin', role: 'admin', via: 'token' };
    if (holder) return { kind: 'system', system: holder };
    const user = token.startsWith('hov_') ? await userOfToken(ctx.db, token) : undefined;
    if (!user) throw ApiError.of('AUTH_INVALID');
    return { kind: 'user', ...user, via: 'token' };
  }
  const id = cookieOf(req, SESSION_COOKIE);
  if (!id) throw ApiError.of('AUTH_REQUIRED');
  const session = await sessionOf(ctx.db, id);
  if (!session) throw ApiError.of('AUTH_INVALID', undefined, 'The session has expired or was closed; log in again');
  return { kind: 'user', name: session.user, role: session.role, via: 'session', csrfToken: session.csrfToken };
}

/**
 * The access check of an operation: `res.locals.caller` is the caller, `res.locals.who` their name
 * (what audit records say did it).
 */
export function authorize(ctx: HubContext, operation: Operation) {
  const { access } = operation;
  const allowed = allowedRoles(operation);
  return async (req: Request, res: Response, next: NextFunction) => {
    if (access.kind === 'public' || access.kind === 'system') return next();
    const caller = await callerOf(ctx, req);
    if (caller.kind === 'system') {
      const systems =
        access.kind === 'roles' && access.systems === 'reasonEditors' ? (ctx.engine?.config.reasonEditors ?? []) : [];
      if (!systems.includes(caller.system))
        throw ApiError.of(
          'FORBIDDEN_ROLE',
          { tokenOf: caller.system, roles: allowed },
          `A system's token may not do this (only send as itself); ${allowed.join(', ')} may`,
        );
    } else {
      if (!allowed.includes(caller.role))
        throw ApiError.of(
          'FORBIDDEN_ROLE',
          { role: caller.role, roles: allowed },
          `The role ${caller.role} may not do this; ${allowed.join(', ')} may`,
        );
      if (
        caller.via === 'session' &&
        !SAFE_METHODS.has(req.method) &&
        !sameSecret(req.get(CSRF_HEADER), caller.csrfToken)
      )
        throw ApiError.of('CSRF_INVALID');
    }
    res.locals['caller'] = caller;
    res.locals['who'] = caller.kind === 'user' ? caller.name : caller.system;
    next();
  };
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

function sameSecret(given: string | undefined, expected: string | undefined): boolean {
  if (!given || !expected) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
