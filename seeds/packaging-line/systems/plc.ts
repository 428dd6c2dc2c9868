/**
 * The demo plant's packaging line PLCs, system `scada`: the filler on an OPC UA server, the capper,
 * labeler and case packer as Sparkplug B devices of edge node line1, the orders the hub downloads
 * (POST /orders) and the truth of what the line made (GET /figures). Run: node
 * dist/seeds/packaging-line/systems/plc.js, with the demo's environment (common.ts settingsOf).
 */
import { join } from 'node:path';
import { log, openStore, serve, settingsOf, stopOnSignal, type SystemSettings } from './common';
import { Line, type LineSink } from './plc-line';
import { startFillerServer, type FillerServer } from './plc-opcua';
import { parseOrderDownload } from './plc-orders';
import { fillerCounterStart, restartPlan, stopPlan } from './plc-plan';
import { EdgeNode, isEdgeUnit } from './plc-sparkplug';
import { PlcStore } from './plc-store';

/** How often (wall ms) the line catches up with the plant clock. */
const TICK_MS = 25;

export interface RunningPlc {
  readonly line: Line;
  readonly store: PlcStore;
  readonly opcuaEndpoint: string;
  stop(): Promise<void>;
}

function setting(settings: SystemSettings, name: string): string {
  const value = settings.extra[name];
  if (!value) throw new Error(`DEMO_${name} is not set (the demo sets it)`);
  return value;
}

/** Starts the line's servers and runs the line on the plant clock until the shift ends. */
export async function startPlc(settings: SystemSettings): Promise<RunningPlc> {
  const { clock } = settings;
  const opcuaPort = Number(setting(settings, 'OPCUA_PORT'));
  const mqttUrl = setting(settings, 'MQTT_URL');
  const say = (message: string, fields: Record<string, unknown> = {}) => log(settings.system, message, fields);
  const db = openStore(settings);
  const store = new PlcStore(db);
  // The line's outputs, set once they are started (the line exists first: they start with its tags).
  const io: { filler?: FillerServer; edge?: EdgeNode } = {};
  const sink: LineSink = {
    signals(unit, at, values, changed) {
      if (unit === 'FILLER-01') io.filler?.set(values, changed, at);
      else if (isEdgeUnit(unit)) io.edge?.update(unit, at, values, changed);
    },
    counted: (unit, orderId, good, reject) => store.addCounts(unit, orderId, good, reject),
    stopStarted: (stop) => store.stopStarted(stop),
    stopEnded: (unit, at) => store.stopEnded(unit, at),
    edge(event) {
      if (event === 'down') io.edge?.down();
      else io.edge?.start();
    },
    log: say,
  };
  const chains = stopPlan(clock);
  const line = new Line({
    start: clock.now(),
    fillerCounterStart: fillerCounterStart(clock),
    chains,
    restart: restartPlan(clock),
    sink,
    orders: store.orders(),
    produced: store.producedCases(),
  });

  const filler = await startFillerServer(opcuaPort, join(settings.dataDir, 'pki'), line.tagsOf('FILLER-01'), line.now);
  const lastBdSeq = store.meta('bdSeq');
  const edge = new EdgeNode({
    url: mqttUrl,
    clientId: `${settings.system}-line1-edge`,
    bdSeq: lastBdSeq === undefined ? 0 : Number(lastBdSeq) + 1,
    tags: (unit) => line.tagsOf(unit),
    now: () => line.now,
    onSession: (bdSeq) => store.setMeta('bdSeq', String(bdSeq)),
    log: say,
  });
  edge.start();
  Object.assign(io, { filler, edge });

  // Starting the servers took wall time (the OPC UA server makes its certificate): the idle line catches up.
  store.batch(() => line.advanceTo(Math.min(clock.now(), clock.end)));
  let finished = false;
  const tick = () => {
    try {
      const now = clock.now();
      store.batch(() => line.advanceTo(Math.min(now, clock.end)));
      if (now >= clock.end && !finished) {
        finished = true;
        store.batch(() => line.finish(clock.end));
        clearInterval(timer);
      }
    } catch (error) {
      say('line tick failed', { error: (error as Error).message });
    }
  };
  const timer = setInterval(tick, TICK_MS);

  const http = await serve(settings, (app) => {
    app.post('/orders', (req, res) => {
      const parsed = parseOrderDownload(req.body, req.get('x-handover-object-revision'));
      if (!parsed.ok) {
        res.status(400).json({ error: { code: 'ORDER_INVALID', message: `${parsed.path}: ${parsed.reason}` } });
        return;
      }
      const saved = store.saveOrder(parsed.download, clock.now());
      if (saved.applied) line.deliver(saved.order);
      const { orderId, state, quantity, revision } = parsed.download;
      say('order revision received', {
        orderId,
        state,
        quantity,
        revision,
        applied: saved.applied,
        ...(saved.reason ? { reason: saved.reason } : {}),
      });
      res.status(200).json({
        orderId,
        state,
        quantity: quantity ?? saved.order.quantity,
        revision,
        applied: saved.applied,
        ...(saved.reason ? { reason: saved.reason } : {}),
      });
    });
    app.get('/orders', (_req, res) => void res.json(store.figures(settings.system).orders));
    app.get('/figures', (_req, res) => void res.json(store.figures(settings.system)));
    app.get('/line', (_req, res) => {
      const units = Object.fromEntries(
        (['FILLER-01', 'CAPPER-01', 'LABELER-01', 'CASEPACKER-01'] as const).map((unit) => [unit, line.tagsOf(unit)]),
      );
      res.json({
        plantTime: new Date(line.now).toISOString(),
        runningOrder: line.runningOrder ?? null,
        edgeOnline: edge.online,
        units,
      });
    });
    app.post('/control/corrupt', (_req, res) => {
      const changed = store.corrupt();
      if (!changed) {
        res.status(409).json({ error: { code: 'NO_ORDER', message: 'the store has no order to corrupt yet' } });
        return;
      }
      say('figures corrupted on purpose', changed);
      res.json({ changed });
    });
  });

  say('PLC line started', {
    port: settings.port,
    opcua: filler.endpointUrl,
    mqtt: mqttUrl,
    plantTime: new Date(line.now).toISOString(),
    plantEnd: new Date(clock.end).toISOString(),
    speed: clock.speed,
    fillerGoodCountStart: line.tagsOf('FILLER-01').GoodCount,
    plannedStops: chains.map((chain) => ({
      name: chain.name,
      at: new Date(chain.firstAt).toISOString(),
      stops: chain.stops.length,
    })),
    restartAt: new Date(restartPlan(clock).at).toISOString(),
  });

  let stopped = false;
  return {
    line,
    store,
    opcuaEndpoint: filler.endpointUrl,
    async stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      await edge.stop();
      await filler.shutdown();
      await http.close();
      db.close();
      say('PLC line stopped');
    },
  };
}

if (require.main === module) {
  startPlc(settingsOf('scada')).then(
    (plc) => stopOnSignal(() => plc.stop()),
    (error: unknown) => {
      log('scada', 'PLC line failed to start', { error: (error as Error).message });
      process.exit(1);
    },
  );
}
