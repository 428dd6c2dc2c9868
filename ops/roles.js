/**
 * @module Which role may use which view and action: a mirror of the role lists in the hub's
 * operation table (hub/api/operations.ts, also `x-roles` in GET /api/v1/openapi.json). Admin may do
 * everything. The hub checks every call itself; this only decides what the console shows.
 */

const READERS = ['viewer', 'operator', 'integrator', 'auditor'];
const WATCHERS = ['viewer', 'operator', 'integrator'];

/** @type {Record<string, string[]>} */
export const ALLOWED = {
  flow: WATCHERS, // getFlow, streamEvents
  queues: WATCHERS, // listQueues
  'dead-letters': WATCHERS, // listDeadLetters
  trace: READERS, // getMessage
  objects: READERS, // getObject
  ownership: READERS, // getOwnership
  audit: ['auditor'], // queryAudit, exportAudit, verifyAudit
  connectors: WATCHERS, // listConnectors
  context: WATCHERS, // getEquipmentState, getOee
  // Actions
  replay: ['operator'], // replayDeadLetter, replayDeadLetters
  discard: ['operator'], // discardDeadLetter
  pause: ['operator'], // pauseTarget, resumeTarget
  'test-connector': ['operator'], // testConnector
};

/**
 * Whether a role may use a view or an action.
 * @param {string} role
 * @param {string} what
 */
export function may(role, what) {
  return role === 'admin' || (ALLOWED[what] ?? []).includes(role);
}
