/**
 * Credentials, never in the config file: a system's bearer token comes from
 * HANDOVER_TOKEN_<SYSTEM ID IN UPPER CASE>, the operators' token from HANDOVER_ADMIN_TOKEN.
 */
import { timingSafeEqual, createHash } from 'node:crypto';
import { ConfigError } from './errors';
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

/**
 * Reads every token from `env`. A token set for two identities is refused: a request carrying it
 * would act as whichever is checked first, so one system could publish as another.
 */
export function readCredentials(systems: SystemConfig[], env: NodeJS.ProcessEnv = process.env): Credentials {
  const systemTokens = new Map<string, string>();
  const holders = new Map<string, string[]>();
  const hold = (variable: string, token: string) => holders.set(token, [...(holders.get(token) ?? []), variable]);
  for (const system of systems) {
    const token = env[tokenVariable(system.id)];
    if (token) {
      systemTokens.set(system.id, token);
      hold(tokenVariable(system.id), token);
    }
  }
  const credentials: Credentials = { systemTokens };
  if (env.HANDOVER_ADMIN_TOKEN) {
    credentials.adminToken = env.HANDOVER_ADMIN_TOKEN;
    hold('HANDOVER_ADMIN_TOKEN', env.HANDOVER_ADMIN_TOKEN);
  }
  // The variables are named, never the token.
  const shared = [...holders.values()].filter((variables) => variables.length > 1);
  if (shared.length > 0) {
    throw new ConfigError(
      'CONFIG_INVALID',
      '<environment>',
      shared.map((variables) => ({
        path: variables.join(' and '),
        reason: 'hold the same token; give every system and the operators a token of their own',
      })),
    );
  }
  return credentials;
}

const sha256 = (value: string) => createHash('sha256').update(value).digest();

/** The digests of the configured tokens, made once each (they are few and fixed at start). */
const expectedDigests = new Map<string, Buffer>();

function expectedDigest(expected: string): Buffer {
  let digest = expectedDigests.get(expected);
  if (!digest) {
    digest = sha256(expected);
    expectedDigests.set(expected, digest);
  }
  return digest;
}

/** Compares a presented token with the expected one in constant time. */
export function tokenMatches(presented: string | undefined, expected: string | undefined): boolean {
  if (presented === undefined || expected === undefined) return false;
  return timingSafeEqual(sha256(presented), expectedDigest(expected));
}

/**
 * The first of `candidates` (name, expected token) whose token is `presented`, each compared in
 * constant time; the presented token is hashed once however many there are.
 */
export function tokenHolder(
  presented: string,
  candidates: Iterable<readonly [string, string | undefined]>,
): string | undefined {
  const digest = sha256(presented);
  for (const [name, expected] of candidates)
    if (expected !== undefined && timingSafeEqual(digest, expectedDigest(expected))) return name;
  return undefined;
}
