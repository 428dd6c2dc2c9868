/**
 * A real MQTT broker on a free local port, for the tests and the demo plant (Mosquitto when installed, else aedes in
 * process) that can be stopped and started again with its sessions kept, and a TCP proxy that can
 * cut a client off while the broker stays up. Set HANDOVER_TEST_MQTT_BROKER=aedes|mosquitto to choose.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { delimiter, join } from 'node:path';
import { createBroker } from 'aedes';
import { freePort } from '../../hub/net';

/** A broker for tests. `stop()` then `start()` is a restart on the same port with sessions kept. */
export interface TestBroker {
  readonly kind: 'mosquitto' | 'aedes';
  readonly port: number;
  readonly url: string;
  /** The newest MQTT version the broker speaks (aedes 0.51: 3.1.1 only). */
  readonly protocolVersion: 4 | 5;
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops for good and removes its files. */
  close(): Promise<void>;
}

/** A TCP proxy in front of a broker: `cut()` drops every connection and refuses new ones until `restore()`. */
export interface TcpProxy {
  readonly url: string;
  cut(): void;
  restore(): void;
  close(): Promise<void>;
}

/** The mosquitto executable, if installed (it lives in /usr/sbin, often not on a user's PATH). */
export function findMosquitto(): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin', '/opt/homebrew/sbin'];
  for (const dir of dirs.filter(Boolean)) {
    try {
      accessSync(join(dir, 'mosquitto'), constants.X_OK);
      return join(dir, 'mosquitto');
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

/** Mosquitto settings a test or benchmark may change. */
export interface MosquittoOptions {
  /** Topic filters the broker refuses publishes on (an ACL). */
  denyTopics?: string[];
  /** QoS 1/2 messages queued per client before Mosquitto drops; default 0 (no limit), Mosquitto's own default is 1000. */
  maxQueuedMessages?: number;
  /** Sessions and queued messages kept across a restart (written at a graceful stop); default true. */
  persistence?: boolean;
}

/**
 * Starts Mosquitto if installed (or asked for), otherwise aedes. `denyTopics`: topic filters the
 * broker refuses publishes on (an ACL); that needs Mosquitto, the only one answering MQTT 5 reason codes.
 */
export async function startTestBroker(options: MosquittoOptions = {}): Promise<TestBroker> {
  const wanted = process.env.HANDOVER_TEST_MQTT_BROKER;
  const mosquitto = wanted === 'aedes' ? undefined : findMosquitto();
  if (wanted === 'mosquitto' && !mosquitto)
    throw new Error('HANDOVER_TEST_MQTT_BROKER=mosquitto but it is not installed');
  if (options.denyTopics && !mosquitto)
    throw new Error('a broker that refuses publishes needs Mosquitto (apt-get install mosquitto)');
  const broker = mosquitto
    ? new MosquittoBroker(mosquitto, await freePort(), options)
    : new AedesBroker(await freePort());
  await broker.start();
  return broker;
}

/** Resolves once something accepts TCP connections on the port. */
async function waitForPort(port: number, timeoutMs: number, failed: () => Error | undefined): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const error = failed();
    if (error) throw error;
    const open = await new Promise<boolean>((resolve) => {
      const socket = createConnection(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

class MosquittoBroker implements TestBroker {
  readonly kind = 'mosquitto';
  readonly protocolVersion = 5;
  readonly url: string;
  private readonly dir = mkdtempSync(join(tmpdir(), 'handover-mosquitto-'));
  private process: ChildProcess | undefined;
  private log = '';

  constructor(
    private readonly executable: string,
    readonly port: number,
    options: MosquittoOptions = {},
  ) {
    this.url = `mqtt://127.0.0.1:${port}`;
    const denyTopics = options.denyTopics ?? [];
    if (denyTopics.length > 0) {
      const acl = ['topic readwrite #', ...denyTopics.map((topic) => `topic deny ${topic}`)];
      writeFileSync(join(this.dir, 'acl'), acl.join('\n') + '\n');
    }
    const config = [
      `listener ${port} 127.0.0.1`,
      'allow_anonymous true',
      `persistence ${options.persistence === false ? 'false' : 'true'}`,
      `persistence_location ${this.dir}/`,
      // The default (1000) drops QoS 1 messages for a subscriber that falls behind (STACK-NOTES.md).
      `max_queued_messages ${options.maxQueuedMessages ?? 0}`,
      // Started as root, Mosquitto would switch to user "mosquitto", which cannot write the temp dir.
      `user ${userInfo().username}`,
      'log_dest stderr',
      'log_type error',
      'log_type warning',
      ...(denyTopics.length > 0 ? [`acl_file ${join(this.dir, 'acl')}`] : []),
    ];
    writeFileSync(join(this.dir, 'mosquitto.conf'), config.join('\n') + '\n');
  }

  async start(): Promise<void> {
    const child = spawn(this.executable, ['-c', join(this.dir, 'mosquitto.conf')], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    this.process = child;
    let exited: Error | undefined;
    child.stderr?.on('data', (chunk: Buffer) => {
      this.log = (this.log + chunk.toString()).slice(-4000);
    });
    child.once('exit', (code) => {
      exited = new Error(`mosquitto exited with ${code}: ${this.log}`);
    });
    await waitForPort(this.port, 5000, () => exited);
  }

  async stop(): Promise<void> {
    const child = this.process;
    this.process = undefined;
    if (!child || child.exitCode !== null) return;
    // SIGTERM: Mosquitto writes its persistence file (sessions, queued messages) before it exits.
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
  }

  async close(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

class AedesBroker implements TestBroker {
  readonly kind = 'aedes';
  readonly protocolVersion = 4;
  readonly url: string;
  /** aedes' in-memory persistence, handed to each new broker: sessions survive the "restart". */
  private persistence: unknown;
  private server: Server | undefined;
  private broker: ReturnType<typeof createBroker> | undefined;
  private readonly sockets = new Set<Socket>();

  constructor(readonly port: number) {
    this.url = `mqtt://127.0.0.1:${port}`;
  }

  async start(): Promise<void> {
    const broker = createBroker(this.persistence === undefined ? {} : { persistence: this.persistence });
    this.persistence = (broker as unknown as { persistence: unknown }).persistence;
    const server = createServer((socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
      broker.handle(socket);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', resolve);
    });
    this.broker = broker;
    this.server = server;
  }

  async stop(): Promise<void> {
    const { server, broker } = this;
    this.server = undefined;
    this.broker = undefined;
    if (!server || !broker) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    await new Promise<void>((resolve) => broker.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }

  close(): Promise<void> {
    return this.stop();
  }
}

/** One MQTT packet seen by a proxy's tap. */
export interface TappedPacket {
  /** Numbers the proxied connections in the order they were accepted. */
  connection: number;
  from: 'client' | 'broker';
  /** The MQTT packet type: 1 CONNECT, 2 CONNACK, 3 PUBLISH, 4 PUBACK, 8 SUBSCRIBE, 9 SUBACK… */
  type: number;
  /** PUBLISH (QoS 1/2), PUBACK, SUBSCRIBE, SUBACK. */
  packetId?: number;
  /** CONNECT only. */
  clientId?: string;
  /** PUBLISH only. */
  qos?: number;
  topic?: string;
  payload?: Buffer;
  /** `performance.now()` when the proxy read it. */
  at: number;
}

/** PUBLISH fields (MQTT 3.1.1 and 5) and packet ids, parsed from one packet's bytes after the fixed header. */
function describePacket(type: number, flags: number, body: Buffer, version: number): Partial<TappedPacket> {
  if (type === 3) {
    const qos = (flags >> 1) & 3;
    const topicLength = body.readUInt16BE(0);
    let offset = 2 + topicLength;
    const topic = body.toString('utf8', 2, offset);
    let packetId: number | undefined;
    if (qos > 0) {
      packetId = body.readUInt16BE(offset);
      offset += 2;
    }
    if (version === 5) {
      const { value, length } = readVarint(body, offset);
      offset += length + value;
    }
    return { qos, topic, payload: body.subarray(offset), ...(packetId === undefined ? {} : { packetId }) };
  }
  if (type === 1) {
    // Protocol name, level, flags, keep-alive; MQTT 5 properties; then the client id.
    let offset = 2 + body.readUInt16BE(0) + 4;
    if (version === 5) {
      const { value, length } = readVarint(body, offset);
      offset += length + value;
    }
    return { clientId: body.toString('utf8', offset + 2, offset + 2 + body.readUInt16BE(offset)) };
  }
  return [4, 5, 6, 7, 8, 9, 10, 11].includes(type) && body.length >= 2 ? { packetId: body.readUInt16BE(0) } : {};
}

function readVarint(buffer: Buffer, offset: number): { value: number; length: number } | { value: -1; length: 0 } {
  let value = 0;
  for (let i = 0; i < 4; i += 1) {
    if (offset + i >= buffer.length) return { value: -1, length: 0 };
    const byte = buffer[offset + i]!;
    value += (byte & 0x7f) * 128 ** i;
    if (byte < 0x80) return { value, length: i + 1 };
  }
  throw new Error('malformed MQTT remaining length');
}

/** Splits one direction of a connection into MQTT packets, however TCP cut it. */
function packetReader(onPacket: (type: number, flags: number, body: Buffer) => void): (chunk: Buffer) => void {
  let pending: Buffer = Buffer.alloc(0);
  return (chunk) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    for (;;) {
      if (pending.length < 2) return;
      const { value, length } = readVarint(pending, 1);
      if (value < 0 || pending.length < 1 + length + value) return;
      const start = 1 + length;
      onPacket(pending[0]! >> 4, pending[0]! & 0x0f, pending.subarray(start, start + value));
      pending = pending.subarray(start + value);
    }
  };
}

/**
 * Starts a TCP proxy on a free port that forwards to 127.0.0.1:`targetPort`. `tap` sees every MQTT
 * packet in both directions (the bytes pass on unchanged): a client's PUBACKs, the broker's PUBLISHes.
 */
export async function startProxy(targetPort: number, tap?: (packet: TappedPacket) => void): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  let refusing = false;
  let connections = 0;
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
  };
  const server = createServer((client) => {
    track(client);
    if (refusing) {
      client.destroy();
      return;
    }
    const upstream = createConnection(targetPort, '127.0.0.1');
    track(upstream);
    if (tap) {
      const connection = (connections += 1);
      let version = 4;
      const read = (from: TappedPacket['from']) =>
        packetReader((type, flags, body) => {
          // CONNECT: protocol name, then the level (4: 3.1.1, 5: MQTT 5).
          if (type === 1) version = body[2 + body.readUInt16BE(0)] ?? 4;
          tap({ connection, from, type, ...describePacket(type, flags, body, version), at: performance.now() });
        });
      client.on('data', read('client'));
      upstream.on('data', read('broker'));
    }
    client.pipe(upstream).pipe(client);
    client.once('close', () => upstream.destroy());
    upstream.once('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `mqtt://127.0.0.1:${port}`,
    cut() {
      refusing = true;
      for (const socket of sockets) socket.destroy();
    },
    restore() {
      refusing = false;
    },
    close() {
      for (const socket of sockets) socket.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export { freePort };
