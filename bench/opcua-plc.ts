/**
 * A PLC for bench/context-opcua-throughput.ts, in a process of its own (its own event loop, its CPU
 * measured apart): a node-opcua server exposing the five PackML variables of each work unit, and, when
 * told, one production cycle per unit every `minMs`–`maxMs` ms: the good count +1 (a reject every 10th
 * cycle), and every `stopEvery` cycles a stop with the unit's reason, running again `stopCycles` later.
 * Started by the bench with fork(), its settings as JSON in argv[2]; it talks over the IPC channel.
 */
import { join } from 'node:path';
import { DataType, OPCUACertificateManager, OPCUAServer, nodesets, type UAVariable } from 'node-opcua';

export interface PlcSettings {
  port: number;
  pkiDir: string;
  units: Array<{ id: string; equipmentClass: string }>;
}

/** One run of production cycles. */
export interface PlcRun {
  seconds: number;
  minMs: number;
  maxMs: number;
  stopEvery: number;
  stopCycles: number;
}

/** The five PackML variables of a unit, in the order a plant binds them (the seed's). */
const PACKML = ['State', 'Mode', 'GoodCount', 'RejectCount', 'StopReason'] as const;
export type PackmlVariable = (typeof PACKML)[number];

export type PlcMessage =
  | { kind: 'ready'; endpointUrl: string; nodeIds: Record<string, Record<PackmlVariable, string>> }
  | { kind: 'done'; report: PlcReport }
  | { kind: 'sent'; notifications: number };

/** What the bench asks: a run, the data-change notifications the server has sent so far, or to stop. */
export type PlcRequest = { kind: 'run'; run: PlcRun } | { kind: 'sent' } | { kind: 'stop' };

export interface PlcReport {
  /** Values set (each a change) per variable, during the run and its closing cycle. */
  changes: Record<PackmlVariable, number>;
  stops: number;
  /** When each unit stopped (ms since the epoch, the stamp of its State and StopReason). */
  stopsAt: Record<string, number[]>;
  /** From the first cycle to the last, in ms. */
  elapsedMs: number;
  /** How late cycles were set after they were due: the PLC's own lag, p99 and max, in ms. */
  lagP99Ms: number;
  lagMaxMs: number;
  /** The good count each unit shows at the end. */
  finalGood: Record<string, number>;
}

const DATA_TYPES: Record<PackmlVariable, DataType> = {
  State: DataType.Int32,
  Mode: DataType.Int32,
  GoodCount: DataType.UInt16,
  RejectCount: DataType.UInt16,
  StopReason: DataType.Int32,
};

/** PackML state and mode numbers the cycles use. */
const EXECUTE = 6;
const HELD = 11;
const PRODUCE = 1;
/** The seed's reason codes: a cap feed jam, a label web break, a material shortage for the rest. */
const REASON_BY_CLASS: Record<string, number> = { capper: 17, labeler: 21 };
const MATERIAL_SHORTAGE = 30;

interface Unit {
  id: string;
  reason: number;
  variables: Record<PackmlVariable, UAVariable>;
  good: number;
  reject: number;
  cycles: number;
  /** Cycles left in the current stop; 0 while running. */
  stoppedFor: number;
  stopPhase: number;
  next: number;
}

const settings = JSON.parse(process.argv[2] ?? '{}') as PlcSettings;
const send = (message: PlcMessage) => process.send!(message);
const random = (min: number, max: number) => min + Math.random() * (max - min);

async function main(): Promise<void> {
  const serverCertificateManager = new OPCUACertificateManager({
    rootFolder: join(settings.pkiDir, 'server'),
    automaticallyAcceptUnknownCertificate: true,
    keySize: 2048,
  });
  const userCertificateManager = new OPCUACertificateManager({
    rootFolder: join(settings.pkiDir, 'user'),
    keySize: 2048,
  });
  const server = new OPCUAServer({
    port: settings.port,
    host: '127.0.0.1',
    hostname: '127.0.0.1',
    alternateHostname: ['localhost'],
    nodeset_filename: [nodesets.standard],
    serverCertificateManager,
    userCertificateManager,
    // Sampling interval 0 then delivers every change (exception-based), not one per 50 ms window.
    serverCapabilities: { minSupportedSampleRate: 0 },
  });
  await server.initialize();
  const addressSpace = server.engine.addressSpace!;
  const namespace = addressSpace.getOwnNamespace();
  const units: Unit[] = settings.units.map(({ id, equipmentClass }) => {
    const folder = namespace.addObject({ organizedBy: addressSpace.rootFolder.objects, browseName: id });
    const variables = Object.fromEntries(
      PACKML.map((name) => [
        name,
        namespace.addVariable({
          componentOf: folder,
          browseName: name,
          nodeId: `s=${id}.${name}`,
          dataType: DataType[DATA_TYPES[name]],
          accessLevel: 'CurrentRead',
          userAccessLevel: 'CurrentRead',
        }),
      ]),
    ) as Record<PackmlVariable, UAVariable>;
    // Counters start near the top, so some units roll over at 65 536 during a run.
    const unit: Unit = {
      id,
      reason: REASON_BY_CLASS[equipmentClass] ?? MATERIAL_SHORTAGE,
      variables,
      good: 65536 - Math.floor(random(1, 1200)),
      reject: Math.floor(random(0, 60000)),
      cycles: 0,
      stoppedFor: 0,
      stopPhase: 0,
      next: 0,
    };
    const now = new Date();
    set(unit, 'State', EXECUTE, now);
    set(unit, 'Mode', PRODUCE, now);
    set(unit, 'GoodCount', unit.good, now);
    set(unit, 'RejectCount', unit.reject, now);
    set(unit, 'StopReason', 0, now);
    return unit;
  });
  await server.start();
  const nodeIds = Object.fromEntries(
    units.map((unit) => [
      unit.id,
      Object.fromEntries(PACKML.map((name) => [name, unit.variables[name].nodeId.toString()])),
    ]),
  ) as Record<string, Record<PackmlVariable, string>>;
  process.on('message', (message: PlcRequest) => {
    if (message.kind === 'run') void cycle(units, message.run).then((report) => send({ kind: 'done', report }));
    else if (message.kind === 'sent') send({ kind: 'sent', notifications: notificationsSent(server) });
    else
      void server
        .shutdown(0)
        .then(() => Promise.all([serverCertificateManager.dispose(), userCertificateManager.dispose()]))
        .finally(() => process.exit(0));
  });
  send({ kind: 'ready', endpointUrl: `opc.tcp://127.0.0.1:${settings.port}`, nodeIds });
}

/** Data-change notifications the server has put into NotificationMessages, over every subscription. */
function notificationsSent(server: OPCUAServer): number {
  let sent = 0;
  for (const session of server.engine.getSessions())
    for (const subscription of session.publishEngine.subscriptions)
      sent += subscription.subscriptionDiagnostics.dataChangeNotificationsCount;
  return sent;
}

const changes: Record<PackmlVariable, number> = { State: 0, Mode: 0, GoodCount: 0, RejectCount: 0, StopReason: 0 };

/** Sets a variable as the device does: from the source, stamped with the cycle's time. */
function set(unit: Unit, name: PackmlVariable, value: number, at: Date): void {
  unit.variables[name].setValueFromSource({ dataType: DATA_TYPES[name], value }, undefined, at);
}

function change(unit: Unit, name: PackmlVariable, value: number, at: Date): void {
  set(unit, name, value, at);
  changes[name] += 1;
}

/**
 * Runs every unit's cycles for `run.seconds`. A cycle is stamped with the time it was due, so two
 * counts are never closer than `minMs` (the seed's counters refuse more than 50 units/s), and set in
 * the first 5 ms tick after that; then stopped units run again and every unit counts one last good,
 * stamped after every other change, which the bench waits for.
 */
async function cycle(units: Unit[], run: PlcRun): Promise<PlcReport> {
  for (const name of PACKML) changes[name] = 0;
  const started = Date.now();
  const end = started + run.seconds * 1000;
  for (const unit of units) {
    unit.cycles = 0;
    unit.stopPhase = Math.floor(random(0, run.stopEvery));
    unit.next = started + random(0, run.maxMs);
  }
  const stopsAt: Record<string, number[]> = Object.fromEntries(units.map((unit) => [unit.id, []]));
  const lags: number[] = [];
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const now = Date.now();
      for (const unit of units) {
        while (unit.next <= now && unit.next < end) {
          lags.push(now - unit.next);
          const at = new Date(Math.floor(unit.next));
          if (oneCycle(unit, at, run)) stopsAt[unit.id]!.push(at.getTime());
          unit.next += random(run.minMs, run.maxMs);
        }
      }
      if (now >= end) {
        clearInterval(timer);
        resolve();
      }
    }, 5);
  });
  // A stop still open lasts its cycles' worth before it ends: at once, it would fall in one sample with its start.
  await new Promise((resolve) => setTimeout(resolve, run.stopCycles * run.minMs));
  const closing = new Date();
  for (const unit of units.filter((candidate) => candidate.stoppedFor > 0)) {
    unit.stoppedFor = 0;
    change(unit, 'State', EXECUTE, closing);
    change(unit, 'StopReason', 0, closing);
  }
  await new Promise((resolve) => setTimeout(resolve, run.minMs));
  const last = new Date();
  for (const unit of units) {
    unit.good = (unit.good + 1) % 65536;
    change(unit, 'GoodCount', unit.good, last);
  }
  const sorted = lags.sort((a, b) => a - b);
  return {
    changes: { ...changes },
    stops: Object.values(stopsAt).reduce((sum, list) => sum + list.length, 0),
    stopsAt,
    elapsedMs: last.getTime() - started,
    lagP99Ms: sorted[Math.floor(sorted.length * 0.99)] ?? 0,
    lagMaxMs: sorted[sorted.length - 1] ?? 0,
    finalGood: Object.fromEntries(units.map((unit) => [unit.id, unit.good])),
  };
}

/** One production cycle of a unit at `at`; true when it stopped. */
function oneCycle(unit: Unit, at: Date, run: PlcRun): boolean {
  unit.cycles += 1;
  if (unit.stoppedFor > 0) {
    unit.stoppedFor -= 1;
    if (unit.stoppedFor === 0) {
      change(unit, 'State', EXECUTE, at);
      change(unit, 'StopReason', 0, at);
    }
    return false;
  }
  if (unit.cycles % run.stopEvery === unit.stopPhase) {
    // The reason first, as a PLC latches its fault code before it leaves Execute.
    change(unit, 'StopReason', unit.reason, at);
    change(unit, 'State', HELD, at);
    unit.stoppedFor = run.stopCycles;
    return true;
  }
  unit.good = (unit.good + 1) % 65536;
  change(unit, 'GoodCount', unit.good, at);
  if (unit.cycles % 10 === 0) {
    unit.reject = (unit.reject + 1) % 65536;
    change(unit, 'RejectCount', unit.reject, at);
  }
  return false;
}

void main();
