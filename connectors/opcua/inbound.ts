/**
 * The inbound side of the OPC UA connector: one client, one session and one subscription with a
 * monitored item per configured signal; every data change is emitted to the hub as a signal payload.
 * It outlives server restarts (see README.md, "Disconnects and restarts").
 */
import type {
  ClientMonitoredItemGroup,
  ClientSession,
  ClientSubscription,
  DataValue,
  OPCUACertificateManager,
  OPCUAClient,
} from 'node-opcua';
import type { ConnectorContext, ConnectorHealth } from '../types';
import { createCertificateManager, createClient, firstLine, settle } from './client';
import type { OpcuaSettings, SignalBinding } from './config';
import { ChangeSender } from './sender';
import { toInboundPayload, toSignalMessage } from './signal-message';
import { createSubscription, monitorSignals, silenceLimits, unmonitoredSignals } from './subscription';

/** Keeps a subscription to the configured signals alive and emits their changes. */
export class OpcuaInbound {
  private running = false;
  private certificateManager?: OPCUACertificateManager;
  private client?: OPCUAClient;
  private session?: ClientSession;
  private subscription?: ClientSubscription;
  private group?: ClientMonitoredItemGroup;
  /** True while the secure channel is open (false from connection_lost until node-opcua has reconnected). */
  private linkUp = false;
  private status: ConnectorHealth = { status: 'down', detail: 'not started' };
  private unmonitored: string[] = [];
  private lastHeard = 0;
  private watchdog?: NodeJS.Timeout;
  private starting?: Promise<void>;
  private rebuilding?: Promise<void>;
  private repairing?: Promise<void>;
  private wakeUp?: () => void;
  private readonly sender: ChangeSender;
  /** The time stamp of the last change emitted per node: a value the server sends again is not. */
  private readonly lastStamps = new Map<string, string>();

  constructor(
    private readonly settings: OpcuaSettings,
    private readonly context: ConnectorContext,
  ) {
    this.sender = new ChangeSender(context);
  }

  /** Connects and subscribes; when the server cannot be reached it keeps trying in the background. */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.sender.start();
    this.certificateManager = createCertificateManager(this.context.dataDir);
    this.starting = this.connect().catch(async (error: unknown) => {
      await this.teardown();
      this.rebuild(`cannot connect to ${this.settings.endpointUrl}: ${firstLine(error)}`);
    });
    await this.starting;
    this.starting = undefined;
  }

  /** Closes subscription, session and client, waits for payloads being queued, and leaves no timer. */
  async stop(): Promise<void> {
    this.running = false;
    this.wakeUp?.();
    await this.teardown();
    await Promise.all([this.starting, this.repairing, this.rebuilding]);
    await settle(() => this.sender.stop());
    if (this.certificateManager) await settle(() => this.certificateManager!.dispose());
    this.certificateManager = undefined;
    this.status = { status: 'down', detail: 'stopped' };
  }

  /** 'up' when subscribed, 'degraded' when some signals cannot be monitored or changes wait for the hub, 'down' otherwise. */
  health(): ConnectorHealth {
    if (this.status.status !== 'up') return this.status;
    const problems = [
      ...(this.unmonitored.length > 0 ? [`cannot monitor ${this.unmonitored.join(', ')}`] : []),
      ...this.sender.problems(),
    ];
    return problems.length > 0 ? { status: 'degraded', detail: problems.join('; ') } : this.status;
  }

  /** The session while the connection is up, for writes; undefined otherwise. */
  currentSession(): ClientSession | undefined {
    return this.linkUp ? this.session : undefined;
  }

  private setDown(detail: string): void {
    if (this.running) this.status = { status: 'down', detail };
  }

  private setUp(): void {
    this.lastHeard = Date.now();
    const count = this.settings.signals.length;
    const signals = `${count} signal${count === 1 ? '' : 's'}`;
    this.status = { status: 'up', detail: `subscribed to ${signals} at ${this.settings.endpointUrl}` };
  }

  /** Connects a new client, opens a session and subscribes; throws on any failure (the caller tears down). */
  private async connect(): Promise<void> {
    const client = createClient(this.settings, this.certificateManager!, 1);
    this.client = client;
    this.watchClient(client);
    await client.connect(this.settings.endpointUrl);
    if (!this.running) throw new Error('stopped');
    this.linkUp = true;
    const session = await client.createSession();
    this.session = session;
    this.watchSession(session);
    if (!this.running) throw new Error('stopped');
    await this.subscribe(session);
  }

  private async subscribe(session: ClientSession): Promise<void> {
    const { signals } = this.settings;
    const subscription = await createSubscription(session, this.settings);
    this.subscription = subscription;
    this.watchSubscription(subscription);
    const group = await monitorSignals(subscription, this.settings);
    group.on('changed', (_item, dataValue: DataValue, index: number) => {
      if (subscription === this.subscription && signals[index]) this.onChange(signals[index], dataValue);
    });
    this.group = group;
    this.checkItems(group);
    if (!this.running) throw new Error('stopped');
    this.setUp();
    this.startWatchdog(subscription);
  }

  private checkItems(group: ClientMonitoredItemGroup): void {
    this.unmonitored = unmonitoredSignals(this.settings.signals, group);
    if (this.unmonitored.length > 0) this.context.logger.warn({ items: this.unmonitored }, 'opcua: cannot monitor');
  }

  private onChange(signal: SignalBinding, dataValue: DataValue): void {
    this.lastHeard = Date.now();
    const message = toSignalMessage(signal, dataValue);
    // After a re-subscription the server sends every item's current value again, stamped as before.
    const stamp = message.sourceTimestamp ?? message.serverTimestamp;
    if (stamp !== null && this.lastStamps.get(signal.nodeId) === stamp) return;
    this.sender.send({
      payload: toInboundPayload(this.settings.system, message),
      taken: () => {
        if (stamp !== null) this.lastStamps.set(signal.nodeId, stamp);
      },
    });
  }

  private watchClient(client: OPCUAClient): void {
    const mine = () => this.running && client === this.client;
    const url = this.settings.endpointUrl;
    client.on('connection_lost', () => {
      if (!mine()) return;
      this.linkUp = false;
      this.setDown(`connection to ${url} lost; reconnecting`);
      this.context.logger.warn({ endpointUrl: url }, 'opcua: connection lost');
    });
    client.on('backoff', (count: number, delay: number) => {
      if (mine() && !this.linkUp) this.setDown(`${url} unreachable (attempt ${count + 1}); next try in ${delay} ms`);
    });
    client.on('after_reconnection', () => {
      if (mine()) this.setDown(`reconnected to ${url}; restoring session and subscription`);
    });
    client.on('connection_reestablished', () => {
      if (!mine()) return;
      this.linkUp = true;
      this.context.logger.info({ endpointUrl: url }, 'opcua: connection re-established');
      if (!this.subscription || !this.group) return;
      this.checkItems(this.group);
      this.setUp();
    });
    client.on('close', (error?: Error | null) => {
      if (mine() && error) this.rebuild(`client closed: ${firstLine(error)}`);
    });
  }

  private watchSession(session: ClientSession): void {
    session.on('session_closed', (statusCode) => {
      if (this.running && session === this.session) this.rebuild(`session closed (${statusCode.name})`);
    });
    session.on('session_restored', () => {
      if (!this.running || session !== this.session || !this.linkUp) return;
      this.context.logger.info('opcua: session restored');
      this.setUp();
    });
  }

  private watchSubscription(subscription: ClientSubscription): void {
    const mine = () => this.running && subscription === this.subscription;
    const heard = () => {
      if (mine()) this.lastHeard = Date.now();
    };
    subscription.on('keepalive', heard);
    subscription.on('received_notifications', heard);
    subscription.on('terminated', () => {
      if (mine()) this.resubscribe('subscription terminated');
    });
    subscription.on('error', (error: Error) => this.context.logger.warn({ err: error }, 'opcua: subscription error'));
    subscription.on('internal_error', (error: Error) => {
      this.context.logger.warn({ err: error }, 'opcua: subscription internal error');
    });
  }

  /**
   * node-opcua does not notice when the server drops a subscription while the connection stays up:
   * no more keep-alives arrive and nothing is raised. A subscription silent for several keep-alive
   * periods is re-created.
   */
  private startWatchdog(subscription: ClientSubscription): void {
    this.stopWatchdog();
    const { checkEveryMs, silenceMs } = silenceLimits(subscription);
    let lastCheck = Date.now();
    this.watchdog = setInterval(() => {
      const now = Date.now();
      // A check that comes late found the process itself busy (a long transaction, a GC pause): what
      // the server sent meanwhile is still unread on the socket. Judge at the next check, after it.
      const stalled = now - lastCheck > 2 * checkEveryMs;
      lastCheck = now;
      if (stalled || !this.linkUp || this.status.status === 'down' || now - this.lastHeard <= silenceMs) return;
      this.resubscribe(`no data or keep-alive for ${now - this.lastHeard} ms`);
    }, checkEveryMs);
  }

  private stopWatchdog(): void {
    clearInterval(this.watchdog);
    this.watchdog = undefined;
  }

  /** Replaces a subscription that is gone on the server, on the same session; rebuilds all if that fails. */
  private resubscribe(reason: string): void {
    const { session, subscription } = this;
    if (this.repairing || this.rebuilding || !session || !this.running) return;
    this.context.logger.warn({ reason }, 'opcua: re-creating the subscription');
    this.setDown(`${reason}; re-creating the subscription`);
    this.stopWatchdog();
    this.subscription = undefined;
    this.group = undefined;
    const repair = async () => {
      if (subscription) await settle(() => subscription.terminate());
      if (session !== this.session) return;
      await this.subscribe(session);
    };
    this.repairing = repair()
      .catch((error: unknown) => this.rebuild(`${reason}; re-creating it failed: ${firstLine(error)}`))
      .finally(() => {
        this.repairing = undefined;
      });
  }

  /** Starts (once) the loop that throws everything away and connects anew, with bounded backoff. */
  private rebuild(reason: string): void {
    if (!this.running || this.rebuilding) return;
    this.context.logger.warn({ reason }, 'opcua: connecting anew with backoff');
    this.setDown(reason);
    this.rebuilding = this.reconnectLoop(reason).finally(() => {
      this.rebuilding = undefined;
    });
  }

  private async reconnectLoop(reason: string): Promise<void> {
    await this.teardown();
    let delay = this.settings.reconnect.initialDelayMs;
    let lastError = reason;
    for (let attempt = 1; this.running; attempt += 1) {
      this.setDown(`${lastError}; attempt ${attempt} in ${delay} ms`);
      await this.sleep(delay);
      if (!this.running) return;
      try {
        await this.connect();
        this.context.logger.info({ attempt }, 'opcua: connected and subscribed again');
        return;
      } catch (error) {
        lastError = `cannot connect to ${this.settings.endpointUrl}: ${firstLine(error)}`;
        await this.teardown();
      }
      delay = Math.min(delay * 2, this.settings.reconnect.maxDelayMs);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wakeUp = done;
    });
  }

  /** Closes whatever exists; requests to the server only while the connection is up, each bounded. */
  private async teardown(): Promise<void> {
    const { client, session, subscription, linkUp } = this;
    this.stopWatchdog();
    this.client = undefined;
    this.session = undefined;
    this.subscription = undefined;
    this.group = undefined;
    this.linkUp = false;
    if (linkUp && subscription) await settle(() => subscription.terminate());
    if (linkUp && session) await settle(() => session.close());
    if (client) await settle(() => client.disconnect());
  }
}
