/**
 * HTTP delivery: one request per attempt, the Idempotency-Key header the same on every attempt.
 * A 4xx other than 408/409/425/429 means the target will never take the document.
 */
import type { Static } from '@sinclair/typebox';
import type { Connector, ConnectionTest, OutboundDocument, SendFailure, SendResult } from '../types';
import type { HttpConfig } from './index';

/** A failed delivery attempt; `permanent` when retrying the same document cannot help. */
export class HttpDeliveryError extends Error implements SendFailure {
  constructor(
    message: string,
    readonly permanent: boolean,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'HttpDeliveryError';
  }
}

const RETRYABLE_4XX = [408, 409, 425, 429];

export function httpOutbound(config: Static<typeof HttpConfig>, env: NodeJS.ProcessEnv = process.env): Connector {
  let lastOutcome: { ok: boolean; at: string; detail: string } | undefined;

  const authorization = (): string | undefined => {
    const auth = config.auth;
    if (!auth) return undefined;
    if (auth.type === 'bearer') {
      const token = env[auth.tokenEnv];
      if (!token) throw new HttpDeliveryError(`${auth.tokenEnv} is not set`, true);
      return `Bearer ${token}`;
    }
    const user = env[auth.usernameEnv];
    const password = env[auth.passwordEnv];
    if (user === undefined || password === undefined)
      throw new HttpDeliveryError(`${auth.usernameEnv}/${auth.passwordEnv} are not set`, true);
    return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  };

  return {
    start: async () => undefined,
    stop: async () => undefined,
    health: () =>
      lastOutcome === undefined
        ? { status: 'up', detail: 'no delivery yet' }
        : { status: lastOutcome.ok ? 'up' : 'degraded', detail: `${lastOutcome.detail} at ${lastOutcome.at}` },
    async test(): Promise<ConnectionTest> {
      try {
        const response = await fetch(config.url, {
          method: 'OPTIONS',
          signal: AbortSignal.timeout(config.timeoutMs ?? 10000),
        });
        return { ok: true, detail: `${config.url} answered HTTP ${response.status}` };
      } catch (error) {
        return { ok: false, detail: `${config.url}: ${describe(error)}` };
      }
    },
    async send(document: OutboundDocument, signal: AbortSignal): Promise<SendResult> {
      const auth = authorization();
      // An abort event never fires for a signal that is already aborted: the hub is stopping.
      signal.throwIfAborted();
      // The hub's shutdown signal lives as long as the process: it gets one listener per request,
      // removed in finally, and is never an AbortSignal.any input (Node 20 keeps every such
      // dependant for good, nodejs/node#55351). Only this request's short-lived signals are combined.
      const request = new AbortController();
      const onShutdown = () => request.abort(signal.reason);
      signal.addEventListener('abort', onShutdown, { once: true });
      const timeout = AbortSignal.timeout(config.timeoutMs ?? 10000);
      try {
        const response = await fetch(config.url, {
          method: config.method ?? 'POST',
          body: document.body,
          headers: {
            ...config.headers,
            ...document.metadata,
            'content-type': document.contentType,
            'idempotency-key': document.idempotencyKey,
            ...(auth ? { authorization: auth } : {}),
          },
          signal: AbortSignal.any([request.signal, timeout]),
        });
        const answer = (await response.text().catch(() => '')).slice(0, 65536);
        lastOutcome = { ok: response.ok, at: new Date().toISOString(), detail: `HTTP ${response.status}` };
        if (response.ok) return { status: response.status, body: answer };
        const permanent = response.status >= 400 && response.status < 500 && !RETRYABLE_4XX.includes(response.status);
        throw new HttpDeliveryError(`HTTP ${response.status} from ${config.url}`, permanent, response.status);
      } catch (error) {
        if (error instanceof HttpDeliveryError) throw error;
        signal.throwIfAborted();
        lastOutcome = { ok: false, at: new Date().toISOString(), detail: describe(error) };
        throw new HttpDeliveryError(`${describe(error)} (${config.url})`, false);
      } finally {
        signal.removeEventListener('abort', onShutdown);
      }
    },
  };
}

function describe(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return `${(error as Error).name}: ${cause?.code ?? cause?.message ?? (error as Error).message}`;
}
