/**
 * Credentials, never in the config file: a system's bearer token comes from
 * HANDOVER_TOKEN_<SYSTEM ID IN UPPER CASE>, the operators' token from HANDOVER_ADMIN_TOKEN.
 */
import { timingSafeEqual, createHash } from 'node:crypto';
import type { SystemConfig } from './schema';

/** The environment variable holding a system's token: `erp` → HANDOVER_TOKEN_ERP, `mes-2` → HANDOVER_TOKEN_MES_2. */
export function tokenVariable(systemId: string): string {
  return `HANDOVER_TOKEN_${systemId.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;
}

/** Tokens by system id, and the admin token; systems without a token cannot send. */
export interface Credentials {
  systemTokens: Map<string, string>;
  adminToken?: string;
}

export function readCredentials(systems: SystemConfig[], env: NodeJS.ProcessEnv = process.env): Credentials {
  const systemTokens = new Map<string, string>();
  for (const system of systems) {
    const token = env[tokenVariable(system.id)];
    if (token) systemTokens.set(system.id, token);
  }
  const credentials: Credentials = { systemTokens };
  if (env.HANDOVER_ADMIN_TOKEN) credentials.adminToken = env.HANDOVER_ADMIN_TOKEN;
  return credentials;
}

/** Compares a presented token with the expected one in constant time. */
export function tokenMatches(presented: string | undefined, expected: string | undefined): boolean {
  if (presented === undefined || expected === undefined) return false;
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(presented), digest(expected));
}
