/**
 * A small sequential model of the ownership and ordering rules, written from docs/ownership.md
 * ("The rules, in the order they are applied") without importing hub/: the model-based test
 * compares the real hub with it.
 */

export interface ModelTypeRule {
  owner: string;
  /** Listed field → the system owning it. */
  fields?: Record<string, string>;
  scopes?: Array<{ equipment: string; owner: string }>;
  propose?: boolean;
}

export type ModelRules = Record<string, ModelTypeRule>;

/** One write as a sender makes it. `seq` is its arrival order at the hub. */
export interface ModelWrite {
  type: string;
  key: string;
  system: string;
  document: Record<string, unknown>;
  version?: number;
  occurredAt: string;
  seq: number;
  /** The sender used this Idempotency-Key for an earlier, different message. */
  reusedKey?: boolean;
}

export type ModelDecision = 'accepted' | 'rejected' | 'proposed' | 'stale' | 'duplicate';

export interface Mark {
  version?: number;
  occurredAt: string;
  seq: number;
  system: string;
}

export interface ModelObject {
  data: Record<string, unknown>;
  /** Per group: '' is the object owner's group of every unlisted field. */
  marks: Map<string, Mark>;
}

/** The model's store: objects by `type/key`. */
export class Model {
  readonly objects = new Map<string, ModelObject>();
  /** Fields of other systems' groups the last applied write carried with other values than stored (sorted). */
  ignored: string[] = [];

  constructor(private readonly rules: ModelRules) {}

  /** Applies one write in arrival order and says what the hub must have decided. */
  apply(write: ModelWrite): ModelDecision {
    this.ignored = [];
    const rule = this.rules[write.type];
    if (!rule) return 'rejected';
    const id = `${write.type}/${write.key}`;
    const current = this.objects.get(id);
    const owner = ownerOf(rule, current ? current.data : write.document);
    const mine = new Set<string>();
    if (write.system === owner) mine.add('');
    for (const [field, fieldOwner] of Object.entries(rule.fields ?? {}))
      if (fieldOwner === write.system) mine.add(field);

    const refuse = (): ModelDecision => (rule.propose ? (write.reusedKey ? 'duplicate' : 'proposed') : 'rejected');
    if (mine.size === 0) return refuse();
    if (!current && !mine.has('')) return refuse();
    if (write.reusedKey) return 'duplicate';

    const mark: Mark = { occurredAt: write.occurredAt, seq: write.seq, system: write.system };
    if (write.version !== undefined) mark.version = write.version;
    if (!current) {
      this.objects.set(id, { data: structuredClone(write.document), marks: new Map([['', mark]]) });
      return 'accepted';
    }
    for (const group of mine) {
      const held = current.marks.get(group);
      if (held && held.system === write.system && older(mark, held)) return 'stale';
    }
    const groupOf = (field: string) => (rule.fields?.[field] === undefined ? '' : field);
    const names = new Set([...Object.keys(write.document), ...Object.keys(current.data)]);
    const changes = [...names].filter(
      (field) => mine.has(groupOf(field)) && !equal(write.document[field], current.data[field]),
    );
    this.ignored = Object.keys(write.document)
      .filter((field) => !mine.has(groupOf(field)) && !equal(write.document[field], current.data[field]))
      .sort();
    for (const group of mine) current.marks.set(group, mark);
    if (changes.length === 0) return 'duplicate';
    for (const field of changes) {
      if (write.document[field] === undefined) delete current.data[field];
      else current.data[field] = structuredClone(write.document[field]);
    }
    return 'accepted';
  }

  get(type: string, key: string): Record<string, unknown> | undefined {
    return this.objects.get(`${type}/${key}`)?.data;
  }

  /** The newest write seen per group ('' is the object owner's group): its version, time and writer. */
  marks(type: string, key: string): Map<string, Mark> {
    return this.objects.get(`${type}/${key}`)?.marks ?? new Map();
  }
}

function ownerOf(rule: ModelTypeRule, document: Record<string, unknown>): string {
  const about = [
    (document.hierarchyScope as { equipmentId?: string } | undefined)?.equipmentId,
    (document.parent as { equipmentId?: string } | undefined)?.equipmentId,
    document.equipmentId,
  ].filter((value): value is string => typeof value === 'string');
  return rule.scopes?.find((scope) => about.includes(scope.equipment))?.owner ?? rule.owner;
}

function older(a: Mark, b: Mark): boolean {
  if (a.version !== undefined && b.version !== undefined && a.version !== b.version) return a.version < b.version;
  const at = Date.parse(a.occurredAt);
  const bt = Date.parse(b.occurredAt);
  if (at !== bt) return at < bt;
  return a.seq < b.seq;
}

/** Deep equality of JSON values, ignoring key order (undefined members count as absent). */
export function equal(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((item, i) => equal(item, b[i]));
  }
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    const keys = (value: object) =>
      Object.entries(value)
        .filter(([, item]) => item !== undefined)
        .map(([key]) => key)
        .sort();
    const ak = keys(a);
    const bk = keys(b);
    return (
      ak.length === bk.length &&
      ak.every(
        (key, i) => key === bk[i] && equal((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key]),
      )
    );
  }
  return false;
}
