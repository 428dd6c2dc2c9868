/**
 * @module Which role may use which view and action, read from the hub's own OpenAPI document
 * (GET /api/v1/openapi.json, public): each operation's `x-roles` lists the roles it allows, admin
 * included. The hub checks every call itself; this only decides what the console shows.
 */
import { get } from './api.js';

/** The operations each view or action calls: a role may use it when it may call them all. */
export const NEEDS = {
  flow: ['getFlow', 'streamEvents'],
  queues: ['listQueues'],
  'dead-letters': ['listDeadLetters'],
  trace: ['getMessage'],
  objects: ['getObject'],
  ownership: ['getOwnership'],
  audit: ['queryAudit', 'exportAudit', 'verifyAudit'],
  connectors: ['listConnectors'],
  context: ['getEquipmentState', 'getOee'],
  users: ['listUsers', 'addUser', 'removeUser', 'issueUserToken'],
  // Actions
  'search-messages': ['searchMessages'],
  replay: ['replayDeadLetter', 'replayDeadLetters'],
  discard: ['discardDeadLetter'],
  pause: ['pauseTarget', 'resumeTarget'],
  'test-connector': ['testConnector'],
};

/** The roles each operation allows, by operationId; empty until loadRoles() has read the document. */
const rolesOf = new Map();

/** Reads the roles of every operation from the hub's OpenAPI document; once, before the first view. */
export async function loadRoles() {
  const document = await get('/api/v1/openapi.json');
  rolesOf.clear();
  for (const methods of Object.values(document.paths ?? {}))
    for (const operation of Object.values(/** @type {Record<string, any>} */ (methods)))
      if (operation?.operationId) rolesOf.set(operation.operationId, operation['x-roles'] ?? []);
}

/** The roles the hub's document names (every role may open a session), in its order. */
export function knownRoles() {
  return [...new Set([...rolesOf.values()].flat())];
}

/**
 * Whether a role may use a view or an action: not when the hub does not list one of its operations.
 * @param {string} role
 * @param {string} what a key of NEEDS
 */
export function may(role, what) {
  const needs = /** @type {Record<string, string[]>} */ (NEEDS)[what];
  return Boolean(needs) && needs.every((operationId) => (rolesOf.get(operationId) ?? []).includes(role));
}
