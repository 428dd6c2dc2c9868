/**
 * Pipelined intake of one MQTT connection: up to `window` received messages are on their way into
 * the hub at once, and each QoS 1/2 message is acknowledged only once the hub queued it, in the
 * order the broker sent them (MQTT 3.1.1 §4.6, MQTT 5 §4.6).
 */
import type { IPublishPacket, MqttClient } from 'mqtt';

/** The end of a message's way into the hub: resolves once queued, rejects if the hub refused it. */
export type Handling = Promise<void>;

interface Entry {
  packet: IPublishPacket;
  settled: boolean;
  error?: Error;
  /** QoS 2: MQTT.js sends PUBCOMP (and reads on) only when this is called. */
  release?: (error?: Error) => void;
}

/**
 * Given to MQTT.js's `handleMessage` callback for a QoS 1 message whose PUBACK the intake sends
 * itself, later: MQTT.js then sends none and parses the next packet at once.
 */
const ACKNOWLEDGED_LATER = new Error('acknowledged by the intake once the hub queued the message');

/**
 * MQTT.js 5.16 handles one packet at a time: the `handleMessage` callback both sends the PUBACK and
 * lets the next packet in, so awaiting the hub there makes intake one round trip per message. The
 * intake splits the two: it lets the next packet in at once (while fewer than `window` messages are
 * unsettled) and sends each PUBACK itself once that message and every one before it are queued.
 */
export class ConnectionIntake {
  private readonly entries: Entry[] = [];
  /** The MQTT.js callback of a message that found the window full: called once a slot frees. */
  private blocked: { packet: IPublishPacket; next: (error?: Error) => void } | undefined;
  private closed = false;
  private draining = false;
  private drained: (() => void)[] = [];
  private readonly gone = new AbortController();

  constructor(
    private readonly client: MqttClient,
    /** The connection this intake belongs to: nothing is acknowledged on another one. */
    readonly stream: MqttClient['stream'],
    private readonly window: number,
    /** Called once, for the first message the hub did not queue; later messages stay unacknowledged. */
    private readonly onRefused: (packet: IPublishPacket, error: Error) => void,
  ) {}

  /** False once the connection is gone, the hub refused a message, or a stop is draining it. */
  get accepting(): boolean {
    return !this.closed && !this.draining;
  }

  /** Aborted when the connection is gone: work not begun for it need not be done. */
  get signal(): AbortSignal {
    return this.gone.signal;
  }

  /** Takes no more messages; resolves once every message taken is settled (or the connection is gone). */
  drain(): Promise<void> {
    this.draining = true;
    if (this.closed || this.entries.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.drained.push(resolve));
  }

  /** Takes one message whose handling has begun; `next` is MQTT.js's callback for it. */
  accept(packet: IPublishPacket, handling: Handling, next: (error?: Error) => void): void {
    if (!this.accepting) {
      next(new Error('not acknowledged: the connection is closing'));
      return;
    }
    const entry: Entry = { packet, settled: false };
    this.entries.push(entry);
    handling.then(
      () => this.settle(entry),
      (error: Error) => this.settle(entry, error),
    );
    // MQTT.js handles a QoS 2 message at PUBREL; its PUBCOMP is the callback, sent in turn.
    if (packet.qos === 2) entry.release = next;
    else if (this.entries.length < this.window) readOn(packet, next);
    else this.blocked = { packet, next };
  }

  /** The connection is gone: nothing more is acknowledged, and MQTT.js is let go of. */
  close(reason: Error): void {
    if (this.closed) return;
    this.closed = true;
    this.gone.abort(reason);
    // With an error MQTT.js sends no acknowledgement; the superseded connection's parser stops.
    this.blocked?.next(reason);
    this.blocked = undefined;
    for (const entry of this.entries.splice(0)) entry.release?.(reason);
    for (const resolve of this.drained.splice(0)) resolve();
  }

  private settle(entry: Entry, error?: Error): void {
    entry.settled = true;
    if (error) entry.error = error;
    if (this.closed) return;
    while (this.entries[0]?.settled) {
      const head = this.entries.shift()!;
      if (head.error) {
        this.onRefused(head.packet, head.error);
        this.close(head.error);
        return;
      }
      this.acknowledge(head);
    }
    if (this.blocked && this.entries.length < this.window) {
      const { packet, next } = this.blocked;
      this.blocked = undefined;
      readOn(packet, next);
    }
    if (this.entries.length === 0) for (const resolve of this.drained.splice(0)) resolve();
  }

  private acknowledge(entry: Entry): void {
    if (entry.release) {
      entry.release();
      return;
    }
    if (entry.packet.qos !== 1) return;
    // Only on the connection the message came on: a PUBACK MQTT.js would queue while disconnected
    // would acknowledge whatever carries that packet id on the next connection.
    if (this.client.stream !== this.stream || !this.client.connected || this.stream.destroyed) return;
    sendPacket(this.client, { cmd: 'puback', messageId: entry.packet.messageId, reasonCode: 0 });
  }
}

/** Lets MQTT.js parse the next packet without acknowledging this one (the intake does, later). */
function readOn(packet: IPublishPacket, next: (error?: Error) => void): void {
  next(packet.qos === 1 ? ACKNOWLEDGED_LATER : undefined);
}

/** MQTT.js's own packet writer (what it calls for its PUBACKs); not part of its typed API. */
function sendPacket(client: MqttClient, packet: { cmd: 'puback'; messageId?: number; reasonCode: number }): void {
  (client as unknown as { _sendPacket(packet: object): void })._sendPacket(packet);
}
