/**
 * Test support for the MQTT connector: a broker per test file with connectors and clients that are
 * stopped after each test, a recording hub context, polling, and the Sparkplug specification's
 * sample payloads as wire payloads.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { samplesDir } from '../../test/support/paths';
import { connectAsync, type MqttClient } from 'mqtt';
import { pino } from 'pino';
import type { ConnectorContext, InboundPayload } from '../types';
import { mqttConnector, type MqttConfig } from './index';
import type { MqttSession } from './session';
import type { WireMetric, WirePayload } from './sparkplug-codec';
import { startTestBroker, type TestBroker } from './test-broker';

/**
 * A hub context whose `emit` records every payload it accepts; `refuse(payload)` returning true
 * makes that emit fail, as when the hub's queue is unavailable.
 */
export function recordingContext(refuse: (payload: InboundPayload) => boolean = () => false): {
  context: ConnectorContext;
  emitted: InboundPayload[];
} {
  const emitted: InboundPayload[] = [];
  const context: ConnectorContext = {
    logger: pino({ level: process.env.HANDOVER_TEST_LOG ?? 'silent' }),
    emit: async (payload) => {
      if (refuse(payload)) throw new Error('queue unavailable');
      emitted.push(payload);
      return String(emitted.length);
    },
    dataDir: '/nonexistent',
  };
  return { context, emitted };
}

/** A broker for one test file, and helpers whose connectors and clients are stopped after each test. */
export interface BrokerFixture {
  readonly broker: TestBroker;
  /** A connector config with a fresh client id and a short reconnect period. */
  config(overrides?: Partial<MqttConfig>): MqttConfig;
  /** Creates and starts a connector, and checks it is up. */
  connector(
    overrides: Partial<MqttConfig>,
    context?: ReturnType<typeof recordingContext>,
  ): Promise<{ connector: MqttSession; emitted: InboundPayload[] }>;
  /** Creates a connector without starting it. */
  created(overrides: Partial<MqttConfig>): MqttSession;
  /** A plain clean-session client in the broker's newest protocol version. */
  client(url?: string): Promise<MqttClient>;
}

/** Starts a broker before the file's tests and closes it after them. */
export function useBroker(): BrokerFixture {
  let broker: TestBroker | undefined;
  let count = 0;
  const running: (MqttSession | MqttClient)[] = [];
  beforeAll(async () => {
    broker = await startTestBroker();
  });
  afterEach(async () => {
    for (const item of running.splice(0)) {
      if ('endAsync' in item) await item.endAsync(true);
      else await item.stop();
    }
  });
  afterAll(async () => {
    await broker?.close();
  });
  const fixture: BrokerFixture = {
    get broker(): TestBroker {
      if (!broker) throw new Error('the broker is not started yet');
      return broker;
    },
    config(overrides = {}) {
      count += 1;
      const clientId = `handover-test-${process.pid}-${count}`;
      return { url: fixture.broker.url, clientId, system: 'scada', reconnectPeriodMs: 200, ...overrides };
    },
    async connector(overrides, context = recordingContext()) {
      const connector = createConnector(fixture.config(overrides), context.context);
      running.push(connector);
      await connector.start();
      expect(connector.health()).toMatchObject({ status: 'up' });
      return { connector, emitted: context.emitted };
    },
    created(overrides) {
      const connector = createConnector(fixture.config(overrides), recordingContext().context);
      running.push(connector);
      return connector;
    },
    async client(url) {
      const created = await plainClient(url ?? fixture.broker.url, fixture.broker.protocolVersion);
      running.push(created);
      return created;
    },
  };
  return fixture;
}

/** Creates a connector the way the hub does; tests reach its Sparkplug state through the session. */
export function createConnector(config: MqttConfig, context: ConnectorContext): MqttSession {
  return mqttConnector.create(config, context) as MqttSession;
}

/** Polls until `check` is true; fails with `what` after `timeoutMs`. */
export async function waitFor(check: () => boolean, what: string, timeoutMs = 10000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A clean-session client for publishing and watching, retried while a broker comes back up. */
export async function plainClient(url: string, protocolVersion: 4 | 5): Promise<MqttClient> {
  const deadline = Date.now() + 10000;
  for (;;) {
    try {
      return await connectAsync(url, { protocolVersion, reconnectPeriod: 0, connectTimeout: 2000 });
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

/** The JSON bodies emitted so far, parsed. */
export function bodies(emitted: InboundPayload[]): Record<string, unknown>[] {
  return emitted.map((payload) => JSON.parse(payload.body) as Record<string, unknown>);
}

interface SampleMetric {
  name: string;
  timestamp?: number;
  dataType: string;
  value: unknown;
}

interface Sample {
  timestamp: number;
  metrics?: SampleMetric[];
  seq?: number;
}

/** One of the specification's example payloads (connectors/mqtt/samples/sparkplug, see SOURCE.txt there). */
export function sample(name: string): Sample {
  return JSON.parse(readFileSync(join(samplesDir, 'sparkplug', `${name}.json`), 'utf8')) as Sample;
}

/**
 * A sample as sparkplug-payload encodes it. `aliases` (name → alias) adds aliases: births carry
 * name and alias, data messages (`aliasOnly`) the alias alone, as a real edge node sends them.
 */
export function wire(
  payload: Sample,
  options: { aliases?: Map<string, number>; aliasOnly?: boolean; seq?: number } = {},
): WirePayload {
  const metrics = payload.metrics?.map((metric): WireMetric => {
    const alias = options.aliases?.get(metric.name);
    return {
      ...(options.aliasOnly && alias !== undefined ? {} : { name: metric.name }),
      ...(alias !== undefined ? { alias } : {}),
      type: metric.dataType,
      value: metric.value,
      ...(metric.timestamp !== undefined ? { timestamp: metric.timestamp } : {}),
    };
  });
  const seq = options.seq ?? payload.seq;
  return { timestamp: payload.timestamp, ...(metrics ? { metrics } : {}), ...(seq !== undefined ? { seq } : {}) };
}

/** Aliases for every metric of a birth sample, numbered from `first`. */
export function aliasesOf(birth: Sample, first: number): Map<string, number> {
  return new Map((birth.metrics ?? []).map((metric, index) => [metric.name, first + index]));
}
