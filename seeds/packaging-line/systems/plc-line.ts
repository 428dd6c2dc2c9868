/**
 * The packaging line as its PLCs run it, in plant time and without I/O: the running order, bottles
 * flowing filler → capper → labeler → case packer, rejects, the planned stops and the edge node's
 * restart, and the PackML tags each unit shows. What it does goes to a {@link LineSink}: the tags to
 * the OPC UA server and the Sparkplug edge node, the counts and stops to the store, events to the log.
 */
import { BOTTLES_PER_CASE, WORK_UNITS } from './scenario';
import { RATES, REJECT_RATES, type PlannedStop, type StopChain, type UnitId } from './plc-plan';

/** The PackML states the line uses (ISA-TR88.00.02) and the Production mode. */
export const PACKML = { stopped: 2, idle: 4, suspended: 5, execute: 6, complete: 17 } as const;
export const MODE_PRODUCTION = 1;

/** The tags of one work unit, by the names its PLC gives them (the hub binds these). */
export interface UnitSignals {
  State: number;
  Mode: number;
  GoodCount: number;
  RejectCount: number;
  StopReason: number;
}
export type SignalName = keyof UnitSignals;

/** The latest revision of an order the hub delivered, and the plant time it arrived. */
export interface OrderRevision {
  orderId: string;
  state: string;
  /** Cases planned; null when the revision gives none (the order then runs until it is not Running). */
  quantity: number | null;
  at: number;
}

/**
 * A stop of a unit as the hub's context engine will see it from the unit's tags: `stop` for its own
 * (Stopped, or Complete while the hub still has the order Running: one stop whatever stop states it
 * passes through), `external` while it is starved because the unit before it stands (Suspended).
 */
export interface StopStart {
  unit: UnitId;
  orderId: string | null;
  kind: 'stop' | 'external';
  /** Why: the planned fault's cause, `plc-restart`, `order-complete`, or `upstream` for a starved unit. */
  cause: string;
  reasonCode: number | null;
  start: number;
}

/** Where the line's doings go. Called synchronously from {@link Line.advanceTo}. */
export interface LineSink {
  /** A unit's tags changed at `at`: `changed` names them in the order to send them, `values` has all. */
  signals(unit: UnitId, at: number, values: UnitSignals, changed: SignalName[]): void;
  counted(unit: UnitId, orderId: string, good: number, reject: number): void;
  stopStarted(stop: StopStart): void;
  stopEnded(unit: UnitId, at: number): void;
  /** The edge node of the capper, labeler and case packer goes away (after its last data) or comes back. */
  edge(event: 'down' | 'up', at: number): void;
  log(message: string, fields: Record<string, unknown>): void;
}

export interface LineOptions {
  /** Plant time the line starts at. */
  start: number;
  fillerCounterStart: number;
  chains: StopChain[];
  restart: { at: number; downMs: number; bootMs: number };
  sink: LineSink;
  /** Orders already in the store, and the good cases made for each (a restarted process goes on). */
  orders?: OrderRevision[];
  produced?: Record<string, number>;
}

const STEP_MS = 1000;
/** Counter changes are published at most this often per unit (a state change sends them at once). */
export const COUNT_EVERY_MS = 10_000;
/**
 * A unit with nothing new sends its counters again after this long: the hub's engine works in event
 * time and books a period's counts once a signal past its end arrives, which a silent unit never sends.
 */
export const KEEPALIVE_MS = 10_000;
const COUNTER_RANGE = 65_536;
const EDGE_UNITS: readonly UnitId[] = ['CAPPER-01', 'LABELER-01', 'CASEPACKER-01'];

interface Fault {
  stop: PlannedStop;
  start: number;
  until: number;
}

interface Unit {
  id: UnitId;
  tags: UnitSignals;
  published: UnitSignals;
  countsPublishedAt: number;
  publishedAt: number;
  /** Bottles waiting for this unit (not used by the filler, which is never short of bottles). */
  buffer: number;
  /** Fractional bottles (filler) or case capacity (case packer) carried to the next second. */
  carry: number;
  fault?: Fault;
  open?: 'stop' | 'external';
  random: () => number;
}

interface ChainRun {
  chain: StopChain;
  next: number;
  dueAt: number;
}

type RestartPhase = 'planned' | 'down' | 'booting' | 'done';

/** A small seeded generator (mulberry32): the same run rejects the same bottles. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** The line: feed it order revisions with {@link deliver} and move it on with {@link advanceTo}. */
export class Line {
  private readonly units: Unit[];
  private readonly sink: LineSink;
  private readonly orders = new Map<string, OrderRevision>();
  private readonly runningSince = new Map<string, number>();
  private readonly pending: OrderRevision[] = [];
  private readonly produced = new Map<string, number>();
  private readonly started = new Set<string>();
  private readonly chains: ChainRun[];
  private readonly restart: LineOptions['restart'] & { phase: RestartPhase; downAt: number };
  private running: string | undefined;
  private time: number;
  private ended = false;

  constructor(options: LineOptions) {
    this.sink = options.sink;
    this.time = Math.floor(options.start / STEP_MS) * STEP_MS;
    this.units = WORK_UNITS.map((id, index) => {
      const tags: UnitSignals = {
        State: PACKML.idle,
        Mode: MODE_PRODUCTION,
        GoodCount: id === 'FILLER-01' ? options.fillerCounterStart % COUNTER_RANGE : 0,
        RejectCount: 0,
        StopReason: 0,
      };
      return {
        id,
        tags,
        published: { ...tags },
        countsPublishedAt: this.time,
        publishedAt: this.time,
        buffer: 0,
        carry: 0,
        random: seeded(4711 + index),
      };
    });
    this.chains = options.chains.map((chain) => ({ chain, next: 0, dueAt: chain.firstAt }));
    // A process started after the planned restart (a restart of the PLC program itself) does not play it again.
    this.restart = { ...options.restart, phase: options.restart.at < this.time ? 'done' : 'planned', downAt: 0 };
    for (const order of options.orders ?? []) this.apply(order);
    for (const [orderId, cases] of Object.entries(options.produced ?? {})) this.produced.set(orderId, cases);
  }

  /** The plant time the line has reached. */
  get now(): number {
    return this.time;
  }

  /** The order the line runs now, if any. */
  get runningOrder(): string | undefined {
    return this.running;
  }

  /** A unit's tags as they are now. */
  tagsOf(unit: UnitId): UnitSignals {
    return { ...this.unit(unit).tags };
  }

  /** A revision the hub delivered; it takes effect once the line reaches its plant time. */
  deliver(revision: OrderRevision): void {
    this.pending.push(revision);
  }

  /** Runs the line second by second up to plant time `until`. */
  advanceTo(until: number): void {
    while (!this.ended && this.time + STEP_MS <= until) this.step(this.time + STEP_MS);
  }

  /** The shift is over at `at`: the units stop producing and stand Idle. */
  finish(at: number): void {
    if (this.ended) return;
    this.advanceTo(at);
    this.ended = true;
    const t = Math.max(this.time, at);
    this.running = undefined;
    for (const unit of this.units) {
      this.endFault(unit, t);
      unit.tags.State = PACKML.idle;
      unit.tags.StopReason = 0;
    }
    this.track(t);
    this.publish(t, true);
    this.sink.log('shift over: the line stands idle', { plantTime: new Date(t).toISOString() });
  }

  private unit(id: UnitId): Unit {
    return this.units.find((unit) => unit.id === id)!;
  }

  private apply(revision: OrderRevision): void {
    const before = this.orders.get(revision.orderId);
    this.orders.set(revision.orderId, revision);
    if (revision.state === 'Running' && before?.state !== 'Running')
      this.runningSince.set(revision.orderId, revision.at);
  }

  private isDone(order: OrderRevision): boolean {
    return order.quantity !== null && (this.produced.get(order.orderId) ?? 0) >= order.quantity;
  }

  private step(t: number): void {
    this.time = t;
    for (const revision of this.pending.filter((r) => r.at <= t)) this.apply(revision);
    this.pending.splice(0, this.pending.length, ...this.pending.filter((r) => r.at > t));
    const goingDown = this.restartStep(t);
    this.selectOrder(t);
    for (const unit of this.units) if (unit.fault && (t >= unit.fault.until || !this.running)) this.endFault(unit, t);
    if (this.running) this.startFaults(t);
    this.flow(t);
    this.track(t);
    this.publish(t, false);
    if (goingDown) {
      // The last data went out; the edge node dies, and its PLC comes back with its counters at 0.
      this.sink.edge('down', t);
      for (const id of EDGE_UNITS) {
        const unit = this.unit(id);
        unit.tags.GoodCount = 0;
        unit.tags.RejectCount = 0;
      }
      this.publish(t, true, EDGE_UNITS);
    }
  }

  /** Moves the restart on; true in the second the edge node goes down. */
  private restartStep(t: number): boolean {
    const restart = this.restart;
    if (restart.phase === 'planned' && t >= restart.at) {
      restart.phase = 'down';
      restart.downAt = t;
      this.sink.log('plc restart: the edge node line1 goes down, its counters restart from 0', {
        plantTime: new Date(t).toISOString(),
        units: EDGE_UNITS,
        downSeconds: restart.downMs / 1000,
      });
      return true;
    }
    if (restart.phase === 'down' && t >= restart.downAt + restart.downMs) {
      restart.phase = 'booting';
      this.sink.edge('up', t);
    } else if (restart.phase === 'booting' && t >= restart.downAt + restart.downMs + restart.bootMs) {
      restart.phase = 'done';
      this.sink.log('plc restart: the edge node’s units run again', { plantTime: new Date(t).toISOString() });
    }
    return false;
  }

  /** An order that reached its quantity while the hub still has it Running: the line waits, Complete. */
  private get waitingOrder(): string | undefined {
    return [...this.orders.values()].find((order) => order.state === 'Running' && this.isDone(order))?.orderId;
  }

  private get edgeStopped(): boolean {
    return this.restart.phase === 'down' || this.restart.phase === 'booting';
  }

  /** The order to run: the one running if it still may, else the Running order that started first. */
  private selectOrder(t: number): void {
    const candidates = [...this.orders.values()]
      .filter((order) => order.state === 'Running' && !this.isDone(order))
      .sort((a, b) => (this.runningSince.get(a.orderId) ?? 0) - (this.runningSince.get(b.orderId) ?? 0));
    const next = candidates.find((order) => order.orderId === this.running) ?? candidates[0];
    if (next?.orderId === this.running) return;
    if (this.running) {
      const order = this.orders.get(this.running);
      this.sink.log('order stopped before its quantity', {
        orderId: this.running,
        state: order?.state,
        produced: this.produced.get(this.running) ?? 0,
        quantity: order?.quantity,
        plantTime: new Date(t).toISOString(),
      });
    }
    this.running = next?.orderId;
    if (!next) return;
    // A new run starts with an empty line: what stood between the units belonged to the last order.
    for (const unit of this.units) {
      unit.buffer = 0;
      unit.carry = 0;
    }
    this.sink.log(this.started.has(next.orderId) ? 'order resumed' : 'order started', {
      orderId: next.orderId,
      quantity: next.quantity,
      produced: this.produced.get(next.orderId) ?? 0,
      plantTime: new Date(t).toISOString(),
    });
    this.started.add(next.orderId);
  }

  private startFaults(t: number): void {
    for (const run of this.chains) {
      const stop = run.chain.stops[run.next];
      if (!stop || run.dueAt > t) continue;
      const unit = this.unit(stop.unit);
      if (unit.fault || (this.edgeStopped && EDGE_UNITS.includes(unit.id))) continue;
      unit.fault = { stop, start: t, until: t + stop.durationMs };
      run.dueAt = t + (run.chain.gapsMs[run.next] ?? 0);
      run.next += 1;
      this.sink.log('fault', {
        unit: unit.id,
        cause: stop.cause,
        reasonCode: stop.reasonCode,
        seconds: stop.durationMs / 1000,
        planned: new Date(run.chain.firstAt).toISOString(),
        plantTime: new Date(t).toISOString(),
        orderId: this.running,
      });
    }
  }

  private endFault(unit: Unit, t: number): void {
    if (!unit.fault) return;
    this.sink.log('fault cleared', {
      unit: unit.id,
      cause: unit.fault.stop.cause,
      seconds: (t - unit.fault.start) / 1000,
      plantTime: new Date(t).toISOString(),
    });
    delete unit.fault;
  }

  /** One second of the line: each unit's state, and what it makes of what reaches it. */
  private flow(t: number): void {
    const orderId = this.running;
    const order = orderId ? this.orders.get(orderId) : undefined;
    const waiting = this.waitingOrder !== undefined;
    this.units.forEach((unit, index) => {
      const upstream = index > 0 ? this.units[index - 1] : undefined;
      const need = unit.id === 'CASEPACKER-01' ? BOTTLES_PER_CASE : 1;
      let state: number;
      if (!order) state = waiting ? PACKML.complete : PACKML.idle;
      else if (unit.fault || (this.edgeStopped && EDGE_UNITS.includes(unit.id))) state = PACKML.stopped;
      else if (upstream && upstream.tags.State !== PACKML.execute && unit.buffer < need) state = PACKML.suspended;
      else state = PACKML.execute;
      unit.tags.State = state;
      unit.tags.StopReason = state === PACKML.stopped ? (unit.fault?.stop.reasonCode ?? 0) : 0;
      if (state !== PACKML.execute || !order || !orderId) return;
      const made = this.make(unit, order);
      const next = this.units[index + 1];
      if (next) next.buffer += made.good;
      if (made.good === 0 && made.reject === 0) return;
      unit.tags.GoodCount = (unit.tags.GoodCount + made.good) % COUNTER_RANGE;
      unit.tags.RejectCount = (unit.tags.RejectCount + made.reject) % COUNTER_RANGE;
      this.sink.counted(unit.id, orderId, made.good, made.reject);
    });
    if (order && orderId && this.isDone(order)) {
      this.sink.log('order completed', {
        orderId,
        quantity: order.quantity,
        produced: this.produced.get(orderId),
        plantTime: new Date(t).toISOString(),
      });
      this.running = undefined;
      for (const unit of this.units) {
        this.endFault(unit, t);
        unit.tags.State = PACKML.complete;
        unit.tags.StopReason = 0;
      }
    }
  }

  /** What a unit makes in one second: bottles (cases at the case packer), good and rejected. */
  private make(unit: Unit, order: OrderRevision): { good: number; reject: number } {
    let items: number;
    if (unit.id === 'FILLER-01') {
      unit.carry += RATES.fillerBottlesPerSecond;
      items = Math.floor(unit.carry);
      unit.carry -= items;
    } else if (unit.id === 'CASEPACKER-01') {
      unit.carry = Math.min(1, unit.carry + RATES.casesPerSecondMax);
      items = Math.min(Math.floor(unit.buffer / BOTTLES_PER_CASE), Math.floor(unit.carry));
    } else {
      items = Math.min(Math.floor(unit.buffer), RATES.bottlesPerSecondMax);
      unit.buffer -= items;
    }
    const before = this.produced.get(order.orderId) ?? 0;
    let good = 0;
    let reject = 0;
    for (let i = 0; i < items; i += 1) {
      // The case packer makes no case beyond the order's quantity.
      if (unit.id === 'CASEPACKER-01') {
        if (order.quantity !== null && before + good >= order.quantity) break;
        unit.carry -= 1;
        unit.buffer -= BOTTLES_PER_CASE;
      }
      if (unit.random() < REJECT_RATES[unit.id]) reject += 1;
      else good += 1;
    }
    if (unit.id === 'CASEPACKER-01' && good > 0) this.produced.set(order.orderId, before + good);
    return { good, reject };
  }

  /** Opens and closes the stop records as the units' states change. */
  private track(t: number): void {
    for (const unit of this.units) {
      const state = unit.tags.State;
      const kind =
        state === PACKML.stopped || state === PACKML.complete
          ? 'stop'
          : state === PACKML.suspended
            ? 'external'
            : undefined;
      if (unit.open === kind) continue;
      if (unit.open) this.sink.stopEnded(unit.id, t);
      unit.open = kind;
      if (!kind) continue;
      let cause = 'upstream';
      if (kind === 'stop')
        cause = unit.fault
          ? unit.fault.stop.cause
          : this.edgeStopped && EDGE_UNITS.includes(unit.id)
            ? 'plc-restart'
            : 'order-complete';
      this.sink.stopStarted({
        unit: unit.id,
        orderId: this.running ?? this.waitingOrder ?? null,
        kind,
        cause,
        reasonCode: kind === 'stop' ? (unit.fault?.stop.reasonCode ?? null) : null,
        start: t,
      });
    }
  }

  /**
   * Hands each unit's changed tags to the sink: state and reason at once, counters with them or at
   * most every {@link COUNT_EVERY_MS} (`flush`: now), and the counters again after {@link KEEPALIVE_MS}
   * without news. A reason goes before the stop it explains and after the run that ends it, as a PLC
   * sets them.
   */
  private publish(t: number, flush: boolean, only: readonly UnitId[] = WORK_UNITS): void {
    for (const unit of this.units.filter((candidate) => only.includes(candidate.id))) {
      const { tags, published } = unit;
      const stateChanged = tags.State !== published.State || tags.StopReason !== published.StopReason;
      const counters: SignalName[] = (['GoodCount', 'RejectCount'] as const).filter(
        (name) => tags[name] !== published[name],
      );
      const countsDue = flush || stateChanged || t - unit.countsPublishedAt >= COUNT_EVERY_MS;
      const changed: SignalName[] = countsDue ? [...counters] : [];
      if (tags.Mode !== published.Mode) changed.push('Mode');
      const state: SignalName[] = [];
      if (tags.State !== published.State) state.push('State');
      if (tags.StopReason !== published.StopReason) {
        if (tags.StopReason !== 0) state.unshift('StopReason');
        else state.push('StopReason');
      }
      changed.push(...state);
      if (changed.length === 0 && !flush && t - unit.publishedAt >= KEEPALIVE_MS)
        changed.push('GoodCount', 'RejectCount');
      if (changed.length === 0) continue;
      unit.publishedAt = t;
      for (const name of changed) published[name] = tags[name];
      if (changed.includes('GoodCount') || changed.includes('RejectCount')) unit.countsPublishedAt = t;
      this.sink.signals(unit.id, t, { ...tags }, changed);
    }
  }
}
