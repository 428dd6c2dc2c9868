/**
 * One version of the truth: the figures of every order, computed from the hub's accepted objects
 * (through its public API), next to each system's own figures, read from that system's own API —
 * never from the hub's store. A figure a system holds differently from the hub is a difference; the
 * demo exits non-zero on any.
 */
import type { PlantClock } from '../systems/common';
import { BOM, LINE, orderOfLot, plannedOrders, WORK_UNITS } from '../systems/scenario';
import type { HubClient } from './hub-client';

type Json = Record<string, unknown>;
type Quantity = { value?: string; unit?: string };
interface Material {
  materialDefinitionId?: string;
  materialLotId?: string;
  use?: string;
  disposition?: string;
  quantity?: Quantity;
}
interface Segment {
  materials?: Material[];
}

/** What the reconciliation reads: the hub's objects and figures, and each system's /figures. */
export interface Figures {
  hub: {
    orders: Array<{ key: string; data: Json }>;
    confirmations: Array<{ key: string; sourceSystem: string; data: Json }>;
    consumptions: Array<{ key: string; data: Json }>;
    lots: Array<{ key: string; data: Json }>;
    movements: Array<{ key: string; data: Json }>;
    results: Array<{ key: string; data: Json }>;
    downtime: Array<{ key: string; data: Json }>;
    requests: Array<{ key: string; data: Json }>;
    workOrders: Array<{ key: string; data: Json }>;
    oeeByShift: Json | undefined;
    audit: { rejected: Json[]; stale: Json[]; duplicate: Json[]; replays: Json[] };
    deadLetters: Json[];
    verify: Json;
  };
  systems: Record<string, Json | { unreachable: string }>;
  plan: { plantStart: number; end: number; hours: number };
}

export async function collectFigures(
  admin: HubClient,
  systems: Record<string, string>,
  clock: PlantClock,
): Promise<Figures> {
  const from = new Date(clock.plantStart).toISOString();
  const to = new Date(clock.end + 3_600_000).toISOString();
  const oee = (groupBy: string) =>
    admin.get<Json>(`/api/v1/oee?equipment=${LINE}&from=${from}&to=${to}&groupBy=${groupBy}`).catch(() => undefined);
  const audit = (decision: string) =>
    admin.get<{ records: Json[] }>(`/api/v1/audit?decision=${decision}&limit=10000`).then((answer) => answer.records);
  const [orders, confirmations, consumptions, lots, movements, results, downtime, requests, workOrders] =
    await Promise.all(
      [
        'ProductionOrder',
        'ProductionConfirmation',
        'MaterialConsumption',
        'MaterialLot',
        'InventoryMovement',
        'QualityResult',
        'DowntimeEvent',
        'MaintenanceRequest',
        'MaintenanceWorkOrder',
      ].map((type) => admin.objects<Json>(type)),
    );
  const replays = (await admin.get<{ records: Json[] }>('/api/v1/audit?limit=10000')).records.filter(
    (record) => record['kind'] === 'replay',
  );
  const figures: Figures['systems'] = {};
  for (const [id, url] of Object.entries(systems)) {
    try {
      figures[id] = (await (await fetch(`${url}/figures`)).json()) as Json;
    } catch (error) {
      figures[id] = { unreachable: (error as Error).message };
    }
  }
  return {
    hub: {
      orders: orders!,
      confirmations: confirmations!,
      consumptions: consumptions!,
      lots: lots!,
      movements: movements!,
      results: results!,
      downtime: downtime!,
      requests: requests!,
      workOrders: workOrders!,
      oeeByShift: await oee('shift'),
      audit: {
        rejected: await audit('rejected'),
        stale: await audit('stale'),
        duplicate: await audit('duplicate'),
        replays,
      },
      deadLetters: (await admin.get<{ deadLetters: Json[] }>('/api/v1/dead-letters?all=true')).deadLetters,
      verify: await admin.get<Json>('/api/v1/audit/verify'),
    },
    systems: figures,
    plan: { plantStart: clock.plantStart, end: clock.end, hours: clock.hours },
  };
}

/** One figure: the hub's value and each system's copy; `equal` when every copy is the hub's. */
export interface Line {
  section: string;
  subject: string;
  figure: string;
  hub: number | string;
  systems: Record<string, number | string | undefined>;
  equal: boolean;
}

export interface Report {
  orders: Array<{ orderId: string; state: string; planned: number; produced: number; scrap: number }>;
  lines: Line[];
  differences: Line[];
  /** The plant events the audit log must show, each with its count and the rule of the first. */
  events: Array<{ event: string; count: number; rule?: string; ok: boolean }>;
  oeeByShift: Json | undefined;
  /** Downtime of the line's units by order, kind and reason (micro-stops apart), from the hub's DowntimeEvents. */
  downtimeByOrder: Array<{ orderId: string; what: string; stops: number; minutes: number }>;
  /** Stops the hub booked that the PLC did not log: the waits between an order's start and the line's. */
  hubOnlyStops: Array<{ unit: string; kind: string; reasonCode: string; start: string; seconds: number }>;
  auditIntact: boolean;
  auditHead?: string;
}

const num = (quantity: Quantity | undefined) => Number(quantity?.value ?? 0);
const segmentsOf = (data: Json) => (data['segments'] as Segment[] | undefined) ?? [];
const scopeOf = (data: Json) => (data['hierarchyScope'] as { equipmentId?: string } | undefined)?.equipmentId;

/** Good and scrap of a ProductionConfirmation: its Produced materials by disposition. */
function producedOf(data: Json): { good: number; scrap: number } {
  let good = 0;
  let scrap = 0;
  for (const material of segmentsOf(data).flatMap((segment) => segment.materials ?? []))
    if (material.use === 'Produced') {
      if (material.disposition === 'Scrap') scrap += num(material.quantity);
      else good += num(material.quantity);
    }
  return { good, scrap };
}

/** An order's planned quantity: its Produced material's. */
function plannedOf(data: Json): number {
  const produced = segmentsOf(data)
    .flatMap((segment) => segment.materials ?? [])
    .filter((material) => material.use === 'Produced');
  return produced.length > 0
    ? produced.reduce((sum, m) => sum + num(m.quantity), 0)
    : num(data['quantity'] as Quantity);
}

/** Reads a nested figure of a system (`path` of keys), or undefined when it does not have it. */
function pick(figures: Json | { unreachable: string } | undefined, ...path: Array<string | number>): unknown {
  let value: unknown = figures;
  for (const key of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string | number, unknown>)[key];
  }
  return value;
}

const sumOf = <T>(items: readonly T[], of: (item: T) => number) => items.reduce((sum, item) => sum + of(item), 0);

export function reconcile(figures: Figures): Report {
  const { hub, systems } = figures;
  const lines: Line[] = [];
  const line = (section: string, subject: string, figure: string, hubValue: number | string, copies: Line['systems']) =>
    lines.push({
      section,
      subject,
      figure,
      hub: hubValue,
      systems: copies,
      equal: Object.values(copies).every((copy) => copy === hubValue),
    });
  const planned = plannedOrders(figures.plan.hours);
  const orderRow = (system: string, orderId: string) =>
    ((pick(systems[system], 'orders') as Json[] | undefined) ?? []).find((order) => order['orderId'] === orderId);
  const asNumber = (value: unknown) =>
    typeof value === 'number' ? value : value === undefined ? undefined : Number(value);

  const orders: Report['orders'] = [];
  for (const { orderId } of planned) {
    const order = hub.orders.find((candidate) => candidate.key === orderId);
    const subject = `order ${orderId}`;
    if (!order) {
      line('orders', subject, 'accepted at the hub', 'missing', {
        erp: orderRow('erp', orderId) ? 'released' : 'missing',
      });
      continue;
    }
    const unitCounts = (unit: string) => {
      const ofUnit = hub.confirmations.filter(
        (c) => scopeOf(c.data) === unit && c.data['orderId'] === orderId && c.sourceSystem !== 'mes',
      );
      return {
        good: sumOf(ofUnit, (c) => producedOf(c.data).good),
        scrap: sumOf(ofUnit, (c) => producedOf(c.data).scrap),
      };
    };
    const output = unitCounts('CASEPACKER-01');
    const booked = hub.confirmations.filter((c) => scopeOf(c.data) === LINE && c.data['orderId'] === orderId);
    const bookedGood = sumOf(booked, (c) => producedOf(c.data).good);
    const bookedScrap = sumOf(booked, (c) => producedOf(c.data).scrap);
    const plannedQuantity = plannedOf(order.data);
    orders.push({
      orderId,
      state: String(order.data['state']),
      planned: plannedQuantity,
      produced: output.good,
      scrap: output.scrap,
    });
    line('plan', subject, 'planned cases', plannedQuantity, {
      erp: asNumber(orderRow('erp', orderId)?.['plannedQuantity']),
      mes: asNumber(orderRow('mes', orderId)?.['plannedQuantity']),
    });
    line('plan', subject, 'state', String(order.data['state']), {
      erp: orderRow('erp', orderId)?.['state'] as string | undefined,
      mes: orderRow('mes', orderId)?.['state'] as string | undefined,
    });
    const lotsOfOrder = hub.lots.filter((lot) => orderOfLot(lot.key, planned) === orderId);
    const putAway = hub.movements.filter(
      (m) => m.key.startsWith('PUT-') && orderOfLot(String(m.data['materialLotId']), planned) === orderId,
    );
    const wmsReceived = ((pick(systems['wms'], 'received') as Json[] | undefined) ?? []).filter(
      (entry) => entry['orderId'] === orderId,
    );
    line('output', subject, 'produced, good cases (case packer)', output.good, {
      scada: asNumber(pick(systems['scada'], 'units', 'CASEPACKER-01', 'byOrder', orderId, 'good')),
      mes: asNumber(orderRow('mes', orderId)?.['good']),
      bi: asNumber(pick(systems['bi'], 'produced', orderId)),
    });
    line('output', subject, 'booked by MES at the hub = received in ERP (101)', bookedGood, {
      hub: output.good,
      erp: asNumber(orderRow('erp', orderId)?.['received']),
    });
    line('output', subject, 'scrap, cases (case packer)', output.scrap, {
      scada: asNumber(pick(systems['scada'], 'units', 'CASEPACKER-01', 'byOrder', orderId, 'reject')),
      mes: asNumber(orderRow('mes', orderId)?.['scrap']),
      // ERP books goods movements (101 receipts of the good quantity), not scrap.
      'hub (MES bookings)': bookedScrap,
    });
    line(
      'output',
      subject,
      'finished goods in lots = put away in WMS',
      sumOf(lotsOfOrder, (lot) => num(lot.data['quantity'] as Quantity)),
      {
        hub: output.good,
        'hub (put-aways)': sumOf(putAway, (m) => num(m.data['quantity'] as Quantity)),
        wms: sumOf(wmsReceived, (entry) => Number(entry['quantity'] ?? 0)),
      },
    );
    for (const unit of WORK_UNITS.slice(0, 3)) {
      const counts = unitCounts(unit);
      line('output', subject, `${unit} good / reject bottles`, `${counts.good} / ${counts.scrap}`, {
        scada: `${String(pick(systems['scada'], 'units', unit, 'byOrder', orderId, 'good'))} / ${String(pick(systems['scada'], 'units', unit, 'byOrder', orderId, 'reject'))}`,
      });
    }
    // Genealogy: which lot of each component the order consumed, as MES booked it and ERP issued it.
    for (const component of BOM) {
      const consumed = hub.consumptions.filter(
        (c) => c.data['orderId'] === orderId && c.data['materialDefinitionId'] === component.material,
      );
      const lot =
        consumed
          .map((c) => String(c.data['materialLotId']))
          .sort()
          .join(', ') || 'none';
      const issued = ((pick(orderRow('erp', orderId), 'issued') as Json[] | undefined) ?? []).filter(
        (entry) => entry['material'] === component.material,
      );
      const mesConsumed = ((pick(orderRow('mes', orderId), 'consumption') as Json[] | undefined) ?? []).filter(
        (entry) => entry['material'] === component.material,
      );
      line(
        'consumption',
        subject,
        `${component.material} from lot ${lot}`,
        sumOf(consumed, (c) => num(c.data['quantity'] as Quantity)),
        {
          mes: sumOf(mesConsumed, (entry) => Number(entry['quantity'] ?? 0)),
          erp: sumOf(issued, (entry) => Number(entry['quantity'] ?? 0)),
        },
      );
    }
    // Quality: the results of the order's lots, and the failed ones (each a QMS deviation).
    const results = hub.results.filter(
      (result) =>
        orderOfLot(String(result.data['materialLotId'] ?? ''), planned) === orderId ||
        result.data['orderId'] === orderId,
    );
    const qmsResults = ((pick(systems['qms'], 'results') as Json[] | undefined) ?? []).filter(
      (r) => r['orderId'] === orderId,
    );
    const failed = results.filter((result) => result.data['disposition'] === 'Fail');
    line('quality', subject, 'quality results', results.length, { qms: qmsResults.length });
    line('quality', subject, 'failed checks = QMS deviations', failed.length, {
      qms: qmsResults.filter((r) => r['disposition'] === 'R' || r['disposition'] === 'Fail').length,
      'qms deviations': ((pick(systems['qms'], 'deviations') as Json[] | undefined) ?? []).filter((d) =>
        qmsResults.some((r) => r['resultId'] === d['resultId']),
      ).length,
    });
  }

  // Downtime: every stop the PLC logged is a DowntimeEvent of the hub with the same start, kind and
  // reason. The hub also books what the PLC cannot know (the wait between MES starting an order and
  // the line taking it up): listed, not a difference.
  const hubOnly: Report['hubOnlyStops'] = [];
  const downtime = new Map<string, { seconds: number; stops: number }>();
  for (const unit of WORK_UNITS) {
    const events = hub.downtime.filter((d) => d.data['equipmentId'] === unit && d.data['stopKind'] !== 'noOrder');
    const stops = (pick(systems['scada'], 'units', unit, 'stops') as Json[] | undefined) ?? [];
    const reasonOf = (stop: Json) =>
      stop['reasonCode'] === null || stop['reasonCode'] === undefined ? 'Unknown' : String(stop['reasonCode']);
    // A micro-stop is a stop (the hub tells them apart by the stop's length, which the PLC does not
    // know when it waits at Complete for the hub's order change).
    const kindOf = (kind: unknown) => (kind === 'microStop' || kind === undefined ? 'stop' : String(kind));
    const same = (event: { data: Json }, stop: Json) =>
      Math.abs(Date.parse(String(event.data['startTime'])) - Date.parse(String(stop['start']))) <= 1000 &&
      kindOf(event.data['stopKind']) === kindOf(stop['kind']) &&
      String(event.data['reasonCode']) === reasonOf(stop);
    const found = stops.filter((stop) => events.some((event) => same(event, stop)));
    line('downtime', unit, 'stops the PLC logged, booked by the hub (same start, kind, reason)', found.length, {
      scada: stops.length,
    });
    for (const event of events) {
      const key = `${String(event.data['orderId'] ?? 'no order')}|${String(event.data['stopKind'])} ${String(event.data['reasonCode'])}${event.data['reason'] ? ` (${String(event.data['reason'])})` : ''}`;
      const entry = downtime.get(key) ?? { seconds: 0, stops: 0 };
      entry.seconds += Number(event.data['durationSeconds'] ?? 0);
      entry.stops += 1;
      downtime.set(key, entry);
      if (!stops.some((stop) => same(event, stop)))
        hubOnly.push({
          unit,
          kind: String(event.data['stopKind']),
          reasonCode: String(event.data['reasonCode']),
          start: String(event.data['startTime']),
          seconds: Number(event.data['durationSeconds'] ?? 0),
        });
    }
  }
  const downtimeByOrder = [...downtime]
    .map(([key, { seconds, stops }]) => {
      const [orderId, what] = key.split('|') as [string, string];
      return { orderId, what, stops, minutes: Math.round((seconds / 60) * 10) / 10 };
    })
    .sort((a, b) => a.orderId.localeCompare(b.orderId) || b.minutes - a.minutes);

  // Maintenance: the requests the recurring fault raised, and their work orders' status.
  const cmmsRequests = (pick(systems['cmms'], 'requests') as Json[] | undefined) ?? [];
  line('maintenance', 'plant', 'maintenance requests', hub.requests.length, { cmms: cmmsRequests.length });
  for (const workOrder of hub.workOrders) {
    const copy = ((pick(systems['cmms'], 'workOrders') as Json[] | undefined) ?? []).find(
      (w) => w['wonum'] === workOrder.key,
    );
    line(
      'maintenance',
      `work order ${workOrder.key}`,
      `status (request ${String(workOrder.data['requestId'])})`,
      String(workOrder.data['externalStatus'] ?? workOrder.data['state']),
      {
        cmms: copy ? String(copy['status']) : undefined,
      },
    );
  }

  const first = (records: Json[]) => (records[0]?.['rule'] as string | undefined) ?? undefined;
  const poison = hub.deadLetters.filter((letter) => letter['stage'] === 'ingest');
  const events: Report['events'] = [
    {
      event: 'a non-owner changes an order (rejected)',
      count: hub.audit.rejected.length,
      rule: first(hub.audit.rejected),
      ok: hub.audit.rejected.length > 0,
    },
    {
      event: 'a late, older version (stale)',
      count: hub.audit.stale.length,
      rule: first(hub.audit.stale),
      ok: hub.audit.stale.length > 0,
    },
    {
      event: 'a resend (duplicate)',
      count: hub.audit.duplicate.length,
      rule: first(hub.audit.duplicate),
      ok: hub.audit.duplicate.length > 0,
    },
    {
      // The CMMS refused while down; the hub retried until it took the request (it is in its figures).
      event: 'a target down for a while (retried, then delivered)',
      count: Number(pick(systems['cmms'], 'refusedDuringOutage') ?? 0),
      ok: Number(pick(systems['cmms'], 'refusedDuringOutage') ?? 0) > 0 && cmmsRequests.length > 0,
    },
    {
      event: 'a poison payload (dead letter, replayed after the mapping fix)',
      count: poison.length,
      ok: poison.length > 0 && poison.every((letter) => letter['replayedAt']),
    },
  ];
  const differences = lines.filter((entry) => !entry.equal);
  return {
    orders,
    lines,
    differences,
    events,
    oeeByShift: hub.oeeByShift,
    downtimeByOrder,
    hubOnlyStops: hubOnly,
    auditIntact: hub.verify['ok'] === true,
    ...(typeof hub.verify['head'] === 'object' && hub.verify['head'] !== null
      ? { auditHead: String((hub.verify['head'] as Json)['hash']) }
      : {}),
  };
}

/** The report as a newcomer reads it at the end of the run. */
export function formatReport(report: Report): string {
  const out: string[] = ['', 'One version of the truth — the hub’s accepted events, and each system’s own figures', ''];
  for (const order of report.orders)
    out.push(
      `  order ${order.orderId}: ${order.state}, planned ${order.planned} cases, produced ${order.produced}, scrap ${order.scrap}`,
    );
  let section = '';
  for (const entry of report.lines) {
    if (entry.section !== section) {
      section = entry.section;
      out.push('', `  ${section}`);
    }
    const copies = Object.entries(entry.systems)
      .map(([system, value]) => `${system} ${value === undefined ? '—' : String(value)}`)
      .join(', ');
    out.push(`    ${entry.equal ? '✓' : '✗'} ${entry.subject}: ${entry.figure} = ${String(entry.hub)}   (${copies})`);
  }
  out.push('', '  downtime by order (all units; micro-stops apart)');
  for (const entry of report.downtimeByOrder)
    out.push(
      `    ${entry.orderId}: ${entry.what}: ${entry.stops} stop${entry.stops === 1 ? '' : 's'}, ${entry.minutes} min`,
    );
  if (report.hubOnlyStops.length > 0)
    out.push(
      `    (the hub also booked ${report.hubOnlyStops.length} wait${report.hubOnlyStops.length === 1 ? '' : 's'} the PLC did not log: from an order's start at MES until the line took it up)`,
    );
  out.push('', '  plant events in the audit log');
  for (const event of report.events)
    out.push(`    ${event.ok ? '✓' : '✗'} ${event.event}: ${event.count}${event.rule ? ` (rule ${event.rule})` : ''}`);
  const shifts = (report.oeeByShift?.['groups'] as Json[] | undefined) ?? [];
  if (shifts.length > 0) {
    out.push('', '  OEE by shift (ISO 22400, line PACK-L1)');
    for (const group of shifts) {
      const kpis = (group['kpis'] ?? {}) as Record<string, number | null>;
      const pct = (value: number | null | undefined) =>
        typeof value === 'number' ? `${(value * 100).toFixed(1)} %` : '—';
      out.push(
        `    ${String(group['key'])}: OEE ${pct(kpis['oee'])}, availability ${pct(kpis['availability'])}, performance ${pct(kpis['effectiveness'] ?? kpis['performance'])}, quality ${pct(kpis['qualityRatio'] ?? kpis['quality'])}`,
      );
    }
  }
  out.push(
    '',
    `  audit log: ${report.auditIntact ? `intact${report.auditHead ? `, head ${report.auditHead}` : ''}` : 'BROKEN'}`,
  );
  out.push(
    report.differences.length === 0
      ? '  every figure agrees with the hub'
      : `  ${report.differences.length} difference${report.differences.length === 1 ? '' : 's'}: ${report.differences.map((d) => `${d.subject} ${d.figure}`).join('; ')}`,
  );
  return `${out.join('\n')}\n`;
}
