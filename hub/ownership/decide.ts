/**
 * The ownership decision for one canonical document: accepted, rejected, proposed, stale or
 * duplicate — always with the rule that made it. Pure: the caller loads the stored object and
 * applies the result.
 */
import type { CanonicalType } from '../../schemas/index';
import { stableJson } from '../../schemas/stable-json';
import type { OwnershipConfig, TypeOwnership } from '../config/schema';

export type Decision = 'accepted' | 'rejected' | 'proposed' | 'stale' | 'duplicate' | 'invalid';

/** The object as the store holds it. */
export interface StoredObject {
  data: Record<string, unknown>;
  version?: number;
  occurredAt: string;
  receivedSeq: number;
  contentHash: string;
}

export interface Incoming {
  type: CanonicalType;
  document: Record<string, unknown>;
  sourceSystem: string;
  version?: number;
  occurredAt: string;
  receivedSeq: number;
  contentHash: string;
  /** The sender already used this message's idempotency key for an earlier message. */
  duplicateKey?: boolean;
}

export interface DecisionResult {
  decision: Decision;
  /** The configuration rule or ordering rule that decided, e.g. `ownership.ProductionOrder.fields.state = mes`. */
  rule: string;
  reason: string;
  /** The object to store when accepted: incoming fields merged with the fields other systems own. */
  apply?: Record<string, unknown>;
  /** Fields the object owner sent but another system owns; kept from the stored object. */
  ignoredFields?: string[];
  /** For `proposed`: the system the change request goes to. */
  proposeTo?: string;
  owner: string;
}

/**
 * Decides what happens to `incoming` given the stored object and the ownership rules.
 * @example decide(config, { type: 'QualityResult', sourceSystem: 'qms', … }).decision // 'accepted'
 */
export function decide(
  ownership: OwnershipConfig,
  incoming: Incoming,
  stored: StoredObject | undefined,
): DecisionResult {
  const { type, sourceSystem: sender } = incoming;
  const rule = ownership[type];
  if (!rule) {
    return {
      decision: 'rejected',
      rule: `ownership.${type}: none`,
      reason: `no system of record is declared for ${type}`,
      owner: '',
    };
  }
  const { owner, ownerRule } = resolveOwner(type, rule, incoming.document);
  const fieldOwners = rule.fields ?? {};
  const senderFields = Object.keys(fieldOwners).filter((field) => fieldOwners[field] === sender);

  if (incoming.duplicateKey) {
    return {
      decision: 'duplicate',
      rule: 'idempotency-key',
      reason: `${sender} already sent this Idempotency-Key`,
      owner,
    };
  }
  if (stored && stored.contentHash === incoming.contentHash) {
    return { decision: 'duplicate', rule: 'identical-content', reason: 'identical to the version already held', owner };
  }
  if (stored) {
    const order = compareOrder(incoming, stored);
    if (order.compare < 0) return { decision: 'stale', rule: order.rule, reason: order.reason, owner };
  }

  if (sender === owner) {
    if (!stored)
      return {
        decision: 'accepted',
        rule: ownerRule,
        reason: `${sender} is the system of record for ${type}`,
        apply: incoming.document,
        owner,
      };
    const othersFields = Object.keys(fieldOwners).filter((field) => fieldOwners[field] !== sender);
    const apply = { ...incoming.document };
    const ignoredFields: string[] = [];
    for (const field of othersFields) {
      if (!sameValue(incoming.document[field], stored.data[field])) ignoredFields.push(field);
      if (stored.data[field] === undefined) delete apply[field];
      else apply[field] = stored.data[field];
    }
    const reason = ignoredFields.length
      ? `${sender} is the system of record; ${ignoredFields.join(', ')} kept from the owner of those fields`
      : `${sender} is the system of record for ${type}`;
    const result: DecisionResult = { decision: 'accepted', rule: ownerRule, reason, apply, owner };
    if (ignoredFields.length) result.ignoredFields = ignoredFields;
    return result;
  }

  if (senderFields.length > 0) {
    const fieldRule = `ownership.${type}.fields.${senderFields.join('+')} = ${sender}`;
    if (!stored)
      return nonOwner(
        ownership,
        rule,
        ownerRule,
        owner,
        `only ${owner} may create a ${type}; ${sender} owns only ${senderFields.join(', ')}`,
      );
    const changed = changedFields(incoming.document, stored.data).filter((field) => !senderFields.includes(field));
    if (changed.length > 0) {
      return nonOwner(
        ownership,
        rule,
        ownerRule,
        owner,
        `${sender} may change only ${senderFields.join(', ')} of a ${type}; it changed ${changed.join(', ')}`,
      );
    }
    const apply = { ...stored.data };
    for (const field of senderFields) {
      if (incoming.document[field] === undefined) delete apply[field];
      else apply[field] = incoming.document[field];
    }
    return {
      decision: 'accepted',
      rule: fieldRule,
      reason: `${sender} owns ${senderFields.join(', ')} of ${type}`,
      apply,
      owner,
    };
  }

  return nonOwner(ownership, rule, ownerRule, owner, `${sender} is not the system of record for ${type} (${owner} is)`);
}

function nonOwner(
  ownership: OwnershipConfig,
  rule: TypeOwnership,
  ownerRule: string,
  owner: string,
  reason: string,
): DecisionResult {
  const policy = rule.onNonOwnerWrite ?? ownership.onNonOwnerWrite;
  return policy === 'propose'
    ? {
        decision: 'proposed',
        rule: ownerRule,
        reason: `${reason}; forwarded to ${owner} as a change request`,
        proposeTo: owner,
        owner,
      }
    : { decision: 'rejected', rule: ownerRule, reason, owner };
}

function resolveOwner(
  type: string,
  rule: TypeOwnership,
  document: Record<string, unknown>,
): { owner: string; ownerRule: string } {
  const equipment = equipmentIds(document);
  const index = (rule.scopes ?? []).findIndex((scope) => equipment.includes(scope.equipment));
  if (index >= 0) {
    const scope = rule.scopes![index]!;
    return {
      owner: scope.owner,
      ownerRule: `ownership.${type}.scopes[${index}] (${scope.equipment}) = ${scope.owner}`,
    };
  }
  return { owner: rule.owner, ownerRule: `ownership.${type}.owner = ${rule.owner}` };
}

/** Equipment a document is about: its hierarchy scope, equipment id or parent. */
function equipmentIds(document: Record<string, unknown>): string[] {
  const ids: string[] = [];
  for (const key of ['hierarchyScope', 'parent']) {
    const scope = document[key] as { equipmentId?: unknown } | undefined;
    if (typeof scope?.equipmentId === 'string') ids.push(scope.equipmentId);
  }
  if (typeof document.equipmentId === 'string') ids.push(document.equipmentId);
  return ids;
}

function compareOrder(incoming: Incoming, stored: StoredObject): { compare: number; rule: string; reason: string } {
  if (incoming.version !== undefined && stored.version !== undefined && incoming.version !== stored.version) {
    return {
      compare: incoming.version - stored.version,
      rule: 'ordering.version',
      reason: `version ${incoming.version} is older than the version ${stored.version} already held`,
    };
  }
  const time = Date.parse(incoming.occurredAt) - Date.parse(stored.occurredAt);
  if (time !== 0) {
    return {
      compare: time,
      rule: 'ordering.occurredAt',
      reason: `occurred at ${incoming.occurredAt}, before the ${stored.occurredAt} already held`,
    };
  }
  return {
    compare: incoming.receivedSeq - stored.receivedSeq,
    rule: 'ordering.received',
    reason: 'same version and time as the version already held, but received before it',
  };
}

function changedFields(next: Record<string, unknown>, previous: Record<string, unknown>): string[] {
  const fields = new Set([...Object.keys(next), ...Object.keys(previous)]);
  return [...fields].filter((field) => !sameValue(next[field], previous[field]));
}

function sameValue(a: unknown, b: unknown): boolean {
  return stableJson(a) === stableJson(b);
}
