/**
 * The ownership decision for one canonical document: accepted, rejected, proposed, stale or
 * duplicate — always with the rule that made it. Pure: the caller loads the stored object and
 * applies the result. The rules are written out in docs/ownership.md.
 */
import type { CanonicalType } from '../../schemas/index';
import { stableJson } from '../../schemas/stable-json';
import type { OwnershipConfig, TypeOwnership } from '../config/schema';

export type Decision = 'accepted' | 'rejected' | 'proposed' | 'stale' | 'duplicate' | 'invalid';

/** Where a write stands in its sender's order: its version, then when it happened, then arrival at the hub. */
export interface Watermark {
  version?: number;
  occurredAt: string;
  receivedSeq: number;
  /** Who wrote it: another system's numbers (after a scope move or a configuration change) are not comparable. */
  system?: string;
}

/**
 * The key of the object's main field group (every field not listed under `fields`, owned by the
 * object owner); a listed field's group is keyed by the field's name.
 */
export const MAIN_GROUP = '*';

/** The object as the store holds it. */
export interface StoredObject {
  data: Record<string, unknown>;
  /** The newest write seen per field group (accepted or identical), keyed by MAIN_GROUP or field name. */
  watermarks: Record<string, Watermark>;
}

export interface Incoming extends Omit<Watermark, 'system'> {
  type: CanonicalType;
  document: Record<string, unknown>;
  sourceSystem: string;
  /** The sender already used this message's idempotency key for an earlier message. */
  duplicateKey?: boolean;
}

export interface DecisionResult {
  decision: Decision;
  /** The configuration rule or ordering rule that decided, e.g. `ownership.ProductionOrder.fields.state = mes`. */
  rule: string;
  reason: string;
  /** The object owner the decision was made against (resolved from the stored object's scope). */
  owner: string;
  /** The object to store when accepted: the sender's groups from the document, every other group as stored. */
  apply?: Record<string, unknown>;
  /** The watermarks to store (accepted and identical-content duplicates); absent when nothing moves. */
  watermarks?: Record<string, Watermark>;
  /** Fields of other systems' groups whose values in the document differ from the stored ones; never applied. */
  ignoredFields?: string[];
  /** For `proposed`: the system the change request goes to. */
  proposeTo?: string;
}

/**
 * Decides what happens to `incoming` given the stored object and the ownership rules, in this
 * order: who owns what (from the stored object's scope), idempotency key, order within each of the
 * sender's field groups, then content.
 * @example decide(config, { type: 'QualityResult', sourceSystem: 'qms', … }, undefined).decision // 'accepted'
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
  // A stored object keeps the owner of the scope it is in; moving it is a change that owner makes.
  const { owner, ownerRule } = resolveOwner(type, rule, stored?.data ?? incoming.document);
  const fieldOwners = rule.fields ?? {};
  const groups = senderGroups(sender, owner, fieldOwners);
  if (groups.length === 0) {
    const reason = `${sender} is not the system of record for ${type} (${owner} is)`;
    return nonOwner(ownership, rule, ownerRule, owner, reason, incoming.duplicateKey === true);
  }
  const named = groups.filter((group) => group !== MAIN_GROUP);
  const groupRule = groups.includes(MAIN_GROUP) ? ownerRule : `ownership.${type}.fields.${named.join('+')} = ${sender}`;
  if (!stored && !groups.includes(MAIN_GROUP)) {
    const reason = `only ${owner} may create a ${type}; ${sender} owns only ${named.join(', ')}`;
    return nonOwner(ownership, rule, ownerRule, owner, reason, incoming.duplicateKey === true);
  }
  if (incoming.duplicateKey) {
    return {
      decision: 'duplicate',
      rule: 'idempotency-key',
      reason: `${sender} already sent this Idempotency-Key`,
      owner,
    };
  }

  const mark: Watermark = {
    occurredAt: incoming.occurredAt,
    receivedSeq: incoming.receivedSeq,
    system: sender,
    ...(incoming.version === undefined ? {} : { version: incoming.version }),
  };
  if (!stored) {
    // The creator's document is taken whole: it gives every field group its first value.
    return {
      decision: 'accepted',
      rule: ownerRule,
      reason: `${sender} is the system of record for ${type}`,
      owner,
      apply: incoming.document,
      watermarks: { [MAIN_GROUP]: mark },
    };
  }

  for (const group of groups) {
    const held = stored.watermarks[group];
    if (!held || (held.system !== undefined && held.system !== sender)) continue;
    const order = compareOrder(mark, held);
    if (order.compare < 0) {
      const of = group === MAIN_GROUP ? '' : ` of ${group}`;
      return { decision: 'stale', rule: order.rule, reason: `${order.reason}${of}`, owner };
    }
  }

  const owns = (field: string) => groups.includes(fieldOwners[field] === undefined ? MAIN_GROUP : field);
  const fields = new Set([...Object.keys(incoming.document), ...Object.keys(stored.data)]);
  const changed = [...fields].filter(
    (field) => owns(field) && !sameValue(incoming.document[field], stored.data[field]),
  );
  const ignoredFields = Object.keys(incoming.document)
    .filter((field) => !owns(field) && !sameValue(incoming.document[field], stored.data[field]))
    .sort();
  const watermarks = { ...stored.watermarks, ...Object.fromEntries(groups.map((group) => [group, mark])) };
  const ignored = ignoredFields.length ? { ignoredFields } : {};
  const kept = ignoredFields.length ? `; ${ignoredFields.join(', ')} kept as stored (owned by other systems)` : '';
  if (changed.length === 0) {
    return {
      decision: 'duplicate',
      rule: 'identical-content',
      reason: `identical to what ${sender} last sent${kept}`,
      owner,
      watermarks,
      ...ignored,
    };
  }
  const apply = { ...stored.data };
  for (const field of changed) {
    if (incoming.document[field] === undefined) delete apply[field];
    else apply[field] = incoming.document[field];
  }
  const what = groups.includes(MAIN_GROUP)
    ? `${sender} is the system of record for ${type}`
    : `${sender} owns ${named.join(', ')} of ${type}`;
  return { decision: 'accepted', rule: groupRule, reason: `${what}${kept}`, owner, apply, watermarks, ...ignored };
}

/** The owner of an object as it is scoped: the first scope naming its equipment, else the type's owner. */
export function resolveOwner(
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

/** The field groups `sender` owns: the main group if it is the object owner, and every field listed for it. */
function senderGroups(sender: string, owner: string, fieldOwners: Record<string, string>): string[] {
  const groups = sender === owner ? [MAIN_GROUP] : [];
  for (const [field, fieldOwner] of Object.entries(fieldOwners)) if (fieldOwner === sender) groups.push(field);
  return groups;
}

function nonOwner(
  ownership: OwnershipConfig,
  rule: TypeOwnership,
  ownerRule: string,
  owner: string,
  reason: string,
  duplicateKey: boolean,
): DecisionResult {
  const policy = rule.onNonOwnerWrite ?? ownership.onNonOwnerWrite;
  if (policy !== 'propose') return { decision: 'rejected', rule: ownerRule, reason, owner };
  // A proposal the sender repeats under the same key was forwarded already.
  if (duplicateKey)
    return { decision: 'duplicate', rule: 'idempotency-key', reason: `${reason}; already proposed`, owner };
  return {
    decision: 'proposed',
    rule: ownerRule,
    reason: `${reason}; forwarded to ${owner} as a change request`,
    proposeTo: owner,
    owner,
  };
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

/** Compares two writes of one sender: by version when both have one, then occurredAt, then arrival. */
export function compareOrder(incoming: Watermark, held: Watermark): { compare: number; rule: string; reason: string } {
  if (incoming.version !== undefined && held.version !== undefined && incoming.version !== held.version) {
    return {
      compare: incoming.version - held.version,
      rule: 'ordering.version',
      reason: `version ${incoming.version} is older than version ${held.version}, the newest seen`,
    };
  }
  const time = Date.parse(incoming.occurredAt) - Date.parse(held.occurredAt);
  if (time !== 0) {
    return {
      compare: time,
      rule: 'ordering.occurredAt',
      reason: `occurred at ${incoming.occurredAt}, before ${held.occurredAt}, the newest seen`,
    };
  }
  return {
    compare: incoming.receivedSeq - held.receivedSeq,
    rule: 'ordering.received',
    reason: 'same version and time as the newest seen, but received before it',
  };
}

function sameValue(a: unknown, b: unknown): boolean {
  return stableJson(a) === stableJson(b);
}
