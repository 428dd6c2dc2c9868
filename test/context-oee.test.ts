/**
 * A day of generated signals whose OEE is computed by hand: 24 hours of the seed line's case packer
 * (the line's bottleneck and last work unit) — two orders set Running, Held and Completed by MES, runs
 * with counts, reasoned and unknown stops, micro-stops, stops across shift changes and breaks, a
 * maintenance mode in planned downtime — POSTed by scada in bundles through the real hub, then
 * GET /api/v1/oee (whole day, per shift, per order, and for the line) and `handover oee` are compared
 * with figures this test works out from the intervals it generated.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import request from 'supertest';
import { run } from '../hub/cli/main';
import { ConfigError } from '../hub/config/errors';
import { loadConfigFile, parseConfig } from '../hub/config/load';
import type { HubConfig } from '../hub/config/schema';
import { startHub, type RunningHub } from '../hub/hub';
import { lineOrder, sendRecorded } from './support/context';
import { repoRoot } from './support/paths';

const env = {
  HANDOVER_TOKEN_ERP: 'erp-token',
  HANDOVER_TOKEN_MES: 'mes-token',
  HANDOVER_TOKEN_SCADA: 'scada-token',
  HANDOVER_ADMIN_TOKEN: 'admin-token',
};
const UNIT = 'CASEPACKER-01';
const PRU = 12; // the seed's idealCycleSeconds of the case packer (24 bottles at 0.5 s)
const SECOND = 1000;
const MINUTE = 60 * SECOND;
/** Hours (and minutes) after 2026-12-01T00:00Z; Europe/Berlin is UTC+1 in December. */
const h = (hours: number, minutes = 0, seconds = 0) =>
  Date.parse('2026-12-01T00:00:00Z') + hours * 3_600_000 + minutes * MINUTE + seconds * SECOND;
const iso = (ms: number) => new Date(ms).toISOString();

type Span = [number, number];
/** The seed's calendar, written out in UTC: shifts from 06:00, 14:00 and 22:00 local, 30-minute breaks. */
const DAY: Span = [h(5), h(29)];
const SHIFTS: Array<{ key: string; span: Span }> = [
  { key: '2026-12-01-early', span: [h(5), h(13)] },
  { key: '2026-12-01-late', span: [h(13), h(21)] },
  { key: '2026-12-01-night', span: [h(21), h(29)] },
];
const BREAKS: Span[] = [
  [h(9), h(9, 30)],
  [h(17), h(17, 30)],
  [h(25), h(25, 30)],
];
/** The planned downtime this test adds to the seed's calendar (local times) and what applies to the case packer. */
const PLANNED_DOWNTIME = [
  { id: 'pm-casepacker', start: '2026-12-01T15:00', minutes: 45, equipment: [UNIT], reason: 'Preventive maintenance' },
  { id: 'line-clearance', start: '2026-12-01T18:15', minutes: 30, equipment: ['PACK-L1'] },
  { id: 'filler-only', start: '2026-12-01T20:00', minutes: 60, equipment: ['FILLER-01'] },
  { id: 'all-hands', start: '2026-12-02T04:00', minutes: 20 },
];
const PLANNED: Span[] = [
  [h(14), h(14, 45)],
  [h(17, 15), h(17, 45)], // overlaps the late shift's break: that time counts once
  [h(27), h(27, 20)],
];

// ---- interval arithmetic for the hand computation (independent of hub/context-engine/oee.ts) ----

function merge(spans: Span[]): Span[] {
  const out: Span[] = [];
  for (const [a, b] of [...spans].filter(([a, b]) => b > a).sort((x, y) => x[0] - y[0])) {
    const last = out.at(-1);
    if (last && a <= last[1]) last[1] = Math.max(last[1], b);
    else out.push([a, b]);
  }
  return out;
}
const both = (x: Span[], y: Span[]) =>
  merge(x.flatMap(([a, b]) => y.map(([c, d]): Span => [Math.max(a, c), Math.min(b, d)])));
const minus = (x: Span[], y: Span[]) =>
  x.flatMap(([a, b]) => {
    const rest: Span[] = [];
    let at = a;
    for (const [c, d] of merge(y)) {
      if (d <= at || c >= b) continue;
      if (c > at) rest.push([at, c]);
      at = Math.max(at, d);
    }
    if (at < b) rest.push([at, b]);
    return rest;
  });
const length = (spans: Span[]) => spans.reduce((sum, [a, b]) => sum + b - a, 0);

// ---- the generated day ----

/** A deterministic generator (mulberry32): the same day on every run. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

type Kind = 'run' | 'stop' | 'external' | 'noOrder' | 'excluded';
interface Segment {
  start: number;
  end: number;
  kind: Kind;
  /** The reason the stop gets: given at its start, or `lateAt` into it. */
  code?: string;
  lateAt?: number;
}
interface Count {
  at: number;
  good: number;
  reject: number;
}
type Step =
  { signal: { signal: string; value: number; at: number } } | { order: { id: string; state: string; at: number } };

const ORDER_CHANGES = [
  { id: 'PO-A', state: 'Running', at: h(4, 30) },
  { id: 'PO-A', state: 'Completed', at: h(11, 40) },
  { id: 'PO-B', state: 'Running', at: h(12, 10) },
  { id: 'PO-B', state: 'Held', at: h(22, 30) },
  { id: 'PO-B', state: 'Running', at: h(22, 50) },
  { id: 'PO-B', state: 'Completed', at: h(27, 30) },
];
const RUNS: Record<string, Span[]> = {
  'PO-A': [[h(4, 30), h(11, 40)]],
  'PO-B': [
    [h(12, 10), h(22, 30)],
    [h(22, 50), h(27, 30)],
  ],
};
const BOUNDARIES = [h(5), h(13), h(21), h(29)];

/** The day as segments: the fixed events the test is about, random runs and stops between them. */
function generateDay(next: () => number): Segment[] {
  const segments: Segment[] = [];
  const between = (min: number, max: number) => min + Math.floor(next() * (max - min + 1));
  /** Runs and short stops from `from` to `to`; a random stop never crosses a shift change. */
  const fill = (from: number, to: number) => {
    let at = from;
    for (;;) {
      const runEnd = at + between(6, 30) * MINUTE + between(0, 59) * SECOND;
      if (runEnd + 20 * MINUTE >= to) {
        segments.push({ start: at, end: to, kind: 'run' });
        return;
      }
      segments.push({ start: at, end: runEnd, kind: 'run' });
      const pick = next();
      const stop: Segment =
        pick < 0.45
          ? { start: runEnd, end: runEnd + between(15, 115) * SECOND, kind: 'stop' }
          : pick < 0.6
            ? { start: runEnd, end: runEnd + between(150, 480) * SECOND, kind: 'stop' }
            : pick < 0.85
              ? {
                  start: runEnd,
                  end: runEnd + between(120, 900) * SECOND,
                  kind: 'stop',
                  code: next() < 0.5 ? '30' : '40',
                }
              : { start: runEnd, end: runEnd + between(60, 360) * SECOND, kind: 'external' };
      if (stop.kind === 'stop' && !stop.code && stop.end - stop.start > 120 * SECOND && next() < 0.4) {
        stop.code = '30';
        stop.lateAt = stop.start + 40 * SECOND;
      }
      if (BOUNDARIES.some((boundary) => stop.start < boundary && boundary < stop.end)) {
        at = runEnd;
        continue;
      }
      segments.push(stop);
      at = stop.end;
    }
  };
  const fixed = (start: number, end: number, kind: Kind, code?: string, lateAt?: number) =>
    segments.push({ start, end, kind, ...(code ? { code } : {}), ...(lateAt ? { lateAt } : {}) });
  fill(h(4, 30), h(8, 58));
  fixed(h(8, 58), h(9, 32), 'stop'); // unknown, across the early break
  fill(h(9, 32), h(11, 40));
  fixed(h(11, 40), h(12, 10), 'noOrder'); // PO-A completed, PO-B not yet running
  fill(h(12, 10), h(12, 50));
  fixed(h(12, 50), h(13, 20), 'stop', '30'); // a material shortage across the shift change
  fill(h(13, 20), h(13, 55));
  fixed(h(13, 55), h(14, 5), 'stop', '40'); // a changeover into the planned maintenance
  fixed(h(14, 5), h(14, 50), 'excluded'); // maintenance mode, 5 minutes past the planned downtime
  fill(h(14, 50), h(17));
  fixed(h(17), h(17, 45), 'stop', '40'); // exactly the break and the line clearance: no loss
  fill(h(17, 45), h(20, 55));
  fixed(h(20, 55), h(21, 4), 'stop'); // unknown, across the shift change: two stops of 5 and 4 minutes
  fill(h(21, 4), h(22, 30));
  fixed(h(22, 30), h(22, 50), 'noOrder'); // PO-B held
  fill(h(22, 50), h(24, 55));
  fixed(h(24, 55), h(25, 35), 'external'); // starved across the night break
  fill(h(25, 35), h(26, 40));
  fixed(h(26, 40), h(26, 45), 'stop', '30', h(26, 41)); // unknown, reasoned a minute in
  fill(h(26, 45), h(26, 58));
  fixed(h(26, 58), h(27, 25), 'stop', '40'); // into and past the all-hands meeting
  fill(h(27, 25), h(27, 30));
  fixed(h(27, 30), h(29, 10), 'noOrder'); // PO-B completed; a signal at 05:10 moves event time past the day
  return segments;
}

/** Counter readings every 30 s while running, at 80–97 % of the ideal rate, with a few rejects. */
function countsOf(segments: Segment[], next: () => number): Count[] {
  const counts: Count[] = [];
  for (const segment of segments.filter((s) => s.kind === 'run')) {
    const speed = 0.8 + next() * 0.17;
    for (let at = segment.start + 30 * SECOND; at < segment.end; at += 30 * SECOND)
      counts.push({ at, good: Math.floor((30 * speed) / PRU + next()), reject: next() < 0.08 ? 1 : 0 });
  }
  return counts;
}

/** What the PLC says, in time order, with MES's order changes between the signals. */
function stepsOf(segments: Segment[], counts: Count[]): Step[] {
  const timed: Array<{ at: number; rank: number; step: Step }> = [];
  const signal = (at: number, name: string, value: number) =>
    timed.push({ at, rank: 1, step: { signal: { signal: name, value, at } } });
  let good = 65_000; // near the 16-bit rollover, which comes within the first hours
  let reject = 100;
  signal(h(4, 30), 'mode', 1);
  signal(h(4, 30), 'goodCount', good);
  signal(h(4, 30), 'rejectCount', reject);
  let previous: Kind | undefined;
  for (const segment of segments) {
    const { start } = segment;
    if (segment.kind === 'run') {
      signal(start, 'state', 6);
      signal(start, 'stopReason', 0);
      // Back in production mode once running again: the other order would open a stop for an instant.
      if (previous === 'excluded') signal(start, 'mode', 1);
    } else if (segment.kind === 'stop') {
      if (segment.code && !segment.lateAt) signal(start, 'stopReason', Number(segment.code));
      signal(start, 'state', segment.code ? 11 : 2);
      if (segment.lateAt) signal(segment.lateAt, 'stopReason', Number(segment.code));
    } else if (segment.kind === 'external') signal(start, 'state', 5);
    else if (segment.kind === 'noOrder') signal(start, 'state', 4);
    else signal(start, 'mode', 2);
    previous = segment.kind;
  }
  for (const count of counts) {
    good = (good + count.good) % 65_536;
    signal(count.at, 'goodCount', good);
    if (count.reject > 0) signal(count.at, 'rejectCount', (reject += count.reject));
  }
  signal(h(29, 10), 'stopReason', 0);
  // An order's end comes before the unit goes Idle, its start after the unit runs: a stop and its
  // order change at the same instant would be two stops with one id.
  for (const change of ORDER_CHANGES)
    timed.push({ at: change.at, rank: change.state === 'Running' ? 2 : 0, step: { order: change } });
  return timed.sort((a, b) => a.at - b.at || a.rank - b.rank).map((entry) => entry.step);
}

// ---- the figures by hand ----

interface Expected {
  timeElements: Record<'POT' | 'PDOT' | 'PBT' | 'APT' | 'ADET' | 'ADOT', number>;
  quantities: { PQ: number; GQ: number; SQ: number };
  kpis: Record<'availability' | 'effectiveness' | 'quality' | 'oee', number | null>;
  losses: Array<{ kind: string; reasonCode?: string; count: number; seconds: number; quantity?: number }>;
}

const REASON_OF: Record<string, string> = { '30': 'Material shortage', '40': 'Changeover' };

/**
 * ISO 22400-2 over `time` (the group's time within the day): POT is shift time; PDOT the breaks and
 * planned downtime (merged) plus no-order and maintenance-mode time outside them; ADOT the stops'
 * time outside them, a stop split at each shift change; an unknown stop of at most 120 s is a
 * micro-stop inside APT; quantities are the counts read within `time`.
 */
function byHand(segments: Segment[], counts: Count[], time: Span[]): Expected {
  const pot = length(
    both(
      time,
      SHIFTS.map((shift) => shift.span),
    ),
  );
  const pauses = both(merge([...BREAKS, ...PLANNED]), time);
  const work = minus(time, pauses);
  let pdot = length(pauses);
  let adot = 0;
  const losses = new Map<string, Expected['losses'][number]>();
  const loss = (key: string, entry: Omit<Expected['losses'][number], 'count' | 'seconds'>, seconds: number) => {
    const found = losses.get(key) ?? { ...entry, count: 0, seconds: 0 };
    found.count += 1;
    found.seconds += seconds / SECOND;
    losses.set(key, found);
  };
  for (const segment of segments) {
    if (segment.kind === 'run') continue;
    if (segment.kind === 'noOrder' || segment.kind === 'excluded') {
      pdot += length(both([[segment.start, segment.end]], work));
      continue;
    }
    const code = segment.kind === 'external' ? 'STARVED_BLOCKED' : (segment.code ?? 'Unknown');
    const micro = code === 'Unknown' && segment.end - segment.start <= 120 * SECOND;
    const cuts = BOUNDARIES.filter((b) => segment.start < b && b < segment.end);
    const edges = [segment.start, ...cuts, segment.end];
    for (let i = 0; i + 1 < edges.length; i += 1) {
      const inside = length(both([[edges[i]!, edges[i + 1]!]], work));
      if (inside <= 0) continue;
      if (micro) loss('microStop', { kind: 'microStop' }, inside);
      else {
        adot += inside;
        loss(
          `downtime-${code}`,
          { kind: 'downtime', reasonCode: code, ...(REASON_OF[code] ? { reason: REASON_OF[code] } : {}) },
          inside,
        );
      }
    }
  }
  const inTime = counts.filter((count) => time.some(([a, b]) => a <= count.at && count.at < b));
  const gq = inTime.reduce((sum, count) => sum + count.good, 0);
  const sq = inTime.reduce((sum, count) => sum + count.reject, 0);
  const pq = gq + sq;
  if (sq > 0) losses.set('scrap', { kind: 'scrap', count: 1, seconds: 0, quantity: sq });
  const pbt = pot - pdot;
  const apt = pbt - adot;
  const ratio = (a: number, b: number) => (b > 0 ? a / b : null);
  const availability = ratio(apt, pbt);
  const effectiveness = ratio(PRU * pq, apt / SECOND);
  const quality = ratio(gq, pq);
  const s = (ms: number) => ms / SECOND;
  return {
    timeElements: { POT: s(pot), PDOT: s(pdot), PBT: s(pbt), APT: s(apt), ADET: 0, ADOT: s(adot) },
    quantities: { PQ: pq, GQ: gq, SQ: sq },
    kpis: {
      availability,
      effectiveness,
      quality,
      oee:
        availability === null || effectiveness === null || quality === null
          ? null
          : availability * effectiveness * quality,
    },
    losses: [...losses.values()],
  };
}

/** The answer equals the hand's figures to 1e-6 (losses in any order). */
function expectFigures(actual: Expected & { PRU: number }, expected: Expected, what: string): void {
  const close = (a: number | null, b: number | null, name: string) => {
    if (a === null || b === null) expect({ what, name, value: a }).toEqual({ what, name, value: b });
    else if (Math.abs(a - b) > 1e-6) expect({ what, name, value: a }).toEqual({ what, name, value: b });
  };
  for (const [name, value] of Object.entries(expected.timeElements))
    close(actual.timeElements[name as keyof Expected['timeElements']], value, name);
  expect({ what, quantities: actual.quantities }).toEqual({ what, quantities: expected.quantities });
  expect(actual.PRU).toBe(PRU);
  for (const [name, value] of Object.entries(expected.kpis))
    close(actual.kpis[name as keyof Expected['kpis']], value, name);
  const key = (entry: { kind: string; reasonCode?: string }) => `${entry.kind}-${entry.reasonCode ?? ''}`;
  const sorted = (list: Expected['losses']) => [...list].sort((a, b) => key(a).localeCompare(key(b)));
  const round = (list: Expected['losses']) =>
    sorted(list).map((entry) => ({ ...entry, seconds: +entry.seconds.toFixed(6) }));
  expect({ what, losses: round(actual.losses) }).toEqual({ what, losses: round(expected.losses) });
}

// ---- the hub ----

let hub: RunningHub;
const dataDir = mkdtempSync(join(tmpdir(), 'handover-context-oee-'));
const next = random(20261201);
const segments = generateDay(next);
const counts = countsOf(segments, next);

beforeAll(async () => {
  const seed = loadConfigFile(join(repoRoot, 'seeds', 'packaging-line', 'handover.yaml'));
  const config: HubConfig = parseConfig(`
systems:
  - { id: erp, name: ERP, processOwner: Planning, technicalOwner: IT }
  - { id: mes, name: MES, processOwner: Production, technicalOwner: IT }
  - { id: scada, name: SCADA, processOwner: Production, technicalOwner: Automation }
  - { id: line-context, name: Context engine, processOwner: Production, technicalOwner: IT }
ownership:
  ProductionOrder: { owner: erp, fields: { state: mes } }
  DowntimeEvent: { owner: line-context }
  ProductionConfirmation: { owner: mes, scopes: [{ equipment: ${UNIT}, owner: line-context }] }
  MaintenanceRequest: { owner: mes, scopes: [{ equipment: ${UNIT}, owner: line-context }] }
`);
  // The seed's line, shifts and reasons, with planned downtime added. The lateness is a day: a replayed
  // day's event time must move only with its signals, however long the machine takes between bundles.
  config.context = { ...seed.context!, plannedDowntime: PLANNED_DOWNTIME, latenessSeconds: 86_400 };
  hub = await startHub({
    config,
    dataDir,
    mappingsDir: join(repoRoot, 'mappings'),
    env,
    logger: pino({ level: 'silent' }),
  });
}, 60000);

afterAll(async () => {
  await hub?.stop();
});

const admin = (path: string) => request(hub.url!).get(path).set('authorization', 'Bearer admin-token');

/** POSTs a body as `system` and waits until the hub has recorded the message. */
const send = (system: string, body: unknown): Promise<{ status: string }> => sendRecorded(hub.url!, system, body);

const order = (id: string, state: string, at: number) =>
  lineOrder({ id, state, occurredAt: iso(at), processSegmentId: 'PACK', quantity: '9000' });

const oee = async (equipment: string, groupBy?: string) => {
  const query = `equipment=${equipment}&from=${iso(DAY[0])}&to=${iso(DAY[1])}${groupBy ? `&groupBy=${groupBy}` : ''}`;
  const answer = await admin(`/api/v1/oee?${query}`);
  expect(answer.status).toBe(200);
  return answer.body;
};

it('feeds a generated day through the hub, and its OEE — whole, per shift, per order, for the line — is the hand’s', async () => {
  for (const id of ['PO-A', 'PO-B'])
    expect(await send('erp', order(id, 'Released', h(4)))).toMatchObject({ decisions: [{ decision: 'accepted' }] });
  let bundle: unknown[] = [];
  const flush = async () => {
    if (bundle.length === 0) return;
    const trace = await send('scada', bundle);
    expect(trace.status).not.toBe('invalid');
    bundle = [];
  };
  let signals = 0;
  for (const step of stepsOf(segments, counts)) {
    if ('order' in step) {
      await flush();
      const trace = (await send('mes', order(step.order.id, step.order.state, step.order.at))) as unknown as {
        decisions: Array<{ decision: string }>;
      };
      expect(trace).toMatchObject({ decisions: [{ decision: 'accepted' }] });
      continue;
    }
    const { signal, value, at } = step.signal;
    bundle.push({ kind: 'signal', equipmentId: UNIT, signal, value, quality: 'good', sourceTimestamp: iso(at) });
    signals += 1;
    if (bundle.length >= 400) await flush();
  }
  await flush();
  expect(signals).toBeGreaterThan(2000);
  // The generator made what the test is about.
  const stops = segments.filter((s) => s.kind === 'stop' || s.kind === 'external');
  expect(stops.filter((s) => !s.code && s.end - s.start <= 120 * SECOND).length).toBeGreaterThan(5);
  expect(stops.filter((s) => !s.code && s.end - s.start > 120 * SECOND).length).toBeGreaterThan(2);
  expect(stops.filter((s) => s.lateAt).length).toBeGreaterThan(1);
  expect(counts.reduce((sum, c) => sum + c.good, 0)).toBeGreaterThan(536); // the good counter rolled over

  const whole = await oee(UNIT);
  expectFigures(whole, byHand(segments, counts, [DAY]), 'the day');
  expect(whole.timeElements.POT).toBe(86400);

  const perShift = await oee(UNIT, 'shift');
  expect(perShift.groupBy).toBe('shift');
  expect(perShift.groups.map((g: { key: string; from: string; to: string }) => [g.key, g.from, g.to])).toEqual(
    SHIFTS.map((shift) => [shift.key, iso(shift.span[0]), iso(shift.span[1])]),
  );
  SHIFTS.forEach((shift, index) =>
    expectFigures(perShift.groups[index], byHand(segments, counts, [shift.span]), shift.key),
  );

  const perOrder = await oee(UNIT, 'order');
  expect(perOrder.groupBy).toBe('order');
  const orderTime: Record<string, Span[]> = {
    'PO-A': both(RUNS['PO-A']!, [DAY]),
    'PO-B': both(RUNS['PO-B']!, [DAY]),
  };
  orderTime['NoOrder'] = minus([DAY], [...orderTime['PO-A']!, ...orderTime['PO-B']!]);
  expect(
    perOrder.groups.map((g: { key: string; runs: Array<{ from: string; to: string }> }) => [
      g.key,
      g.runs.map((r) => [r.from, r.to]),
    ]),
  ).toEqual(['PO-A', 'NoOrder', 'PO-B'].map((key) => [key, orderTime[key]!.map(([a, b]) => [iso(a), iso(b)])]));
  for (const group of perOrder.groups)
    expectFigures(group, byHand(segments, counts, orderTime[group.key]!), `order ${group.key}`);
  // The orders' time adds up to the day's, and so do their quantities.
  const sum = (name: string) =>
    perOrder.groups.reduce(
      (total: number, g: { timeElements: Record<string, number> }) => total + g.timeElements[name]!,
      0,
    );
  for (const name of ['POT', 'PDOT', 'APT', 'ADOT'])
    expect(Math.abs(sum(name) - whole.timeElements[name])).toBeLessThan(1e-6);
  expect(perOrder.groups.find((g: { key: string }) => g.key === 'NoOrder').kpis).toEqual({
    availability: null,
    effectiveness: null,
    quality: null,
    oee: null,
  });

  // The line: its bottleneck (largest PRU) and its last work unit are both the case packer, and it says so.
  const line = await oee('PACK-L1');
  expect(line).toMatchObject({ line: 'PACK-L1', timeFrom: UNIT, quantitiesFrom: UNIT });
  expect(line.note).toContain('bottleneck');
  expectFigures(line, byHand(segments, counts, [DAY]), 'the line');
  const lineOrders = await oee('PACK-L1', 'order');
  expect(lineOrders.groups.map((g: { key: string }) => g.key)).toEqual(['PO-A', 'NoOrder', 'PO-B']);
  expectFigures(lineOrders.groups[2], byHand(segments, counts, orderTime['PO-B']!), 'the line, order PO-B');

  // The CLI prints the API's figures: its JSON is the API's, and its table shows them.
  const cli = async (...argv: string[]) => {
    let stdout = '';
    let stderr = '';
    const before = process.env.HANDOVER_ADMIN_TOKEN;
    process.env.HANDOVER_ADMIN_TOKEN = 'admin-token';
    try {
      const code = await run(['oee', '--url', hub.url!, ...argv], {
        out: (text) => (stdout += text),
        err: (text) => (stderr += text),
        readFile: () => Buffer.from(''),
      });
      return { code, stdout, stderr };
    } finally {
      if (before === undefined) delete process.env.HANDOVER_ADMIN_TOKEN;
      else process.env.HANDOVER_ADMIN_TOKEN = before;
    }
  };
  const range = ['--from', iso(DAY[0]), '--to', iso(DAY[1])];
  const json = await cli('--equipment', UNIT, ...range, '--group-by', 'order', '--json');
  expect(json.code).toBe(0);
  expect(JSON.parse(json.stdout)).toEqual(perOrder);
  const table = await cli('--equipment', UNIT, ...range);
  expect(table.code).toBe(0);
  const minutes = (seconds: number) => (seconds / 60).toFixed(2);
  const row = table.stdout.split('\n').find((text) => text.startsWith(minutes(whole.timeElements.POT)))!;
  expect(row.split(/\s{2,}/).slice(0, 9)).toEqual([
    ...['POT', 'PDOT', 'PBT', 'APT', 'ADET', 'ADOT'].map((name) => minutes(whole.timeElements[name])),
    ...['PQ', 'GQ', 'SQ'].map((name) => String(whole.quantities[name])),
  ]);
  expect(row).toContain(`${(whole.kpis.oee * 100).toFixed(2)} %`);
  expect(table.stdout).toMatch(/downtime\s+30 Material shortage/);
  const unknown = await cli('--equipment', 'NOPE-9', ...range);
  expect(unknown).toMatchObject({ code: 1, stdout: '' });
  expect(unknown.stderr).toContain('NOT_FOUND');
}, 120000);

it('refuses a bad query with the parameter and the reason', async () => {
  const bad = await admin(`/api/v1/oee?equipment=${UNIT}&from=${iso(DAY[0])}&to=${iso(DAY[1])}&groupBy=week`);
  expect(bad.status).toBe(400);
  expect(bad.body.error).toEqual({
    code: 'BAD_REQUEST',
    message: 'The request is not valid',
    details: [{ path: '?groupBy', reason: 'must be one of "shift", "order"' }],
  });
});

it('stops start-up on planned downtime with a date that does not exist or equipment that is not declared', () => {
  const seed = loadConfigFile(join(repoRoot, 'seeds', 'packaging-line', 'handover.yaml'));
  const withPlanned = (entries: unknown[]) => {
    try {
      parseConfig(
        JSON.stringify({
          systems: seed.systems,
          ownership: seed.ownership,
          context: { ...seed.context, plannedDowntime: entries },
        }),
        'plant.yaml',
      );
      return [];
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      return error.problems.map((problem) => `${problem.path}: ${problem.reason}`);
    }
  };
  expect(withPlanned(PLANNED_DOWNTIME)).toEqual([]);
  expect(
    withPlanned([
      { id: 'feb', start: '2026-02-30T06:00', minutes: 30 },
      { id: 'spring', start: '2026-03-29T02:30', minutes: 30 },
      { id: 'feb', start: '2026-12-03T13:00', minutes: 30, equipment: ['PACK-L1', 'PACK-L9'] },
    ]),
  ).toEqual([
    '/context/plannedDowntime/0/start: 2026-02-30T06:00 is no local time in Europe/Berlin',
    '/context/plannedDowntime/1/start: 2026-03-29T02:30 is no local time in Europe/Berlin',
    '/context/plannedDowntime/2/id: planned downtime "feb" is declared twice',
    '/context/plannedDowntime/2/equipment/1: "PACK-L9" is no line or work unit under context.lines',
  ]);
  expect(withPlanned([{ id: 'bad', start: '2026-12-03 13:00', minutes: 0 }])).toEqual([
    expect.stringMatching(/^\/context\/plannedDowntime\/0\/start: /),
    expect.stringMatching(/^\/context\/plannedDowntime\/0\/minutes: /),
  ]);
});
