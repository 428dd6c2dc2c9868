/**
 * Seeded histories of writes for the model-based test: per object a creation, then ERP plan
 * versions (late, repeated, A-B-A), MES state changes made on stale copies of the plan, non-owner
 * writes, repeated Idempotency-Keys and invalid documents — all meant to be in flight at once.
 */
import { examples } from '../../schemas/examples';

/** The hub configuration's ownership the histories are written for (also the model's rules). */
export const MODEL_RULES = {
  ProductionOrder: { owner: 'erp', fields: { state: 'mes' } },
  DowntimeEvent: { owner: 'mes', scopes: [{ equipment: 'LINE-2', owner: 'scada' }] },
};

export type Writer = 'erp' | 'mes' | 'qms' | 'scada';

export interface Post {
  type: 'ProductionOrder' | 'DowntimeEvent';
  /** The object the post is about (every post of a history has the same one). */
  key: string;
  system: Writer;
  /** The JSON body: a canonical envelope, or something that breaks the canonical schema. */
  body: string;
  idempotencyKey: string;
  /** What the post is, for messages about a failure. */
  label: string;
  /** Set on posts whose payload is not valid: they must end as `invalid`. */
  invalid?: boolean;
  /** The model's view of the write (absent for invalid posts). */
  write?: { document: Record<string, unknown>; version: number; occurredAt: string };
}

export interface History {
  type: Post['type'];
  key: string;
  /** Sent first, alone, and waited for: the object's creation by its owner. */
  create: Post;
  /** Sent concurrently with each other and with other histories' posts. */
  rest: Post[];
}

/** mulberry32: a small, fast, seeded PRNG, so a seed replays a history exactly. */
export function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PLANS = ['plan A', 'plan B', 'plan C'];
const STATES = ['Running', 'Held', 'Running', 'Completed', 'Suspended'];
const BASE = Date.parse('2024-05-02T06:00:00Z');

/** The history of one object for `seed`; `index` keeps keys of one batch apart. */
export function history(seed: number, index: number): History {
  const next = random(seed * 7919 + index);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
  const key = `PO-${seed}-${index}`;
  let n = 0;
  const post = (system: Post['system'], write: NonNullable<Post['write']>, label: string): Post => {
    n += 1;
    return {
      type: 'ProductionOrder',
      key,
      system,
      label: `${label} of ${key}`,
      idempotencyKey: `${key}-${n}`,
      write,
      body: JSON.stringify({
        messageId: 'set-by-the-hub',
        type: 'ProductionOrder',
        objectKey: key,
        sourceSystem: system,
        occurredAt: write.occurredAt,
        receivedAt: write.occurredAt,
        version: write.version,
        document: write.document,
      }),
    };
  };
  const plan = (description: string, state: string, priority: number) => ({
    ...examples.ProductionOrder,
    id: key,
    description,
    state,
    priority,
  });
  const minutes = (m: number) => new Date(BASE + m * 60_000).toISOString();

  // ERP's versions: each version has one content and one time; contents repeat (A-B-A).
  const erpVersions = 3 + Math.floor(next() * 6);
  const erp = Array.from({ length: erpVersions }, (_, i) => ({
    document: plan(i === 0 ? 'plan A' : pick(PLANS), 'Released', 1 + Math.floor(next() * 3)),
    version: i + 1,
    occurredAt: minutes(i * 10),
  }));
  const create = post('erp', erp[0]!, 'ERP v1');
  const rest: Post[] = [];
  for (const write of erp.slice(1)) {
    rest.push(post('erp', write, `ERP v${write.version}`));
    // A repeat of the same write: a resend the hub must recognise without changing anything.
    if (next() < 0.25) rest.push(post('erp', write, `ERP v${write.version} (resent)`));
  }
  // MES numbers its own changes and sends them on whatever copy of the plan it holds.
  const mesVersions = 1 + Math.floor(next() * 5);
  for (let m = 1; m <= mesVersions; m += 1) {
    const copy = pick(erp).document;
    const write = { document: { ...copy, state: pick(STATES) }, version: m, occurredAt: minutes(m * 10 + 5) };
    rest.push(post('mes', write, `MES v${m}`));
  }
  // Non-owners: QMS re-sending the current plan unchanged, or changing it.
  const qmsWrites = 1 + Math.floor(next() * 2);
  for (let q = 0; q < qmsWrites; q += 1) {
    const copy = pick(erp);
    const document = next() < 0.5 ? copy.document : { ...copy.document, state: 'Aborted', description: 'qms' };
    rest.push(post('qms', { document, version: copy.version + 100, occurredAt: minutes(500) }, `QMS write ${q}`));
  }
  // A retry of a request already sent, with the same Idempotency-Key: the door answers the first id.
  if (rest.length > 0 && next() < 0.5) {
    const original = pick(rest);
    rest.push({ ...original, label: `${original.label} (same Idempotency-Key)` });
  }
  // An invalid document: priority must be an integer.
  if (next() < 0.3) {
    n += 1;
    rest.push({
      type: 'ProductionOrder',
      key,
      system: 'erp',
      label: `ERP invalid document of ${key}`,
      idempotencyKey: `${key}-${n}`,
      invalid: true,
      body: JSON.stringify({
        messageId: 'set-by-the-hub',
        type: 'ProductionOrder',
        objectKey: key,
        sourceSystem: 'erp',
        occurredAt: minutes(999),
        receivedAt: minutes(999),
        version: 999,
        document: { ...plan('broken', 'Released', 1), priority: 'high' },
      }),
    });
  }
  return { type: 'ProductionOrder', key, create, rest: shuffle(rest, next) };
}

/**
 * A DowntimeEvent moved between lines: line 1 belongs to MES, line 2 to SCADA, and both keep
 * writing it with either line's scope. Its decisions depend on arrival order (a move changes the
 * owner), so these histories are posted one at a time.
 */
export function scopeHistory(seed: number, index: number): History {
  const next = random(seed * 104729 + index);
  const key = `DT-${seed}-${index}`;
  const versions = { mes: 0, scada: 0 };
  const post = (system: 'mes' | 'scada', line: string, n: number): Post => {
    versions[system] += 1;
    // Now and then a write arrives with an older version than the writer's last one.
    const version = next() < 0.15 ? Math.max(1, versions[system] - 2) : versions[system];
    const document = {
      ...examples.DowntimeEvent,
      id: key,
      equipmentId: line,
      equipmentLevel: 'ProductionLine',
      description: `stop ${Math.floor(next() * 3)}`,
    };
    const occurredAt = new Date(BASE + version * 60_000).toISOString();
    return {
      type: 'DowntimeEvent',
      key,
      system,
      label: `${system} write ${n} (v${version}, ${line}) of ${key}`,
      idempotencyKey: `${key}-${n}`,
      write: { document, version, occurredAt },
      body: JSON.stringify({
        messageId: 'set-by-the-hub',
        type: 'DowntimeEvent',
        objectKey: key,
        sourceSystem: system,
        occurredAt,
        receivedAt: occurredAt,
        version,
        document,
      }),
    };
  };
  const line = () => (next() < 0.5 ? 'LINE-1' : 'LINE-2');
  const writer = () => (next() < 0.5 ? 'mes' : 'scada');
  const create = post('mes', 'LINE-1', 0);
  const rest = Array.from({ length: 6 + Math.floor(next() * 6) }, (_, n) => post(writer(), line(), n + 1));
  return { type: 'DowntimeEvent', key, create, rest };
}

export function shuffle<T>(items: T[], next: () => number): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i -= 1) {
    const j = Math.floor(next() * (i + 1));
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy;
}
