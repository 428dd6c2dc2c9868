/**
 * The subscription the inbound side keeps: how it is asked for, its monitored items (one per signal),
 * which configured nodes the server would not monitor, and how long a silence means it is gone.
 */
import {
  AttributeIds,
  TimestampsToReturn,
  type ClientMonitoredItemGroup,
  type ClientSession,
  type ClientSubscription,
} from 'node-opcua';
import type { OpcuaSettings, SignalBinding } from './config';

/** Silence (no data, no keep-alive) longer than this many keep-alive periods means the subscription is gone. */
const SILENT_KEEPALIVES = 3;

/**
 * Creates a subscription at the configured publishing interval. When nothing changes the server sends
 * a keep-alive about once a second (at least every third publishing interval); it keeps the
 * subscription for about a minute without publish requests, so it outlives a short network break.
 */
export function createSubscription(session: ClientSession, settings: OpcuaSettings): Promise<ClientSubscription> {
  const { publishingIntervalMs } = settings;
  const maxKeepAliveCount = Math.max(3, Math.ceil(1000 / publishingIntervalMs));
  return session.createSubscription2({
    requestedPublishingInterval: publishingIntervalMs,
    requestedMaxKeepAliveCount: maxKeepAliveCount,
    requestedLifetimeCount: Math.max(maxKeepAliveCount * 3, Math.ceil(60000 / publishingIntervalMs)),
    publishingEnabled: true,
  });
}

/**
 * Adds one monitored item per signal, in one request. Each queues the samples taken between two
 * publications, so none is dropped; item `i` of the group is signal `i`.
 */
export function monitorSignals(
  subscription: ClientSubscription,
  settings: OpcuaSettings,
): Promise<ClientMonitoredItemGroup> {
  const { publishingIntervalMs, samplingIntervalMs, signals } = settings;
  return subscription.monitorItems(
    signals.map((signal) => ({ nodeId: signal.nodeId, attributeId: AttributeIds.Value })),
    {
      samplingInterval: samplingIntervalMs,
      queueSize: Math.ceil(publishingIntervalMs / Math.max(samplingIntervalMs, 1)) + 1,
      discardOldest: true,
    },
    TimestampsToReturn.Both,
  );
}

/** The signals the server would not monitor, as `<nodeId> (<status code>)`. */
export function unmonitoredSignals(signals: SignalBinding[], group: ClientMonitoredItemGroup): string[] {
  return signals.flatMap((signal, index) => {
    const status = group.monitoredItems[index]?.statusCode;
    return status && status.isNotGood() ? [`${signal.nodeId} (${status.name})`] : [];
  });
}

/** How often to look for silence, and how long a silence means the subscription is gone (revised values). */
export function silenceLimits(subscription: ClientSubscription): { checkEveryMs: number; silenceMs: number } {
  const keepAliveMs = subscription.publishingInterval * subscription.maxKeepAliveCount;
  return { checkEveryMs: keepAliveMs, silenceMs: keepAliveMs * SILENT_KEEPALIVES + subscription.publishingInterval };
}
