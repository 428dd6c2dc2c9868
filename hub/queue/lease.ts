/**
 * A lease in Redis that at most one process holds at a time: taken with SET NX PX under a token
 * of its own, renewed and released only by its holder (compare-and-set in Lua), gone by itself
 * when the holder dies and stops renewing.
 */
import { randomBytes } from 'node:crypto';
import type { RedisClient } from './redis-connection';

/** PEXPIRE only while the key still holds our value. */
const RENEW = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0`;
/** DEL only while the key still holds our value. */
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

/** What a lease key holds: who holds it, and the token of this holding. */
interface LeaseValue {
  holder: string;
  token: string;
}

export class Lease {
  private value: string | undefined;

  /**
   * @param holder names the process (shown to operators as the leader).
   * @param ttlMs how long a holding lasts without renewal: the longest a dead holder blocks the others.
   */
  constructor(
    private readonly redis: RedisClient,
    readonly key: string,
    readonly holder: string,
    readonly ttlMs: number,
  ) {}

  /** Takes the lease if nobody holds it; true when this process holds it now. */
  async acquire(): Promise<boolean> {
    const value = JSON.stringify({ holder: this.holder, token: randomBytes(16).toString('hex') } satisfies LeaseValue);
    const answer = await this.redis.set(this.key, value, 'PX', this.ttlMs, 'NX');
    if (answer !== 'OK') return false;
    this.value = value;
    return true;
  }

  /** Extends this process's holding by the ttl; false when it lost the lease (expired, or taken since). */
  async renew(): Promise<boolean> {
    if (this.value === undefined) return false;
    const renewed = (await this.redis.eval(RENEW, 1, this.key, this.value, String(this.ttlMs))) === 1;
    if (!renewed) this.value = undefined;
    return renewed;
  }

  /** Gives the lease up, if this process still holds it, so a standby takes over at once. */
  async release(): Promise<void> {
    const value = this.value;
    this.value = undefined;
    if (value !== undefined) await this.redis.eval(RELEASE, 1, this.key, value);
  }

  /** The process holding the lease now, if any. */
  async currentHolder(): Promise<string | undefined> {
    const value = await this.redis.get(this.key);
    if (value === null) return undefined;
    try {
      return (JSON.parse(value) as LeaseValue).holder;
    } catch {
      return value;
    }
  }
}
