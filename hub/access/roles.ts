/**
 * The people who use the hub and what each may do. Routes declare the roles they allow
 * (hub/api/operations.ts); admin may do everything, also what no route names it for.
 */
export const ROLES = ['viewer', 'operator', 'integrator', 'auditor', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

/** What each role is for, as `handover users` and the OpenAPI document describe it. */
export const ROLE_PURPOSE: Record<Role, string> = {
  viewer: 'sees flow, queues, dead letters, messages, objects, connectors, ownership, equipment state and OEE',
  operator:
    'a viewer who also replays and discards dead letters, pauses deliveries, tests connectors and assigns downtime reasons',
  integrator: 'a viewer who also lists mappings and dry-runs payloads against them',
  auditor:
    'reads, searches, exports and verifies the audit log, and reads messages, objects and ownership; changes nothing',
  admin: 'everything, and manages users and their tokens',
};
