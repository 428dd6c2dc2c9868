/**
 * The context engine as part of ingest: the signals of a message (and the running orders of accepted
 * ProductionOrders) are applied to their work units' state inside the batch's transaction, so the
 * state, the signal message and the documents it completed commit together or not at all.
 */
import type { Problem } from '../../schemas/problem';
import type { Db } from '../store/db';
import { objectData } from '../store/objects';
import type { ContextConfig, LineConfig, WorkUnitConfig } from './config';
import {
  advanceClock,
  applyOrder,
  applySignal,
  initialState,
  lossCategoryOf,
  reasonOf,
  type Derived,
  type Provenance,
  type RunningOrder,
  type Signal,
  type SignalOutcome,
  type StopKind,
  type UnitState,
} from './engine';
import { countsId } from './counts';
import { onWorkOrder } from './maintenance';

export interface SignalReport {
  equipmentId: string;
  signal: string;
  outcome: SignalOutcome;
}

/** What applying one message did: the documents it completed and what became of each signal. */
export interface EngineResult {
  derived: Derived[];
  signals: SignalReport[];
}

/** Order states in which an order runs on its equipment; any other ends its run. */
const RUNNING = 'Running';

export class ContextEngine {
  private readonly units = new Map<string, { unit: WorkUnitConfig; line: LineConfig }>();
  private readonly lines = new Map<string, LineConfig>();

  constructor(readonly config: ContextConfig) {
    for (const line of config.lines) {
      this.lines.set(line.id, line);
      for (const unit of line.workUnits) this.units.set(unit.id, { unit, line });
    }
  }

  get system(): string {
    return this.config.system;
  }

  unit(equipmentId: string): { unit: WorkUnitConfig; line: LineConfig } | undefined {
    return this.units.get(equipmentId);
  }

  line(equipmentId: string): LineConfig | undefined {
    return this.lines.get(equipmentId);
  }

  /**
   * The signals a payload carries, when it is a signal message (one, or an array of them) from a
   * system that feeds the engine; undefined for any other payload. Malformed signal messages are
   * problems, filed as a SIGNAL_INVALID dead letter.
   */
  signalsOf(message: {
    messageId: string;
    system: string;
    contentType: string;
    body: string;
    receivedAt: string;
  }): { signals: Signal[] } | { problems: Problem[] } | undefined {
    if (message.contentType !== 'json' || !this.config.sources.includes(message.system)) return undefined;
    let payload: unknown;
    try {
      payload = JSON.parse(message.body);
    } catch {
      return undefined;
    }
    const list = Array.isArray(payload) ? payload : [payload];
    if (list.length === 0 || !list.every((item) => isObject(item) && item['kind'] === 'signal')) return undefined;
    const problems: Problem[] = [];
    const signals = list.map((item: Record<string, unknown>, index) => {
      const path = Array.isArray(payload) ? `/${index}` : '';
      for (const field of ['equipmentId', 'signal'] as const)
        if (typeof item[field] !== 'string' || item[field] === '')
          problems.push({ path: `${path}/${field}`, reason: 'required: a non-empty string' });
      const stamp = item['sourceTimestamp'];
      if (stamp !== undefined && stamp !== null && (typeof stamp !== 'string' || Number.isNaN(Date.parse(stamp))))
        problems.push({ path: `${path}/sourceTimestamp`, reason: 'an ISO 8601 date-time or null' });
      return {
        messageId: message.messageId,
        equipmentId: String(item['equipmentId']),
        signal: String(item['signal']),
        value: item['value'],
        quality: typeof item['quality'] === 'string' ? item['quality'] : 'good',
        sourceTimestamp: typeof stamp === 'string' ? stamp : null,
        receivedAt: message.receivedAt,
      };
    });
    return problems.length > 0 ? { problems } : { signals };
  }

  /**
   * Applies a message's signals, each to its work unit's state, in source-time order (in their order
   * where the time is the same): a bundle, or an OPC UA notification, lists values by item, not by
   * time, and a unit's earlier value after a later one would be found late. Reports are in the
   * message's order.
   */
  async applySignals(tx: Db, signals: Signal[]): Promise<EngineResult> {
    const derived: Derived[] = [];
    const reports: SignalReport[] = new Array<SignalReport>(signals.length);
    const known = signals.filter((signal) => this.units.has(signal.equipmentId));
    const states = await this.load(tx, [...new Set(known.map((signal) => signal.equipmentId))]);
    // A signal without a readable time goes last; the sort is stable, so equal times keep their order.
    const times = signals.map((signal) => Date.parse(signal.sourceTimestamp ?? signal.receivedAt));
    const at = (index: number) => (Number.isNaN(times[index]!) ? Infinity : times[index]!);
    const order = signals.map((_, index) => index).sort((a, b) => at(a) - at(b));
    for (const index of order) {
      const signal = signals[index]!;
      const entry = this.units.get(signal.equipmentId);
      if (!entry) {
        reports[index] = {
          equipmentId: signal.equipmentId,
          signal: signal.signal,
          outcome: { booked: false, code: 'SIGNAL_UNKNOWN_EQUIPMENT', detail: `equipment "${signal.equipmentId}"` },
        };
        continue;
      }
      const applied = applySignal(this.config, entry.unit, states.get(signal.equipmentId)!, signal);
      derived.push(...applied.documents);
      reports[index] = { equipmentId: signal.equipmentId, signal: signal.signal, outcome: applied.outcome };
    }
    const traced = await this.traceCounts(tx, derived);
    await this.save(tx, states);
    return { derived: traced, signals: reports };
  }

  /** Moves every silent work unit's event time on to `now` (less the lateness): what that completes. */
  async tick(tx: Db, now: number): Promise<Derived[]> {
    const states = await this.load(tx, [...this.units.keys()]);
    const derived: Derived[] = [];
    const moved = new Map<string, UnitState>();
    for (const [id, state] of states) {
      const before = state.eventTime;
      derived.push(...advanceClock(this.config, this.units.get(id)!.unit, state, now));
      if (state.eventTime !== before) moved.set(id, state);
    }
    const traced = await this.traceCounts(tx, derived);
    await this.save(tx, moved);
    return traced;
  }

  /** A reason correction the API queued as a message of the engine's own system. */
  correctionOf(message: { system: string; contentType: string; body: string }): ReasonCorrection | undefined {
    if (message.system !== this.system || message.contentType !== 'json') return undefined;
    try {
      const payload = JSON.parse(message.body) as Partial<ReasonCorrection> & { kind?: string };
      return payload.kind === 'reason-correction' ? (payload as ReasonCorrection) : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * The next revision of a DowntimeEvent with the reason assigned or corrected: classified by the
   * reason's loss category (a micro-stop given a reason is a stop of that reason). An open stop keeps
   * the reason for the rest of it.
   */
  async correct(tx: Db, correction: ReasonCorrection, at: string, provenance: Provenance): Promise<Derived[]> {
    const stored = await objectData(tx, 'DowntimeEvent', correction.downtimeId);
    if (!stored) return [];
    const event = stored.data;
    const entry = this.units.get(String(event['equipmentId']));
    if (!entry) return [];
    const reason = reasonOf(this.config, entry.unit, correction.reasonCode);
    const version = (stored.version ?? 0) + 1;
    const states = await this.load(tx, [entry.unit.id]);
    const state = states.get(entry.unit.id)!;
    if (state.stop?.id === correction.downtimeId) {
      state.stop.reasonCode = correction.reasonCode;
      state.stop.revision = version;
      await this.save(tx, states);
    }
    // Given a reason, a micro-stop is a stop of that reason.
    const stopKind = (event['stopKind'] === 'microStop' ? 'stop' : (event['stopKind'] ?? 'stop')) as StopKind;
    const document: Record<string, unknown> = {
      ...event,
      reasonCode: correction.reasonCode,
      lossCategory: lossCategoryOf(this.config, stopKind, false, reason),
      stopKind,
      description: reason?.name ?? `Stop ${correction.reasonCode}`,
      recordedAt: at,
    };
    if (reason) document['reason'] = reason.name;
    else delete document['reason'];
    return [
      {
        type: 'DowntimeEvent',
        objectKey: correction.downtimeId,
        version,
        occurredAt: at,
        document,
        derivedFrom: [provenance],
      },
    ];
  }

  /** Whether accepted documents of `type` change the engine's state. */
  follows(type: string): boolean {
    return type === 'ProductionOrder' || type === 'MaintenanceWorkOrder';
  }

  /** An accepted revision (its stored object) of a type the engine follows. */
  async accepted(tx: Db, type: string, data: unknown, occurredAt: string, provenance: Provenance): Promise<Derived[]> {
    if (type === 'ProductionOrder') return this.applyOrder(tx, data as OrderLike, occurredAt, provenance);
    const order = data as { equipmentId?: string; requestId?: string; state?: string };
    if (type !== 'MaintenanceWorkOrder' || !order.requestId || !order.equipmentId || !this.units.has(order.equipmentId))
      return [];
    const states = await this.load(tx, [order.equipmentId]);
    if (onWorkOrder(states.get(order.equipmentId)!, order.requestId, order.state)) await this.save(tx, states);
    return [];
  }

  /**
   * An accepted revision of a ProductionOrder: on the work units it is scoped to (its hierarchy scope
   * or its segments' equipment; a line stands for its work units) it runs from a change to Running,
   * at that change's time, until any other state.
   */
  async applyOrder(tx: Db, order: OrderLike, occurredAt: string, provenance: Provenance): Promise<Derived[]> {
    const placements = this.placementsOf(order);
    if (placements.size === 0) return [];
    const at = Date.parse(occurredAt);
    const states = await this.load(tx, [...placements.keys()]);
    const derived: Derived[] = [];
    for (const [equipmentId, segment] of placements) {
      const state = states.get(equipmentId)!;
      const { unit } = this.units.get(equipmentId)!;
      let next: RunningOrder | undefined = state.order;
      if (order.state === RUNNING) {
        next = { orderId: order.id, since: at };
        if (segment?.id) next.operationId = segment.id;
        const material = producedMaterial(order, segment);
        if (material) next.materialDefinitionId = material;
      } else if (state.order?.orderId === order.id) next = undefined;
      derived.push(...applyOrder(this.config, unit, state, next, at, provenance));
    }
    const traced = await this.traceCounts(tx, derived);
    await this.save(tx, states);
    return traced;
  }

  private placementsOf(order: OrderLike): Map<string, OrderSegment | undefined> {
    const placements = new Map<string, OrderSegment | undefined>();
    const place = (equipmentId: string | undefined, segment: OrderSegment | undefined) => {
      if (!equipmentId) return;
      const line = this.lines.get(equipmentId);
      const ids = line ? line.workUnits.map((unit) => unit.id) : this.units.has(equipmentId) ? [equipmentId] : [];
      for (const id of ids) if (!placements.has(id) || segment) placements.set(id, segment ?? placements.get(id));
    };
    place(order.hierarchyScope?.equipmentId, order.segments?.[0]);
    for (const segment of order.segments ?? [])
      for (const equipment of segment.equipment ?? []) place(equipment.equipmentId, segment);
    return placements;
  }

  /** The states of these work units, locked for the rest of `tx`. */
  private async load(tx: Db, ids: string[]): Promise<Map<string, UnitState>> {
    const states = new Map<string, UnitState>();
    const sorted = [...ids].sort();
    // One lock for all engine state, taken after the batch's object locks (lockObjects): transactions
    // that touch work units in different orders cannot deadlock. It serialises engine batches on
    // PostgreSQL as SQLite's single writer does.
    if (tx.dialect === 'postgres')
      await tx.execute("SELECT pg_advisory_xact_lock(hashtextextended('context-engine', 0))");
    for (const id of sorted) states.set(id, (await unitState(tx, id)) ?? initialState(id));
    return states;
  }

  /**
   * Writes the states back. The signals counted since a unit's last save go to a chunk of their own
   * (context_count_signals), not into the state: a count period's provenance would otherwise be read
   * and written again by every batch until it is booked.
   */
  private async save(tx: Db, states: Map<string, UnitState>): Promise<void> {
    const now = new Date().toISOString();
    for (const [id, state] of states) {
      const counts = state.counts;
      let stored = state;
      if (counts && counts.signals.length > 0 && state.order) {
        const chunk = counts.chunks ?? 0;
        await tx.execute('INSERT INTO context_count_signals (counts_id, chunk, signals) VALUES ($1, $2, $3)', [
          countsId(id, state.order, counts.since),
          chunk,
          JSON.stringify(counts.signals),
        ]);
        stored = { ...state, counts: { ...counts, signals: [], chunks: chunk + 1 } };
      }
      await tx.execute(
        `INSERT INTO context_units (equipment_id, state, updated_at) VALUES ($1, $2, $3)
         ON CONFLICT (equipment_id) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at`,
        [id, JSON.stringify(stored), now],
      );
    }
  }

  /**
   * The booked counts' full trace: the signals saved in chunks by earlier batches come before those
   * of this one, and their chunks are removed with the booking (before the save, which may begin the
   * next counts' chunks).
   */
  private async traceCounts(tx: Db, derived: Derived[]): Promise<Derived[]> {
    for (const document of derived) {
      if (document.type !== 'ProductionConfirmation') continue;
      // One statement reads and removes them (RETURNING: SQLite 3.35+, PostgreSQL); it has no order.
      const chunks = await tx.query<{ chunk: number; signals: string }>(
        'DELETE FROM context_count_signals WHERE counts_id = $1 RETURNING chunk, signals',
        [document.objectKey],
      );
      if (chunks.length === 0) continue;
      chunks.sort((a, b) => Number(a.chunk) - Number(b.chunk));
      document.derivedFrom = [
        ...chunks.flatMap((chunk) => JSON.parse(chunk.signals) as Provenance[]),
        ...document.derivedFrom,
      ];
    }
    return derived;
  }
}

/** An operator's or MES's assignment of a stop's reason, as the API queues it. */
export interface ReasonCorrection {
  kind: 'reason-correction';
  downtimeId: string;
  reasonCode: string;
  comment?: string;
  /** Who asked: `operator` (the admin token) or the system whose token it was. */
  by: string;
}

/** The parts of a ProductionOrder the engine reads. */
export interface OrderLike {
  id: string;
  state?: string;
  hierarchyScope?: { equipmentId?: string };
  segments?: OrderSegment[];
}

interface OrderSegment {
  id?: string;
  equipment?: Array<{ equipmentId?: string }>;
  materials?: Array<{ materialDefinitionId?: string; use?: string }>;
}

function producedMaterial(order: OrderLike, segment: OrderSegment | undefined): string | undefined {
  const produced = (s: OrderSegment | undefined) =>
    s?.materials?.find((material) => /Produced$/.test(material.use ?? ''))?.materialDefinitionId;
  return produced(segment) ?? order.segments?.map(produced).find((id) => id !== undefined);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The state the engine holds for a work unit, as the API shows it. */
export async function unitState(db: Db, equipmentId: string): Promise<UnitState | undefined> {
  const [row] = await db.query<{ state: string }>('SELECT state FROM context_units WHERE equipment_id = $1', [
    equipmentId,
  ]);
  return row ? (JSON.parse(row.state) as UnitState) : undefined;
}
