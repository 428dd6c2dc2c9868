/**
 * `npm run demo`: the packaging line end to end. Starts a broker (or takes MQTT_URL), the hub (with
 * its own Redis unless REDIS_URL is set, and SQLite) and each simulated system as its own process on
 * free ports, plays one accelerated shift, and ends with the reconciliation of what every system
 * holds against the hub's accepted truth. `--once` prints the report and exits (non-zero when a
 * figure differs); without it the plant keeps running for exploration until Ctrl-C.
 *
 *   npm run demo -- [--port N] [--hours 8] [--speed 240] [--once] [--dir DIR]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { cpSync, createWriteStream, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { startTestBroker, type TestBroker } from '../../../connectors/mqtt/local-broker';
import { freePort } from '../../../hub/net';
import { atFraction, EVENTS } from '../systems/scenario';
import { PlantClock } from '../systems/common';
import { collectFigures, formatReport, reconcile, type Report } from './reconcile';
import { HubClient } from './hub-client';

/** The simulated systems, in the order they start (the PLC first, so the hub's connectors find it). */
const SYSTEMS = ['scada', 'erp', 'mes', 'wms', 'qms', 'cmms', 'bi'] as const;
type SystemId = (typeof SYSTEMS)[number];
/** The program of each system, under dist/seeds/packaging-line/systems/. */
const PROGRAM: Record<SystemId, string> = {
  scada: 'plc',
  erp: 'erp',
  mes: 'mes',
  wms: 'wms',
  qms: 'qms',
  cmms: 'cmms',
  bi: 'bi',
};
/** The seed configuration's port of each system's endpoints (rewritten to the run's free ports). */
const SEED_PORT: Record<SystemId, number> = {
  erp: 9101,
  mes: 9102,
  scada: 9103,
  cmms: 9104,
  qms: 9105,
  wms: 9106,
  bi: 9107,
};

export interface DemoOptions {
  port?: number;
  hours: number;
  speed: number;
  once: boolean;
  dir: string;
  /** Test only: the system whose copy of a figure is changed before the report (it must be caught). */
  corrupt?: string;
}

export function parseArgs(argv: string[]): DemoOptions {
  const options: DemoOptions = { hours: 8, speed: 240, once: false, dir: '' };
  for (let i = 0; i < argv.length; i += 1) {
    const flag = argv[i]!;
    const value = () => {
      const next = argv[(i += 1)];
      if (next === undefined) throw new Error(`${flag} needs a value`);
      return next;
    };
    if (flag === '--once') options.once = true;
    else if (flag === '--port') options.port = Number(value());
    else if (flag === '--hours') options.hours = Number(value());
    else if (flag === '--speed') options.speed = Number(value());
    else if (flag === '--dir') options.dir = value();
    else if (flag === '--corrupt') options.corrupt = value();
    else throw new Error(`unknown option ${flag} (npm run demo -- [--port N] [--hours H] [--speed S] [--once])`);
  }
  for (const [name, number, min] of [
    ['--hours', options.hours, 0.5],
    ['--speed', options.speed, 1],
  ] as const)
    if (!Number.isFinite(number) || number < min) throw new Error(`${name} must be a number of at least ${min}`);
  if (options.port !== undefined && !(Number.isInteger(options.port) && options.port > 0 && options.port < 65536))
    throw new Error('--port must be a TCP port');
  return options;
}

/**
 * The plant time the shift starts at: the latest shift start (06:00, 14:00 or 22:00 in Europe/Berlin)
 * early enough that plant time, running `speed` times faster, never passes the wall clock: the hub
 * takes no message from the future, and the shift ends about now.
 */
export function shiftStart(wallStart: number, hours: number, speed: number): number {
  const latest = wallStart - hours * 3_600_000 * (1 - 1 / speed);
  // Shift starts are 06:00, 14:00, 22:00 local: every 8 hours from 06:00 local.
  const day = new Date(latest);
  const local = new Date(day.toLocaleString('en-US', { timeZone: 'Europe/Berlin' }));
  const offset = local.getTime() - new Date(day.toLocaleString('en-US', { timeZone: 'UTC' })).getTime();
  const localMs = latest + offset;
  const eight = 8 * 3_600_000;
  const sinceSix = (((localMs - 6 * 3_600_000) % eight) + eight) % eight;
  return latest - sinceSix;
}

interface Child {
  name: string;
  process: ChildProcess;
  exited: Promise<void>;
  /** The end of what it wrote (for the error when it exits early). */
  tail(): string;
}

function startChild(name: string, args: string[], env: NodeJS.ProcessEnv, logDir: string): Child {
  const log = createWriteStream(join(logDir, `${name}.log`), { flags: 'a' });
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let tail = '';
  for (const stream of [child.stdout!, child.stderr!]) {
    stream.pipe(log);
    stream.on('data', (chunk: Buffer) => (tail = (tail + chunk.toString()).slice(-2000)));
  }
  const exited = once(child, 'exit').then(() => undefined);
  return { name, process: child, exited, tail: () => tail };
}

async function waitUntil(what: string, ok: () => Promise<boolean>, child?: Child, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child && child.process.exitCode !== null)
      throw new Error(`${child.name} exited (${child.process.exitCode}) before ${what}:\n${child.tail()}`);
    if (await ok().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

const answers = (url: string) => async () => (await fetch(url)).ok;

/** Runs the demo; resolves with the report (and the exit code it asks for). */
export async function runDemo(options: DemoOptions, out: NodeJS.WriteStream = process.stdout): Promise<number> {
  const root = resolve(__dirname, '..', '..', '..', '..');
  const runDir = resolve(options.dir || join('var', 'demo', new Date().toISOString().replace(/[:.]/g, '-')));
  const logDir = join(runDir, 'logs');
  mkdirSync(logDir, { recursive: true });
  const say = (line: string) => out.write(`${line}\n`);
  const children: Child[] = [];
  let broker: TestBroker | undefined;
  const stopAll = async () => {
    for (const child of [...children].reverse()) if (child.process.exitCode === null) child.process.kill('SIGTERM');
    await Promise.race([
      Promise.all(children.map((child) => child.exited)),
      new Promise((resolve) => setTimeout(resolve, 15_000)),
    ]);
    for (const child of children) if (child.process.exitCode === null) child.process.kill('SIGKILL');
    await broker?.close();
  };

  try {
    // Ports, tokens and the login of this run.
    const ports = Object.fromEntries(await Promise.all(SYSTEMS.map(async (id) => [id, await freePort()]))) as Record<
      SystemId,
      number
    >;
    const hubPort = options.port ?? (await freePort());
    const opcuaPort = await freePort();
    const tokens = Object.fromEntries(SYSTEMS.map((id) => [id, randomBytes(18).toString('base64url')])) as Record<
      SystemId,
      string
    >;
    const adminToken = randomBytes(24).toString('base64url');
    const login = { user: 'demo', password: randomBytes(9).toString('base64url') };

    let mqttUrl = process.env['MQTT_URL'];
    if (!mqttUrl) {
      broker = await startTestBroker();
      mqttUrl = broker.url;
    }

    // The seed configuration with this run's ports, and a copy of the mappings the run may change.
    let config = readFileSync(join(root, 'seeds', 'packaging-line', 'handover.yaml'), 'utf8');
    for (const id of SYSTEMS) config = config.replaceAll(`127.0.0.1:${SEED_PORT[id]}`, `127.0.0.1:${ports[id]}`);
    // Plant time runs `speed` times faster: the OPC UA connector samples every change and publishes
    // every 100 ms (at the seed's 250 ms a sample would cover a minute of plant time at 240×).
    config = config.replace(
      'endpointUrl: opc.tcp://127.0.0.1:4840',
      `endpointUrl: opc.tcp://127.0.0.1:${opcuaPort}\n      samplingIntervalMs: 0\n      publishingIntervalMs: 100`,
    );
    config = config.replace('mqtt://127.0.0.1:1883', mqttUrl);
    writeFileSync(join(runDir, 'handover.yaml'), config);
    const mappingsDir = join(runDir, 'mappings');
    cpSync(join(root, 'mappings'), mappingsDir, {
      recursive: true,
      filter: (source) => !source.includes(`${join(root, 'mappings', 'engine')}`),
    });

    // The hub.
    const hubUrl = `http://127.0.0.1:${hubPort}`;
    const hubEnv: NodeJS.ProcessEnv = {
      ...process.env,
      HANDOVER_DATA_DIR: join(runDir, 'hub'),
      HANDOVER_MAPPINGS_DIR: mappingsDir,
      HANDOVER_ADMIN_TOKEN: adminToken,
      LOG_LEVEL: process.env['LOG_LEVEL'] ?? 'info',
    };
    delete hubEnv['DATABASE_URL'];
    for (const id of SYSTEMS)
      if (id !== 'bi' && id !== 'scada') hubEnv[`HANDOVER_TOKEN_${id.toUpperCase()}`] = tokens[id];
    const hub = startChild(
      'hub',
      [
        join(root, 'dist', 'hub', 'cli', 'main.js'),
        'start',
        '--config',
        join(runDir, 'handover.yaml'),
        '--port',
        String(hubPort),
      ],
      hubEnv,
      logDir,
    );
    children.push(hub);
    say(`handover demo: starting the hub and ${SYSTEMS.length} systems (logs in ${logDir})`);
    await waitUntil('the hub answers /readyz', answers(`${hubUrl}/readyz`), hub, 90_000);
    const admin = new HubClient(hubUrl, adminToken);
    await admin.post('/api/v1/users', { name: login.user, role: 'admin', password: login.password });
    const operator = await admin.post<{ token: string }>('/api/v1/users', { name: 'shift-operator', role: 'operator' });

    // The plant clock: the systems start first, the shift a few seconds later.
    const wallStart = Date.now() + 4000;
    const clock = new PlantClock(
      shiftStart(wallStart, options.hours, options.speed),
      wallStart,
      options.speed,
      options.hours,
    );
    for (const id of SYSTEMS) {
      const child = startChild(
        id,
        [join(root, 'dist', 'seeds', 'packaging-line', 'systems', `${PROGRAM[id]}.js`)],
        {
          ...process.env,
          DEMO_PORT: String(ports[id]),
          DEMO_DATA_DIR: join(runDir, 'systems', id),
          HUB_URL: hubUrl,
          HUB_TOKEN: tokens[id],
          PLANT_START: String(clock.plantStart),
          WALL_START: String(clock.wallStart),
          PLANT_SPEED: String(clock.speed),
          PLANT_HOURS: String(clock.hours),
          DEMO_OPCUA_PORT: String(opcuaPort),
          DEMO_MQTT_URL: mqttUrl,
        },
        logDir,
      );
      children.push(child);
      await waitUntil(`${id} answers /health`, answers(`http://127.0.0.1:${ports[id]}/health`), child);
    }

    say('');
    say(`  console   ${hubUrl}/   log in as ${login.user} / ${login.password}`);
    say(
      `  plant     ${new Date(clock.plantStart).toISOString()} → ${new Date(clock.end).toISOString()}, ${options.hours} h at ${options.speed}× (${Math.round((options.hours * 3600) / options.speed)} s)`,
    );
    say('');

    // The shift, with a progress line; the integrator's mapping fix comes once the poison result's
    // dead letter is there (after EVENTS.poisonResult), at the latest at the end of the shift.
    const fixAt = atFraction(clock, EVENTS.poisonResult + 0.08);
    let fixed = false;
    const poisoned = async () =>
      (
        await admin.get<{ deadLetters: Array<{ system: string; code: string }> }>('/api/v1/dead-letters')
      ).deadLetters.some((letter) => letter.system === 'qms' && letter.code === 'MAPPING_OUTPUT_INVALID');
    const tty = out.isTTY === true;
    let lastPrinted = -1;
    while (clock.now() < clock.end) {
      if (!fixed && clock.now() >= fixAt && (await poisoned())) {
        fixed = true;
        await fixPoisonMapping(root, mappingsDir, hub, admin, new HubClient(hubUrl, operator.token), say);
      }
      const progress = Math.min(1, (clock.now() - clock.plantStart) / (clock.end - clock.plantStart));
      const tenth = Math.floor(progress * 10);
      if (tty || tenth !== lastPrinted) {
        lastPrinted = tenth;
        const line = await progressLine(admin, clock, progress);
        out.write(tty ? `\r${line}\u001b[K` : `${line}\n`);
      }
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    if (tty) out.write('\n');
    if (!fixed) {
      await waitUntil('the poison result’s dead letter', poisoned, undefined, 30_000).catch(() => undefined);
      await fixPoisonMapping(root, mappingsDir, hub, admin, new HubClient(hubUrl, operator.token), say);
    }
    say('shift over; waiting for the hub and the systems to settle…');
    // What the systems still do after the shift (QMS's last results, the CMMS's work order) takes up to
    // an hour of plant time; then the hub's queues must be empty for 3 s.
    await clock.until(clock.end + 3_600_000);
    await settle(admin);

    if (options.corrupt) {
      const port = ports[options.corrupt as SystemId];
      if (!port) throw new Error(`--corrupt names no system: ${options.corrupt}`);
      const changed = await (await fetch(`http://127.0.0.1:${port}/control/corrupt`, { method: 'POST' })).json();
      say(`(test) corrupted ${options.corrupt}'s copy: ${JSON.stringify(changed)}`);
    }

    const figures = await collectFigures(
      admin,
      Object.fromEntries(SYSTEMS.map((id) => [id, `http://127.0.0.1:${ports[id]}`])),
      clock,
    );
    // What the report was computed from: the hub's objects and every system's figures, to look into.
    writeFileSync(join(runDir, 'figures.json'), `${JSON.stringify(figures, null, 2)}\n`);
    const report: Report = reconcile(figures);
    writeFileSync(join(runDir, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
    const text = formatReport(report);
    writeFileSync(join(runDir, 'report.txt'), text);
    say(text);
    say(`report: ${join(runDir, 'report.json')}`);
    if (!options.once) {
      say(`\nthe plant keeps running for exploration: ${hubUrl}/ (${login.user} / ${login.password}); Ctrl-C stops it`);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', () => resolve());
        process.once('SIGTERM', () => resolve());
      });
    }
    return report.differences.length === 0 && report.auditIntact ? 0 : 1;
  } finally {
    await stopAll();
  }
}

/**
 * The integrator's fix for the LIMS firmware's object values: version 2 of the result mapping goes
 * into the run's mappings, the hub loads it (SIGHUP), and the shift operator replays the dead letters
 * it left, with the current mapping.
 */
async function fixPoisonMapping(
  root: string,
  mappingsDir: string,
  hub: Child,
  admin: HubClient,
  operator: HubClient,
  say: (line: string) => void,
): Promise<void> {
  const fixed = join(root, 'mappings', 'qms', 'lims-result-v2.yaml.fixed');
  if (!existsSync(fixed)) return;
  cpSync(fixed, join(mappingsDir, 'qms', 'lims-result.yaml'));
  hub.process.kill('SIGHUP');
  await waitUntil('the fixed LIMS mapping is loaded', async () => {
    const listed = await admin.get<{ mappings: Array<{ id: string; version: number }> }>('/api/v1/mappings');
    return listed.mappings.some((m) => m.id === 'qms-lims-result' && m.version === 2);
  });
  const replayed = await operator.post<{ matched: number; replayed: number }>('/api/v1/dead-letters/replay', {
    stage: 'ingest',
    system: 'qms',
    code: 'MAPPING_OUTPUT_INVALID',
    mapping: 'current',
    reason: 'qms-lims-result@2 reads the LIMS firmware’s object values',
  });
  say(`\n  mapping fix: qms-lims-result@2 loaded, ${replayed.replayed} of ${replayed.matched} dead letters replayed`);
}

async function progressLine(admin: HubClient, clock: PlantClock, progress: number): Promise<string> {
  const time = new Date(clock.now()).toLocaleTimeString('en-GB', {
    timeZone: 'Europe/Berlin',
    hour: '2-digit',
    minute: '2-digit',
  });
  const bar = '█'.repeat(Math.round(progress * 20)).padEnd(20, '░');
  const flow = await admin
    .get<{ buckets: Array<{ counts: Record<string, number> }> }>('/api/v1/flow?minutes=120')
    .catch(() => undefined);
  const sum = (prefix: string) =>
    (flow?.buckets ?? []).reduce(
      (total, bucket) =>
        total + Object.entries(bucket.counts).reduce((s, [name, n]) => (name.startsWith(prefix) ? s + n : s), 0),
      0,
    );
  return `  plant ${time} ${bar} ${String(Math.round(progress * 100)).padStart(3)} %  in ${sum('in:')}  accepted ${sum('decision:accepted')}  rejected ${sum('decision:rejected')}  stale ${sum('decision:stale')}  duplicate ${sum('decision:duplicate')}  dead letters ${sum('dead:')}  signals ${sum('signals')}`;
}

/** Waits until the hub's queues are empty and stay so for 3 s (at most 90 s). */
async function settle(admin: HubClient): Promise<void> {
  let quietSince = 0;
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    const { queues } = await admin.get<{
      queues: Array<{ ok: boolean; waiting?: number; active?: number; delayed?: number; prioritized?: number }>;
    }>('/api/v1/queues');
    const busy = queues.some(
      (q) => !q.ok || (q.waiting ?? 0) + (q.active ?? 0) + (q.delayed ?? 0) + (q.prioritized ?? 0) > 0,
    );
    if (busy) quietSince = 0;
    else if (quietSince === 0) quietSince = Date.now();
    else if (Date.now() - quietSince > 3000) return;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

if (require.main === module) {
  let options: DemoOptions;
  try {
    options = parseArgs(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exit(2);
  }
  runDemo(options).then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`demo failed: ${(error as Error).stack ?? String(error)}\n`);
      process.exit(1);
    },
  );
}
