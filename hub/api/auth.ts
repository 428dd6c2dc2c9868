/** Bearer tokens: whose a token is, and a system's token acts only for that system (the door's check). */
import type { NextFunction, Request, Response } from 'express';
import { tokenHolder, type Credentials } from '../config/secrets';
import { ApiError } from './errors';

export function bearerOf(header: string | undefined): string | undefined {
  const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  return match?.[1];
}

/**
 * Who the token belongs to: 'admin', a system id, or nobody. `likely` (an identity and its token) is
 * compared first: on the door's path the sending system's own token matches, and no other is hashed.
 */
export function identify(
  token: string,
  credentials: Credentials,
  likely?: readonly [string, string | undefined],
): string | undefined {
  return tokenHolder(token, [
    ...(likely ? [likely] : []),
    ['admin', credentials.adminToken],
    ...credentials.systemTokens,
  ]);
}

/** Why a request with this Authorization header may not send as `system`, or nothing when it may. */
export function systemAuthError(
  credentials: Credentials,
  authorization: string | undefined,
  system: string,
): ApiError | undefined {
  const token = bearerOf(authorization);
  if (!token) return ApiError.of('AUTH_REQUIRED');
  const who = identify(token, credentials, [system, credentials.systemTokens.get(system)]);
  if (!who) return ApiError.of('AUTH_INVALID');
  if (who === system) return undefined;
  return ApiError.of(
    'FORBIDDEN_SYSTEM',
    { system, tokenOf: who },
    `This token belongs to ${who === 'admin' ? 'an operator' : `"${who}"`}; only "${system}" may send as ${system}`,
  );
}

/** Allows only the token of the system named in the path (`:system`). */
export function requireSystem(credentials: Credentials) {
  return (req: Request, _res: Response, next: NextFunction) => {
    const refused = systemAuthError(credentials, req.headers.authorization, String(req.params.system));
    if (refused) throw refused;
    next();
  };
}
