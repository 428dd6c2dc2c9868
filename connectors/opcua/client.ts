/**
 * Building and closing node-opcua clients the same way everywhere: security mode None, a PKI of the
 * connector's own under its data directory, and teardown steps that cannot hang.
 */
import { join } from 'node:path';
import {
  AttributeIds,
  MessageSecurityMode,
  OPCUACertificateManager,
  OPCUAClient,
  SecurityPolicy,
  type ClientSession,
} from 'node-opcua';
import type { ConnectionTest } from '../types';
import type { OpcuaSettings } from './config';

/** How long one teardown step (terminate, close, disconnect) may take before it is given up. */
export const TEARDOWN_TIMEOUT_MS = 3000;

/** How long a connection test may take in all. */
export const TEST_TIMEOUT_MS = 10000;

/**
 * A certificate manager whose folders (own/, trusted/, rejected/…) live under `<dataDir>/opcua-pki`,
 * never under the per-user default that every node-opcua program on the machine would share.
 */
export function createCertificateManager(dataDir: string): OPCUACertificateManager {
  return new OPCUACertificateManager({
    rootFolder: join(dataDir, 'opcua-pki'),
    automaticallyAcceptUnknownCertificate: true,
    keySize: 2048,
  });
}

/**
 * A client for the configured endpoint. `retries` is how often a first connect is retried before it
 * fails; any value above 0 also turns on node-opcua's own reconnection once connected (which then
 * retries for ever, waiting up to `reconnect.maxDelayMs` between attempts).
 */
export function createClient(
  settings: OpcuaSettings,
  certificateManager: OPCUACertificateManager,
  retries: number,
): OPCUAClient {
  const keepAliveMs = Math.max(1000, settings.publishingIntervalMs * 2);
  return OPCUAClient.create({
    applicationName: 'Handover',
    clientName: `handover-${settings.system}`,
    endpointMustExist: false,
    securityMode: MessageSecurityMode.None,
    securityPolicy: SecurityPolicy.None,
    clientCertificateManager: certificateManager,
    connectionStrategy: {
      initialDelay: settings.reconnect.initialDelayMs,
      maxDelay: settings.reconnect.maxDelayMs,
      maxRetry: retries,
    },
    // A subscription alone does not notice that the server closed the session; a periodic read does,
    // and node-opcua then opens a new session and re-creates the subscriptions on it.
    keepSessionAlive: true,
    keepAliveInterval: keepAliveMs,
    requestedSessionTimeout: Math.max(60000, keepAliveMs * 10),
  });
}

/** Runs a step that must not hang a teardown; its failure or slowness is reported, not thrown. */
export async function settle(
  step: () => Promise<unknown>,
  timeoutMs = TEARDOWN_TIMEOUT_MS,
): Promise<Error | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<Error>((resolve) => {
    timer = setTimeout(() => resolve(new Error(`gave up after ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([
      step().then(
        () => undefined,
        (error: unknown) => (error instanceof Error ? error : new Error(String(error))),
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** The first line of an error's message (node-opcua's messages run over several lines). */
export function firstLine(error: unknown): string {
  // Not `instanceof Error`: errors from another realm (a worker, a test sandbox) or without a message exist.
  const raw = (error as { message?: unknown } | null | undefined)?.message;
  const message = typeof raw === 'string' && raw !== '' ? raw : String(error);
  return message.split('\n').find((line) => line.trim() !== '') ?? message;
}

async function readCurrentTime(session: ClientSession): Promise<string> {
  const dataValue = await session.read({ nodeId: 'ns=0;i=2258', attributeId: AttributeIds.Value });
  if (dataValue.statusCode.value !== 0) throw new Error(`reading CurrentTime answered ${dataValue.statusCode.name}`);
  const time = dataValue.value.value as unknown;
  return time instanceof Date ? time.toISOString() : String(time);
}

/**
 * Connects once (no retry), opens a session, reads the server's CurrentTime (ns=0;i=2258) and
 * disconnects. Never throws: a failure is `{ ok: false }` with the reason.
 */
export async function testConnection(settings: OpcuaSettings, dataDir: string): Promise<ConnectionTest> {
  const certificateManager = createCertificateManager(dataDir);
  const client = createClient(settings, certificateManager, 0);
  let session: ClientSession | undefined;
  const attempt = async (): Promise<string> => {
    await client.connect(settings.endpointUrl);
    session = await client.createSession();
    return readCurrentTime(session);
  };
  let currentTime: string | undefined;
  const failure = await settle(async () => {
    currentTime = await attempt();
  }, TEST_TIMEOUT_MS);
  if (session) await settle(() => session!.close());
  await settle(() => client.disconnect());
  await settle(() => certificateManager.dispose());
  return failure
    ? { ok: false, detail: `${settings.endpointUrl}: ${firstLine(failure)}` }
    : { ok: true, detail: `${settings.endpointUrl}: connected, server CurrentTime ${currentTime}` };
}
