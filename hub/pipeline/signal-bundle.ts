/**
 * Connectors' signal payloads for the context engine, bundled: the signal messages a system's
 * connectors emit in one event-loop turn (an OPC UA notification's values, the metrics of a Sparkplug
 * payload, a burst of MQTT messages) go to the hub as one message carrying an array of them. A raw
 * sample is not a business document: one message, receipt and audit record per sample cost the hub
 * its throughput (bench/context-throughput.ts: 3 227 signals/s one per message, 25 603 fifty per
 * message). Each emitter's promise resolves, with the bundle's message id, once the bundle is durably
 * queued, so a connector acknowledges its peer only then.
 */
import type { InboundPayload } from '../../connectors/types';
import type { HubContext } from '../context';
import { enqueueInbound } from './enqueue';

/**
 * Signals one bundle carries at most (about 250 bytes each, so some 500 KB): more emitted in one turn
 * make several. Large enough for one OPC UA notification of a busy line (280 work units sent about
 * 500 changes per 100 ms publishing interval): the engine orders a message's signals by source time,
 * and a notification split across two messages could have an item's earlier value in the second.
 */
export const BUNDLE_LIMIT = 2000;

interface Bundle {
  signals: unknown[];
  waiters: Array<{ resolve(messageId: string): void; reject(error: unknown): void }>;
}

/** Emits connector payloads: signal messages of the engine's sources bundled, everything else as it is. */
export class SignalBundler {
  private readonly open = new Map<string, Bundle>();

  constructor(private readonly ctx: HubContext) {}

  emit(payload: InboundPayload): Promise<string> {
    const signals = this.bundleable(payload);
    if (!signals) {
      // What the system emitted before goes first: the door keeps the order it is handed payloads in.
      this.flush(payload.system);
      return this.enqueue(payload.system, payload.body, payload.idempotencyKey);
    }
    let bundle = this.open.get(payload.system);
    if (!bundle) {
      bundle = { signals: [], waiters: [] };
      this.open.set(payload.system, bundle);
      setImmediate(() => this.flush(payload.system));
    }
    bundle.signals.push(...signals);
    const answer = new Promise<string>((resolve, reject) => bundle.waiters.push({ resolve, reject }));
    if (bundle.signals.length >= BUNDLE_LIMIT) this.flush(payload.system);
    return answer;
  }

  /**
   * The signal messages of a payload the engine takes (JSON from one of its sources: one signal
   * message or an array of them); undefined for anything else. The payload's Idempotency-Key is not
   * kept: the engine absorbs a repeated sample (same time and value) and finds an older one late.
   */
  private bundleable(payload: InboundPayload): unknown[] | undefined {
    const engine = this.ctx.engine;
    if (!engine || payload.contentType !== 'json' || !engine.config.sources.includes(payload.system)) return undefined;
    let parsed: unknown;
    try {
      parsed = JSON.parse(payload.body);
    } catch {
      return undefined;
    }
    const list = Array.isArray(parsed) ? parsed : [parsed];
    const signal = (item: unknown) =>
      typeof item === 'object' && item !== null && (item as { kind?: unknown }).kind === 'signal';
    return list.length > 0 && list.every(signal) ? list : undefined;
  }

  private flush(system: string): void {
    const bundle = this.open.get(system);
    if (!bundle) return;
    this.open.delete(system);
    this.enqueue(system, JSON.stringify(bundle.signals)).then(
      (messageId) => bundle.waiters.forEach((waiter) => waiter.resolve(messageId)),
      (error: unknown) => bundle.waiters.forEach((waiter) => waiter.reject(error)),
    );
  }

  private enqueue(system: string, body: string, key?: string): Promise<string> {
    return enqueueInbound(this.ctx, { system, contentType: 'json', body, receivedAt: new Date().toISOString() }, key);
  }
}
