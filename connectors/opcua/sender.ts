/**
 * Hands the subscription's changes to the hub in the order they came. Changes go in windows: what
 * arrived in one turn is sent together (the hub queues it as one job), and the next window goes only
 * once the hub answered for every change of the last, so a change sent while an earlier one still
 * waits for Redis can never be taken before it. OPC UA has no redelivery: a change the hub refuses
 * (Redis unreachable or slow to answer) is held, with every change after it, and sent again with
 * backoff until the hub takes it, so a short outage or a stall loses nothing and the engine still
 * sees each node's values in order. What is held is bounded: past HELD_LIMIT the oldest changes are
 * dropped, counted and logged.
 */
import type { ConnectorContext, InboundPayload } from '../types';
import { firstLine } from './client';

/** Changes held for the hub at most (about 250 bytes each). */
export const HELD_LIMIT = 100_000;
const FIRST_RETRY_MS = 250;
const MAX_RETRY_MS = 5000;

export interface Change {
  payload: InboundPayload;
  /** Called once the hub has durably queued the change. */
  taken(): void;
}

interface Held extends Change {
  seq: number;
}

export class ChangeSender {
  private seq = 0;
  /** Changes not sent yet (the next window) and refused ones, in arrival order. */
  private held: Held[] = [];
  private retryTimer?: NodeJS.Timeout;
  /** Sends of the current window still waiting for the hub's answer. */
  private retrying = 0;
  private retryDelayMs = FIRST_RETRY_MS;
  /** Whether the hub refused a change since the last retry began: the next waits, doubling up to MAX_RETRY_MS. */
  private refused = false;
  private lastError = '';
  private dropped = 0;
  private stopped = false;
  private readonly pending = new Set<Promise<unknown>>();

  constructor(private readonly context: Pick<ConnectorContext, 'emit' | 'logger'>) {}

  /** Holds a change for the next window: at the end of this turn, or once the hub answered for the last. */
  send(change: Change): void {
    this.hold({ ...change, seq: (this.seq += 1) });
  }

  /** What health reports: changes held and dropped, with the hub's last refusal. */
  problems(): string[] {
    return [
      // A window waiting for the end of the turn is not held back: only a refusal makes a problem.
      ...(this.held.length > 0 && this.lastError !== ''
        ? [
            `${this.held.length} change${this.held.length === 1 ? '' : 's'} held for the hub, retrying (${this.lastError})`,
          ]
        : []),
      ...(this.dropped > 0 ? [`${this.dropped} changes dropped, over ${HELD_LIMIT} held`] : []),
    ];
  }

  /** Sends (again) after a stop. */
  start(): void {
    this.stopped = false;
  }

  /** Waits for the sends in flight; what is still held is lost with the process, and logged. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    await Promise.allSettled([...this.pending]);
    if (this.held.length > 0)
      this.context.logger.warn({ held: this.held.length }, 'opcua: stopped with changes the hub had not taken');
  }

  private emit(entry: Held): void {
    this.retrying += 1;
    const sent = this.context.emit(entry.payload).then(
      () => {
        entry.taken();
        this.retryDelayMs = FIRST_RETRY_MS;
        if (this.held.length === 0) this.lastError = '';
      },
      (error: unknown) => {
        if (!this.refused && this.retryDelayMs === FIRST_RETRY_MS)
          this.context.logger.warn({ err: error }, 'opcua: the hub refused changes; holding them to send again');
        this.lastError = firstLine(error);
        this.refused = true;
        this.hold(entry);
      },
    );
    const settled = sent.finally(() => {
      this.pending.delete(settled);
      this.retrying -= 1;
      this.scheduleRetry();
    });
    this.pending.add(settled);
  }

  private hold(entry: Held): void {
    // Refusals come in the order of sending, mostly; the seq keeps arrival order where they do not.
    let at = this.held.length;
    while (at > 0 && this.held[at - 1]!.seq > entry.seq) at -= 1;
    this.held.splice(at, 0, entry);
    if (this.held.length > HELD_LIMIT) {
      this.held.shift();
      this.dropped += 1;
      if (this.dropped === 1 || this.dropped % 10_000 === 0)
        this.context.logger.error(
          { dropped: this.dropped },
          `opcua: over ${HELD_LIMIT} changes held; dropping the oldest`,
        );
    }
    this.scheduleRetry();
  }

  /**
   * Once the last window has its answers, sends what is held as the next: after a backoff when the
   * hub refused some of the last, at the end of this turn when it took all.
   */
  private scheduleRetry(): void {
    if (this.stopped || this.retryTimer || this.retrying > 0 || this.held.length === 0) return;
    let delay = 0;
    if (this.refused) {
      delay = this.retryDelayMs;
      this.retryDelayMs = Math.min(this.retryDelayMs * 2, MAX_RETRY_MS);
    }
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.refused = false;
      const held = this.held;
      this.held = [];
      for (const entry of held) this.emit(entry);
    }, delay);
  }
}
