/**
 * Runs a connector's inbound side in exactly one hub process at a time: the process holding the
 * connector's lease runs it; the others stand by and try to take the lease four times a second.
 */
import type { Logger } from 'pino';
import { withDeadline } from './deadline';
import type { Lease } from './queue/lease';

/** How long a holding lasts unrenewed, how often it is renewed, and how often a standby tries. */
export interface LeaseTiming {
  ttlMs: number;
  renewEveryMs: number;
  retryEveryMs: number;
}

/**
 * Renewal every ttl/5, each call given at most renewEveryMs: the leader gives up (and stops its
 * inbound side) at the latest ~3 renewal periods after its last confirmed renewal, well before the
 * lease can expire and a standby take over, so two processes never receive at once. A standby
 * tries every 250 ms (one SET NX, and a read of the holding when it is taken): a broker holds only
 * so many messages for an offline session (Mosquitto: 1 000), so a standby on the same machine must
 * be receiving well within a second of its leader's crash (docs/performance.md, MQTT job).
 */
export const LEASE_TIMING: LeaseTiming = { ttlMs: 10000, renewEveryMs: 2000, retryEveryMs: 250 };

export type LeaderRole = 'leader' | 'standby';

export class Leadership {
  private current: LeaderRole = 'standby';
  private timer: NodeJS.Timeout | undefined;
  private ended = false;
  /** Start and stop of the inbound side, one after the other. */
  private transitions: Promise<void> = Promise.resolve();

  constructor(
    private readonly lease: Lease,
    private readonly inbound: { start(): Promise<void>; stop(): Promise<void> },
    private readonly logger: Logger,
    private readonly timing: LeaseTiming = LEASE_TIMING,
  ) {}

  /** This process's role now. */
  get role(): LeaderRole {
    return this.current;
  }

  /** The process that holds the lease now (this one or another), if any. */
  leader(): Promise<string | undefined> {
    return this.bounded(this.lease.currentHolder());
  }

  /**
   * Tries once at once, then keeps going: a lone process leads, and has begun starting its inbound
   * side, before this resolves. The start itself is not awaited (an MQTT SUBACK can take long).
   */
  async begin(): Promise<void> {
    await this.tick();
  }

  /** Stops the inbound side if it runs here, then gives the lease up for a standby to take. */
  async end(): Promise<void> {
    this.ended = true;
    clearTimeout(this.timer);
    if (this.current === 'leader') {
      this.current = 'standby';
      await this.transition('stop');
      await this.bounded(this.lease.release()).catch(() => undefined);
    }
    await this.transitions;
  }

  private async tick(): Promise<void> {
    if (this.ended) return;
    if (this.current === 'leader') {
      const kept = await this.bounded(this.lease.renew()).catch((error: Error) => {
        this.logger.warn({ lease: this.lease.key, error: error.message }, 'lease not renewed');
        return false;
      });
      if (this.ended) return;
      if (!kept) {
        this.current = 'standby';
        this.logger.warn({ lease: this.lease.key }, 'lease lost: inbound side stopped, standing by');
        void this.transition('stop');
      }
    } else {
      const taken = await this.bounded(this.lease.acquire()).catch(() => false);
      if (this.ended) {
        if (taken) await this.bounded(this.lease.release()).catch(() => undefined);
        return;
      }
      if (taken) {
        this.current = 'leader';
        this.logger.info({ lease: this.lease.key, holder: this.lease.holder }, 'lease taken: inbound side starting');
        void this.transition('start');
      }
    }
    const wait = this.current === 'leader' ? this.timing.renewEveryMs : this.timing.retryEveryMs;
    this.timer = setTimeout(() => void this.tick(), wait);
  }

  /** Queues a start or stop behind the previous one; the renewals go on meanwhile. */
  private transition(what: 'start' | 'stop'): Promise<void> {
    this.transitions = this.transitions.then(() =>
      this.inbound[what]().catch((error: Error) =>
        this.logger.error({ lease: this.lease.key, error: error.message }, `inbound side did not ${what}`),
      ),
    );
    return this.transitions;
  }

  /** A Redis call that does not answer within a renewal period counts as failed. */
  private bounded<T>(promise: Promise<T>): Promise<T> {
    const ms = this.timing.renewEveryMs;
    return withDeadline(promise, ms, () => new Error(`Redis did not answer within ${ms} ms`));
  }
}
