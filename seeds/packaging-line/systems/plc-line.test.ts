/**
 * The line model on its own, in plant time: a whole shift with both orders, the planned faults, the
 * counter rollover and the edge node's restart; what its tags tell a reader (as the hub's engine reads
 * counters) adds up to the truth it records; it runs only Running orders and stops at their quantity.
 */
import { PlantClock } from './common';
import { Line, PACKML, type LineSink, type SignalName, type StopStart, type UnitSignals } from './plc-line';
import { fillerCounterStart, restartPlan, stopPlan, type StopChain, type UnitId } from './plc-plan';
import { EVENTS, WORK_UNITS, atFraction, orderAIncrease, plannedOrders } from './scenario';

interface Published {
  unit: UnitId;
  at: number;
  values: UnitSignals;
  changed: SignalName[];
}

function recorder() {
  const published: Published[] = [];
  const counted = new Map<string, { good: number; reject: number }>();
  const stops: (StopStart & { end?: number })[] = [];
  const edge: { event: string; at: number }[] = [];
  const logs: { message: string; fields: Record<string, unknown> }[] = [];
  const sink: LineSink = {
    signals: (unit, at, values, changed) => published.push({ unit, at, values, changed }),
    counted(unit, orderId, good, reject) {
      const key = `${unit} ${orderId}`;
      const entry = counted.get(key) ?? { good: 0, reject: 0 };
      counted.set(key, { good: entry.good + good, reject: entry.reject + reject });
    },
    stopStarted: (stop) => stops.push({ ...stop }),
    stopEnded(unit, at) {
      const open = stops.find((stop) => stop.unit === unit && stop.end === undefined);
      if (open) open.end = at;
    },
    edge: (event, at) => edge.push({ event, at }),
    log: (message, fields) => logs.push({ message, fields }),
  };
  return { sink, published, counted, stops, edge, logs };
}

/** What a reader of the tags counts, as the hub's engine does: rises, across a rollover at 65 536 when plausible. */
function countedFromTags(published: Published[], unit: UnitId, signal: 'GoodCount' | 'RejectCount'): number {
  let last: { value: number; at: number } | undefined;
  let total = 0;
  for (const entry of published.filter((p) => p.unit === unit && p.changed.includes(signal))) {
    const value = entry.values[signal];
    if (last) {
      let delta = value - last.value;
      if (delta < 0) delta = 65_536 - last.value + value;
      const seconds = Math.max((entry.at - last.at) / 1000, 1e-3);
      if (delta / seconds <= 50) total += delta;
    }
    last = { value, at: entry.at };
  }
  return total;
}

const minutes = (ms: number) => ms / 60_000;

describe('a whole shift', () => {
  const hours = 8;
  const clock = new PlantClock(Date.parse('2026-12-01T05:00:00Z'), 0, 240, hours);
  const [a, b] = plannedOrders(hours) as [ReturnType<typeof plannedOrders>[0], ReturnType<typeof plannedOrders>[0]];
  const raised = a.quantity + orderAIncrease(a);
  const record = recorder();
  const line = new Line({
    start: clock.plantStart,
    fillerCounterStart: fillerCounterStart(clock),
    chains: stopPlan(clock),
    restart: restartPlan(clock),
    sink: record.sink,
  });
  const at = (fraction: number) => atFraction(clock, fraction);
  const deliver = (fraction: number, orderId: string, state: string, quantity: number) => {
    line.advanceTo(at(fraction));
    line.deliver({ orderId, state, quantity, at: at(fraction) });
  };
  /** When each order ran: from its Running revision until its quantity (logged) or its end. */
  deliver(0.01, a.orderId, 'Released', a.quantity);
  deliver(0.02, b.orderId, 'Released', b.quantity);
  deliver(a.start, a.orderId, 'Running', a.quantity);
  deliver(EVENTS.orderAChange, a.orderId, 'Running', raised);
  const completedAt = (orderId: string) =>
    Date.parse(
      String(
        record.logs.find((l) => l.message === 'order completed' && l.fields['orderId'] === orderId)?.fields[
          'plantTime'
        ],
      ),
    );
  line.advanceTo(at(a.due));
  const aDone = completedAt(a.orderId);
  deliver(a.due, a.orderId, 'Completed', raised);
  deliver(b.start, b.orderId, 'Running', b.quantity);
  line.advanceTo(at(b.due));
  const bDone = completedAt(b.orderId);
  deliver(b.due, b.orderId, 'Completed', b.quantity);
  line.finish(clock.end);

  it('makes each order’s quantity at the case packer, and no more', () => {
    expect(aDone).toBeLessThan(at(a.due));
    expect(bDone).toBeLessThan(at(b.due));
    expect(record.counted.get(`CASEPACKER-01 ${a.orderId}`)?.good).toBe(raised);
    expect(record.counted.get(`CASEPACKER-01 ${b.orderId}`)?.good).toBe(b.quantity);
  });

  it('moves bottles from unit to unit: none is counted that the unit before did not pass on', () => {
    for (const order of [a, b]) {
      const good = (unit: UnitId) => record.counted.get(`${unit} ${order.orderId}`)?.good ?? 0;
      const reject = (unit: UnitId) => record.counted.get(`${unit} ${order.orderId}`)?.reject ?? 0;
      expect(good('FILLER-01')).toBeGreaterThan(order.quantity * 24);
      expect(good('CAPPER-01') + reject('CAPPER-01')).toBeLessThanOrEqual(good('FILLER-01'));
      expect(good('LABELER-01') + reject('LABELER-01')).toBeLessThanOrEqual(good('CAPPER-01'));
      expect((good('CASEPACKER-01') + reject('CASEPACKER-01')) * 24).toBeLessThanOrEqual(good('LABELER-01'));
      // About 0.5 % rejects at the filler.
      expect(reject('FILLER-01') / good('FILLER-01')).toBeGreaterThan(0.002);
      expect(reject('FILLER-01') / good('FILLER-01')).toBeLessThan(0.01);
    }
  });

  it('publishes tags a reader counts to the same totals, across the filler’s rollover and the edge node’s restart', () => {
    for (const unit of WORK_UNITS) {
      const truth = [a, b].map((order) => record.counted.get(`${unit} ${order.orderId}`) ?? { good: 0, reject: 0 });
      expect(countedFromTags(record.published, unit, 'GoodCount')).toBe(truth[0]!.good + truth[1]!.good);
      expect(countedFromTags(record.published, unit, 'RejectCount')).toBe(truth[0]!.reject + truth[1]!.reject);
    }
    const filler = record.published.filter((p) => p.unit === 'FILLER-01' && p.changed.includes('GoodCount'));
    expect(filler[0]!.values.GoodCount).toBeGreaterThan(64_000);
    const rollover = filler.findIndex((p, i) => i > 0 && p.values.GoodCount < filler[i - 1]!.values.GoodCount);
    expect(Math.abs(minutes(filler[rollover]!.at - at(EVENTS.fillerRollover)))).toBeLessThan(3);
  });

  it('sends counter changes at most every 10 plant seconds, and something at least every 10 s', () => {
    const counters = (p: Published) => p.changed.includes('GoodCount') || p.changed.includes('RejectCount');
    const countsOnly = (p: Published) => p.changed.every((name) => name === 'GoodCount' || name === 'RejectCount');
    for (const unit of WORK_UNITS) {
      const ofUnit = record.published.filter((p) => p.unit === unit);
      for (let i = 1; i < ofUnit.length; i += 1) {
        expect(ofUnit[i]!.at).toBeGreaterThanOrEqual(ofUnit[i - 1]!.at);
        if (ofUnit[i]!.at < clock.end) expect(ofUnit[i]!.at - ofUnit[i - 1]!.at).toBeLessThanOrEqual(10_000);
      }
      const withCounts = ofUnit.filter(counters);
      for (let i = 1; i < withCounts.length; i += 1) {
        const gap = withCounts[i]!.at - withCounts[i - 1]!.at;
        // The restart's zeros and the shift's end send the counters at once.
        const at = withCounts[i]!.at;
        if (countsOnly(withCounts[i]!) && at !== restartPlan(clock).at && at < clock.end)
          expect(gap).toBeGreaterThanOrEqual(10_000);
      }
    }
  });

  it('counts only while an order runs', () => {
    const running = (t: number) => (t > at(a.start) && t <= aDone) || (t > at(b.start) && t <= bDone);
    for (const unit of WORK_UNITS) {
      const counting = record.published.filter((p) => p.unit === unit && p.values.State === PACKML.execute);
      expect(counting.length).toBeGreaterThan(0);
      expect(counting.filter((p) => !running(p.at))).toEqual([]);
    }
    expect([...record.counted.keys()].every((key) => key.endsWith(a.orderId) || key.endsWith(b.orderId))).toBe(true);
  });

  it('jams the capper four times within 25 minutes with reason 17, and breaks the labeler’s web for 8 minutes', () => {
    const own = (unit: UnitId, cause: string) =>
      record.stops.filter((stop) => stop.unit === unit && stop.kind === 'stop' && stop.cause === cause);
    const jams = own('CAPPER-01', 'cap-feed-jam');
    expect(jams.map((stop) => stop.reasonCode)).toEqual([17, 17, 17, 17]);
    expect(jams.map((stop) => (stop.end! - stop.start) / 1000)).toEqual([90, 140, 65, 185]);
    expect(minutes(jams[3]!.end! - jams[0]!.start)).toBeLessThanOrEqual(25);
    expect(minutes(jams[2]!.start - jams[0]!.start)).toBeLessThan(30);
    expect(jams[0]!.start).toBe(at(EVENTS.capperFault));
    const web = own('LABELER-01', 'label-web-break');
    expect(web.map((stop) => [stop.reasonCode, (stop.end! - stop.start) / 60_000])).toEqual([[21, 8]]);
    const micro = own('FILLER-01', 'micro-stop');
    expect(micro.map((stop) => stop.reasonCode)).toEqual([null, null, null, null]);
    for (const stop of micro) expect((stop.end! - stop.start) / 1000).toBeLessThanOrEqual(120);
    // The tags say so: the reason with the stop, Stopped, then Execute and no reason.
    const capper = record.published.filter((p) => p.unit === 'CAPPER-01' && p.changed.includes('State'));
    const first = capper.find((p) => p.at === jams[0]!.start)!;
    expect(first.values).toMatchObject({ State: PACKML.stopped, StopReason: 17 });
    expect(first.changed.slice(-2)).toEqual(['StopReason', 'State']);
    expect(capper.find((p) => p.at === jams[0]!.end)!.values).toMatchObject({ State: PACKML.execute, StopReason: 0 });
  });

  it('starves the units after a stopped one', () => {
    const jam = record.stops.find((stop) => stop.cause === 'cap-feed-jam')!;
    for (const unit of ['LABELER-01', 'CASEPACKER-01'] as const) {
      const starved = record.stops.find(
        (stop) => stop.unit === unit && stop.kind === 'external' && stop.start >= jam.start,
      )!;
      expect(starved.start - jam.start).toBeLessThanOrEqual(2000);
    }
    expect(record.stops.some((stop) => stop.unit === 'FILLER-01' && stop.kind === 'external')).toBe(false);
  });

  it('restarts the edge node: last data, death, counters at 0, birth, then its units run again', () => {
    const restart = restartPlan(clock);
    expect(record.edge).toEqual([
      { event: 'down', at: restart.at },
      { event: 'up', at: restart.at + restart.downMs },
    ]);
    const stops = record.stops.filter((stop) => stop.cause === 'plc-restart');
    expect(stops.map((stop) => stop.unit)).toEqual(['CAPPER-01', 'LABELER-01', 'CASEPACKER-01']);
    for (const stop of stops) expect(stop.end! - stop.start).toBe(restart.downMs + restart.bootMs);
    const capper = record.published.filter((p) => p.unit === 'CAPPER-01' && p.at === restart.at);
    expect(capper[0]!.values.State).toBe(PACKML.stopped);
    expect(capper[0]!.values.GoodCount).toBeGreaterThan(0);
    expect(capper.at(-1)!.values).toMatchObject({ GoodCount: 0, RejectCount: 0 });
  });

  it('shows Complete at the quantity, Idle once the hub ends the order, and Idle after the shift', () => {
    const casepacker = record.published.filter((p) => p.unit === 'CASEPACKER-01' && p.changed.includes('State'));
    expect(casepacker.find((p) => p.at === aDone)?.values.State).toBe(PACKML.complete);
    expect(casepacker.find((p) => p.at > aDone)?.values.State).toBe(PACKML.idle);
    expect(casepacker.at(-1)!.values.State).toBe(PACKML.idle);
    const waits = record.stops.filter((stop) => stop.cause === 'order-complete');
    expect(waits.length).toBe(8);
  });
});

describe('orders', () => {
  const clock = new PlantClock(Date.parse('2026-12-01T05:00:00Z'), 0, 240, 8);
  const start = clock.plantStart;
  const quiet = { chains: [] as StopChain[], restart: { at: Number.MAX_SAFE_INTEGER, downMs: 0, bootMs: 0 } };

  it('never runs a Released order; stops at the latest quantity and runs on when it is raised', () => {
    const record = recorder();
    const line = new Line({ start, fillerCounterStart: 0, sink: record.sink, ...quiet });
    line.deliver({ orderId: 'PO-1', state: 'Released', quantity: 5, at: start + 10_000 });
    line.advanceTo(start + 600_000);
    expect(record.counted.size).toBe(0);
    expect(line.tagsOf('FILLER-01').State).toBe(PACKML.idle);
    line.deliver({ orderId: 'PO-1', state: 'Running', quantity: 5, at: start + 600_000 });
    line.advanceTo(start + 1_200_000);
    expect(record.counted.get('CASEPACKER-01 PO-1')?.good).toBe(5);
    for (const unit of WORK_UNITS) expect(line.tagsOf(unit).State).toBe(PACKML.complete);
    line.deliver({ orderId: 'PO-1', state: 'Running', quantity: 8, at: start + 1_200_000 });
    line.advanceTo(start + 1_800_000);
    expect(record.counted.get('CASEPACKER-01 PO-1')?.good).toBe(8);
    line.deliver({ orderId: 'PO-1', state: 'Completed', quantity: 8, at: start + 1_800_000 });
    line.advanceTo(start + 1_801_000);
    for (const unit of WORK_UNITS) expect(line.tagsOf(unit).State).toBe(PACKML.idle);
    expect(record.logs.map((l) => l.message)).toEqual([
      'order started',
      'order completed',
      'order resumed',
      'order completed',
    ]);
  });

  it('moves a fault planned outside a running order to the next running time', () => {
    const record = recorder();
    const chains: StopChain[] = [
      {
        name: 'jam',
        firstAt: start + 60_000,
        stops: [{ unit: 'CAPPER-01', cause: 'cap-feed-jam', reasonCode: 17, durationMs: 30_000 }],
        gapsMs: [],
      },
    ];
    const line = new Line({ start, fillerCounterStart: 0, sink: record.sink, ...quiet, chains });
    line.deliver({ orderId: 'PO-2', state: 'Running', quantity: null, at: start + 300_000 });
    line.advanceTo(start + 400_000);
    const jam = record.stops.find((stop) => stop.cause === 'cap-feed-jam')!;
    expect(jam.start).toBe(start + 300_000);
    expect(jam.end! - jam.start).toBe(30_000);
  });
});
