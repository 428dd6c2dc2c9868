/**
 * Running the connectors the configuration lists: a connector's inbound side feeds its system's
 * payloads into ingest from one process at a time (under a lease); every delivering process sends
 * through an outbound-only instance of its own.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { connectors as definitions, type Connector, type ConnectorContext } from '../connectors/index';
import type { ConnectorHealth } from '../connectors/types';
import type { HubContext } from './context';
import { settledWithin } from './deadline';
import { LEASE_TIMING, Leadership, type LeaseTiming } from './leadership';
import { SignalBundler } from './pipeline/signal-bundle';
import { Lease } from './queue/lease';
import { connectorLeaseKey } from './queue/queue-keys';
import { duplicateRedis, type RedisClient } from './queue/redis-connection';

export interface RunningConnector {
  id: string;
  kind: string;
  /** The instance that receives (API processes, connectors that receive): started only while leading. */
  inbound?: Connector;
  /** Who runs the inbound side: this process (leader) or another (standby). */
  leadership?: Leadership;
  /** The instance this process's delivery workers send through (delivering processes, connectors that send). */
  outbound?: Connector;
}

export interface ConnectorOptions {
  dataDir: string;
  /** Names this process to operators and to peers (MQTT client ids of outbound instances). */
  processId: string;
  /** This process runs the API: it competes for the inbound sides. */
  inbound: boolean;
  /** This process delivers: it sends through outbound instances. */
  outbound: boolean;
  timing?: LeaseTiming;
}

/** The connectors of one process, and the Redis connection their leases use. */
export interface ProcessConnectors {
  running: RunningConnector[];
  /** Stops every inbound side this process runs and gives its leases up: first at shutdown, so intake ends. */
  stopInbound(): Promise<void>;
  /** Stops the outbound instances: last at shutdown, once no delivery can still be sending. */
  stopOutbound(): Promise<void>;
}

/**
 * How long start-up waits for the outbound instances' first connection attempts (all at once), so a
 * delivery right after start finds its connection up; one that takes longer goes on connecting.
 */
const OUTBOUND_START_WAIT_MS = 1000;

/**
 * Creates every configured connector this process has a part in and starts it: outbound instances
 * at once; an inbound side once this process holds its lease. The first lease attempt is awaited, so
 * a lone process has begun receiving when it reports started; the connection itself is not (a
 * broker may replay a backlog before it answers a SUBSCRIBE, and the API must not wait for that).
 * A connector that cannot reach its peer keeps trying on its own (its health says so); it never
 * stops the hub from starting.
 */
export async function startConnectors(ctx: HubContext, options: ConnectorOptions): Promise<ProcessConnectors> {
  // Opened for the first connector that receives here: a process without one holds no lease.
  let leaseRedis: RedisClient | undefined;
  const leaseConnection = (): RedisClient => {
    if (leaseRedis) return leaseRedis;
    // Lease calls must fail fast while Redis is away, not wait in the shared client's offline queue.
    leaseRedis = duplicateRedis(ctx.redis, { maxRetriesPerRequest: 1, commandTimeout: LEASE_TIMING.renewEveryMs });
    // Its socket errors are the outage the hub's own client already logs; a failed renewal logs itself.
    leaseRedis.on('error', (error: Error) => ctx.logger.debug({ err: error }, 'lease connection error'));
    return leaseRedis;
  };
  const running: RunningConnector[] = [];
  // Signal messages for the context engine go in bundles, whichever connector emits them.
  const bundler = new SignalBundler(ctx);
  const outboundStarts: Promise<void>[] = [];
  const leaseAttempts: Promise<void>[] = [];
  for (const instance of ctx.config.connectors) {
    const definition = definitions[instance.kind]!;
    const directory = join(options.dataDir, 'connectors', instance.id);
    mkdirSync(directory, { recursive: true });
    const logger = ctx.logger.child({ connector: instance.id });
    const entry: RunningConnector = { id: instance.id, kind: instance.kind };
    const base = { logger, dataDir: directory, instanceId: options.processId };

    if (options.outbound) {
      const outbound = definition.create(instance.config as never, { ...base, mode: 'outbound', emit: refuseEmit });
      if (outbound.send) {
        entry.outbound = outbound;
        outboundStarts.push(start(outbound, logger));
      }
    }
    if (options.inbound) {
      const context: ConnectorContext = { ...base, mode: 'full', emit: (payload) => bundler.emit(payload) };
      const inbound = definition.create(instance.config as never, context);
      if (inbound.receives) {
        entry.inbound = inbound;
        const lease = new Lease(
          leaseConnection(),
          connectorLeaseKey(instance.id),
          options.processId,
          (options.timing ?? LEASE_TIMING).ttlMs,
        );
        entry.leadership = new Leadership(lease, inbound, logger, options.timing);
        leaseAttempts.push(entry.leadership.begin());
      } else if (!entry.outbound) {
        // Nothing of it runs here, but operators can still test its connection from this process.
        entry.inbound = inbound;
      }
    }
    running.push(entry);
  }
  await Promise.all([...leaseAttempts, settledWithin(Promise.all(outboundStarts), OUTBOUND_START_WAIT_MS)]);
  return {
    running,
    async stopInbound() {
      await Promise.all(running.map((entry) => entry.leadership?.end()));
      leaseRedis?.disconnect();
    },
    async stopOutbound() {
      await Promise.all(running.map((entry) => entry.outbound?.stop().catch(() => undefined)));
    },
  };
}

/** What GET /api/v1/connectors says about one connector in this process. */
export async function describeConnector(entry: RunningConnector): Promise<{
  id: string;
  kind: string;
  health: ConnectorHealth;
  inbound?: { role: 'leader' | 'standby'; leader: string | null };
}> {
  const { id, kind, leadership } = entry;
  if (!leadership) {
    const health = entry.outbound?.health() ?? {
      status: 'up' as const,
      detail: 'sends only, from the worker processes; nothing of it runs in this process',
    };
    return { id, kind, health };
  }
  const leader = (await leadership.leader().catch(() => undefined)) ?? null;
  const inbound = { role: leadership.role, leader };
  if (leadership.role === 'leader') return { id, kind, health: entry.inbound!.health(), inbound };
  const health: ConnectorHealth =
    leader === null
      ? { status: 'down', detail: 'no hub process holds the lease of its inbound side' }
      : { status: 'up', detail: `standby: ${leader} runs the inbound side` };
  return { id, kind, health, inbound };
}

/** The instance an operator's connection test runs on. */
export function testable(entry: RunningConnector): Connector | undefined {
  return entry.inbound ?? entry.outbound;
}

async function start(connector: Connector, logger: HubContext['logger']): Promise<void> {
  try {
    await connector.start();
  } catch (error) {
    logger.error({ err: error }, 'connector did not start');
  }
}

function refuseEmit(): Promise<string> {
  return Promise.reject(new Error('an outbound-only connector instance takes nothing in'));
}
