/**
 * Delivery worker, one per target and partition; BullMQ's global concurrency 1 makes it the only
 * one working that partition across every process, so one object's updates reach a target in
 * order. A job wakes the partition up: the worker delivers its pending deliveries page by page until
 * none is left — objects side by side (up to DELIVERY_PARALLELISM at once over keep-alive
 * connections), each object's revisions one after another. The route's format over HTTP or the
 * route's connector, with an Idempotency-Key that stays the same across retries and restarts;
 * exponential backoff; a dead letter after the last attempt, or at once for a failure the connector
 * marks permanent.
 */
import type { Job } from 'bullmq';
import { HttpDeliveryError, httpOutbound } from '../../connectors/http/outbound';
import { isPermanent, type Connector } from '../../connectors/types';
import { runOutbound } from '../../mappings/engine/mapping';
import { writeB2mml } from '../../schemas/b2mml/index';
import type { RouteConfig } from '../config/schema';
import type { HubContext } from '../context';
import {
  pendingPage,
  recordDead,
  recordDrainSteps,
  recordSuperseded,
  settleClaims,
  type DeliveredOutcome,
  type FailedAttempt,
  type DeliveryRow,
  type PendingDelivery,
} from '../store/index';
import { coalesced } from '../coalesce';
import type { DeliverJob } from './jobs';

/** Objects of one partition delivered at the same time. */
export const DELIVERY_PARALLELISM = 16;

/** Drains a delivery may be taken up by without an outcome before it is a dead letter. */
export const MAX_CLAIMS = 5;

/** Objects one page of a partition holds (found among its 4 × as many longest-waiting deliveries). */
const PAGE_OBJECTS = 256;

/**
 * What a delivery chain hands the drain's group commit: the outcome of one delivery, a failed attempt
 * (the worker lived through sending it: it leaves the in-flight set, so a crash while it waits to be
 * tried again does not count), one that ended otherwise, the claim of the next.
 */
interface Step {
  outcome?: DeliveredOutcome;
  failed?: FailedAttempt;
  released?: string;
  claim?: string;
}

/** The outcome of one HTTP attempt. */
type Attempt = { ok: true; status: number } | { ok: false; permanent: boolean; status?: number; error: string };

/** An unexpected failure while delivering `deliveryId`: the job is retried, its last failure dead-letters that delivery. */
export class DeliveryFailed extends Error {
  constructor(
    readonly deliveryId: string,
    cause: unknown,
  ) {
    super(cause instanceof Error ? cause.message : String(cause));
    if (cause instanceof Error) {
      this.name = cause.name;
      this.stack = cause.stack ?? this.stack;
    }
  }
}

export function deliverProcessor(ctx: HubContext, target: string, partition: number, signal: AbortSignal) {
  return async (job: Job<DeliverJob>): Promise<void> => {
    // From now on a commit wakes the partition with a job of its own (it waits behind this one), so
    // this one need only deliver what its pages show: while it waited, it stood for every wake-up.
    await job.removeDeduplicationKey();
    // What the last drain of this partition took up and never ended counts against it now.
    await settleClaims(ctx.db, target, partition);
    // One group commit at a time for what the chains report (coalesced: each write waits for the one
    // before), with what is in flight after it: an outcome (recorded before the object's next revision
    // is sent, so after a crash only the last one sent repeats), a failed attempt, the next delivery
    // taken up (written down as in flight before it is sent, so only what is in flight when a worker
    // dies is counted against it). The set in memory changes only once its write has committed.
    let inFlight = new Set<string>();
    const commit = coalesced(async (steps: Step[]) => {
      const next = new Set(inFlight);
      for (const step of steps) {
        for (const id of [step.outcome?.delivery.id, step.failed?.id, step.released]) if (id) next.delete(id);
        if (step.claim) next.add(step.claim);
      }
      await recordDrainSteps(
        ctx.db,
        steps.flatMap((step) => (step.outcome ? [step.outcome] : [])),
        steps.flatMap((step) => (step.failed ? [step.failed] : [])),
        { target, partition, ids: [...next] },
      );
      inFlight = next;
    });
    for (;;) {
      // A paused target (hub/pipeline/targets.ts) stops at the next page: what was taken up finishes,
      // the rest waits in the store, in order, for the wake-up its resume adds.
      if (await ctx.queues.deliver(target, partition).isPaused()) return;
      const { chains, more } = await pendingPage(ctx.db, target, partition, PAGE_OBJECTS);
      if (chains.length === 0) return;
      let failure: unknown;
      const deliverChain = async (chain: PendingDelivery[]) => {
        // What the last delivery of the chain left to record: its outcome, or that it ended otherwise
        // (dead, superseded: recorded already, and no longer in flight).
        let last: Step = {};
        for (const delivery of chain) {
          try {
            await commit({ claim: delivery.id, ...last });
            const outcome = await deliverWithRetries(ctx, delivery, signal, commit);
            last = outcome ? { outcome } : { released: delivery.id };
          } catch (error) {
            // The object's later revisions wait for this one; the other objects go on.
            failure ??= signal.aborted ? error : new DeliveryFailed(delivery.id, error);
            last = {};
            break;
          }
        }
        if (last.outcome || last.released) {
          try {
            await commit(last);
          } catch (error) {
            failure ??= error;
          }
        }
      };
      // Objects a dead drain had in flight go first and one at a time: if one of them kills its
      // worker, it alone is in flight then, and it alone reaches MAX_CLAIMS.
      const suspect = chains.filter((chain) => chain.some((delivery) => delivery.claims > 0));
      await inParallel(suspect, 1, deliverChain);
      if (!failure)
        await inParallel(
          chains.filter((chain) => !suspect.includes(chain)),
          DELIVERY_PARALLELISM,
          deliverChain,
        );
      if (failure) throw failure;
      // A page that reached no limit held everything pending when this job began.
      if (!more) return;
    }
  };
}

/**
 * Runs `work` for every item, at most `limit` at a time. Every item's work is awaited, also
 * after one failed.
 */
async function inParallel<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}

/**
 * Delivers one pending delivery, retrying as its route says. Returns the outcome to record when it
 * arrived; a delivery that ends otherwise (superseded, dead) is recorded here.
 */
async function deliverWithRetries(
  ctx: HubContext,
  delivery: PendingDelivery,
  signal: AbortSignal,
  commit: (step: Step) => Promise<void>,
): Promise<DeliveredOutcome | undefined> {
  if (delivery.claims >= MAX_CLAIMS) {
    // Taken up this often and never ended: it kills or stalls its worker. Not tried again.
    const reason = `in flight in ${delivery.claims} deliveries that ended without an outcome (the worker crashed or stalled each time)`;
    await recordDead(ctx.db, delivery, delivery.attempts, 'PROCESSING_FAILED', reason);
    ctx.metrics.deadLetters.inc({ stage: 'deliver' });
    ctx.logger.error(
      { deliveryId: delivery.id, target: delivery.target, claims: delivery.claims },
      'delivery dead-lettered',
    );
    return undefined;
  }
  // Only a replay can be pending behind a delivered newer revision; sending it would roll the target back.
  if (delivery.deliveredRevision !== undefined && delivery.deliveredRevision > delivery.objectRevision) {
    await recordSuperseded(ctx.db, delivery, delivery.deliveredRevision);
    ctx.logger.info(
      {
        deliveryId: delivery.id,
        target: delivery.target,
        revision: delivery.objectRevision,
        newer: delivery.deliveredRevision,
      },
      'replayed delivery superseded by a newer revision',
    );
    return undefined;
  }
  const route = ctx.config.routes.find((candidate) => candidate.id === delivery.routeId);
  if (!route) {
    await recordDead(
      ctx.db,
      delivery,
      delivery.attempts,
      'ROUTE_REMOVED',
      `route ${delivery.routeId} is no longer configured`,
    );
    return undefined;
  }
  const policy = route.retry ?? { attempts: 8, backoffMs: 500, maxBackoffMs: 60000 };
  let attempts = delivery.attempts;
  for (;;) {
    signal.throwIfAborted();
    attempts += 1;
    const result = await attempt(ctx, route, delivery, signal);
    if (result.ok) {
      const latencyMs = Date.now() - Date.parse(delivery.envelope.receivedAt);
      ctx.metrics.deliveries.inc({ target: delivery.target, outcome: 'delivered' });
      ctx.metrics.deliveryLatency.observe({ target: delivery.target }, latencyMs / 1000);
      return { delivery, attempts, status: result.status, latencyMs };
    }
    if (result.permanent || attempts >= policy.attempts) {
      const code = result.permanent ? 'TARGET_REFUSED' : 'ATTEMPTS_EXHAUSTED';
      await recordDead(ctx.db, delivery, attempts, code, result.error);
      ctx.metrics.deliveries.inc({ target: delivery.target, outcome: 'dead' });
      ctx.metrics.deadLetters.inc({ stage: 'deliver' });
      ctx.logger.warn(
        { deliveryId: delivery.id, target: delivery.target, attempts, error: result.error },
        'delivery dead-lettered',
      );
      return undefined;
    }
    await commit({
      failed: {
        id: delivery.id,
        attempts,
        error: result.error,
        ...(result.status === undefined ? {} : { status: result.status }),
      },
    });
    ctx.metrics.deliveries.inc({ target: delivery.target, outcome: 'retry' });
    await sleep(Math.min(policy.maxBackoffMs, policy.backoffMs * 2 ** (attempts - 1)), signal);
  }
}

/** The body and content type a route sends for a delivery. */
async function render(
  ctx: HubContext,
  route: RouteConfig,
  delivery: DeliveryRow,
): Promise<{ body: string; xml: boolean }> {
  const { envelope } = delivery;
  if (route.format === 'b2mml') {
    const verb = envelope.verb ? { verb: envelope.verb } : {};
    return { body: writeB2mml([envelope], { sender: 'HANDOVER', bodId: delivery.id, ...verb }), xml: true };
  }
  if (route.format === 'mapped') {
    const mapping = ctx.mappings.outboundFor(delivery.target, envelope.type);
    if (!mapping) throw new Error(`no outbound mapping of ${delivery.target} consumes ${envelope.type}`);
    return { body: await runOutbound(mapping, envelope), xml: mapping.spec.contentType === 'xml' };
  }
  return { body: JSON.stringify(envelope), xml: false };
}

const transports = new WeakMap<RouteConfig, Connector>();

/** Closes the connections of the http connectors made for routes with a url (at shutdown). */
export async function stopRouteTransports(ctx: HubContext): Promise<void> {
  await Promise.all(ctx.config.routes.map((route) => transports.get(route)?.stop()));
}

/** What a route delivers through: its configured connector, or an http connector made once for its url. */
function transport(ctx: HubContext, route: RouteConfig): Connector {
  if (route.connector !== undefined) {
    // Every delivering process runs an outbound-only instance of each connector that sends.
    const running = ctx.connectors?.find((candidate) => candidate.id === route.connector);
    if (!running?.outbound?.send) {
      throw new HttpDeliveryError(`connector ${route.connector} does not send documents in this process`, false);
    }
    return running.outbound;
  }
  let connector = transports.get(route);
  if (!connector) {
    connector = httpOutbound({
      url: route.url!,
      method: route.method ?? 'POST',
      headers: route.headers ?? {},
      timeoutMs: route.timeoutMs ?? 10000,
      ...(route.auth ? { auth: route.auth } : {}),
    });
    transports.set(route, connector);
  }
  return connector;
}

async function attempt(
  ctx: HubContext,
  route: RouteConfig,
  delivery: DeliveryRow,
  signal: AbortSignal,
): Promise<Attempt> {
  let rendered: { body: string; xml: boolean };
  try {
    rendered = await render(ctx, route, delivery);
  } catch (error) {
    return { ok: false, permanent: true, error: `cannot render for ${route.id}: ${(error as Error).message}` };
  }
  try {
    const result = await transport(ctx, route).send!(
      {
        idempotencyKey: delivery.id,
        contentType: rendered.xml ? 'application/xml' : 'application/json',
        body: rendered.body,
        type: delivery.type,
        // The revision lets a receiver see the order of one object's updates for itself.
        metadata: {
          'x-handover-message-id': delivery.messageId,
          'x-handover-kind': delivery.kind,
          'x-handover-object-revision': String(delivery.objectRevision),
        },
      },
      signal,
    );
    return { ok: true, status: result.status ?? 0 };
  } catch (error) {
    signal.throwIfAborted();
    // Any connector may fail; only one that says so (permanent: true, connectors/types.ts) makes it final.
    const { status } = error as { status?: number };
    return {
      ok: false,
      permanent: isPermanent(error),
      error: (error as Error).message,
      ...(status === undefined ? {} : { status }),
    };
  }
}

/**
 * Waits `ms`, or rejects with the signal's reason once it aborts. The listener on the long-lived
 * shutdown signal is removed when the timer fires, so thousands of retries leave nothing behind.
 */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
