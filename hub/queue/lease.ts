/**
 * A lease in Redis that at most one process holds at a time: taken with SET NX PX under a token
 * of its own, renewed and released only by its holder (compare-and-set in Lua), gone by itself
 * when the holder dies and stops renewing — or taken over at once from a holder known to be dead
 * (a process of this host that no longer exists, as after a kill -9 and a restart).
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, readlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import type { RedisClient } from './redis-connection';

/** PEXPIRE only while the key still holds our value. */
const RENEW = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0`;
/** DEL only while the key still holds our value. */
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;
/** SET ours only while the key still holds the dead holder's value. */
const TAKE_OVER = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) end return false`;

/** What a lease key holds: who holds it, the token of this holding, and where its process runs. */
interface LeaseValue {
  holder: string;
  token: string;
  /** {@link processSpace} of the holder, when it has one. */
  space?: string;
  pid?: number;
}

let space: string | null | undefined;

/**
 * Names the set of processes whose liveness this process can see: host name, kernel boot and PID
 * namespace (Linux). Two processes with the same space see the same pids, so `kill(pid, 0)` tells
 * one whether the other still exists. Undefined where that cannot be known (no /proc).
 */
export function processSpace(): string | undefined {
  if (space === undefined) {
    try {
      const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
      space = `${hostname()}/${boot}/${readlinkSync('/proc/self/ns/pid')}`;
    } catch {
      space = null;
    }
  }
  return space ?? undefined;
}

/** True unless the process is known to be gone (EPERM: it exists, under another user). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
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

  /**
   * Takes the lease if nobody holds it, or if its holder is a process of this process's space that
   * no longer exists (it cannot be receiving); true when this process holds it now.
   */
  async acquire(): Promise<boolean> {
    const here = processSpace();
    const mine: LeaseValue = { holder: this.holder, token: randomBytes(16).toString('hex') };
    if (here !== undefined) Object.assign(mine, { space: here, pid: process.pid });
    const value = JSON.stringify(mine);
    if ((await this.redis.set(this.key, value, 'PX', this.ttlMs, 'NX')) === 'OK') {
      this.value = value;
      return true;
    }
    const current = await this.redis.get(this.key);
    if (current === null) return false;
    const held = parse(current);
    if (here === undefined || held?.space !== here || held.pid === undefined || held.pid === process.pid) return false;
    if (alive(held.pid)) return false;
    if ((await this.redis.eval(TAKE_OVER, 1, this.key, current, value, String(this.ttlMs))) !== 'OK') return false;
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
    return parse(value)?.holder ?? value;
  }
}

function parse(value: string): LeaseValue | undefined {
  try {
    return JSON.parse(value) as LeaseValue;
  } catch {
    return undefined;
  }
}
