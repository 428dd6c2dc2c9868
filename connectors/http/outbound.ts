/**
 * HTTP delivery: one request per attempt over keep-alive connections, the Idempotency-Key header the
 * same on every attempt.
 * A 4xx other than 408/409/425/429 means the target will never take the document.
 */
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
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
  const target = new URL(config.url);
  // Keep-alive: a partition's deliveries reuse their connections instead of opening one each. No
  // socket limit: the deliver workers bound the requests in flight, and a request waiting for a
  // socket would spend its timeout unsent.
  const agent = new (target.protocol === 'https:' ? HttpsAgent : HttpAgent)({ keepAlive: true });
  // An idle connection never keeps a stopping process alive.
  agent.on('free', (socket) => socket.unref());

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
      try {
        const response = await post(
          target,
          agent,
          {
            method: config.method ?? 'POST',
            headers: {
              ...config.headers,
              ...document.metadata,
              'content-type': document.contentType,
              'idempotency-key': document.idempotencyKey,
              ...(auth ? { authorization: auth } : {}),
            },
            body: document.body,
            timeoutMs: config.timeoutMs ?? 10000,
          },
          signal,
        );
        const ok = response.status >= 200 && response.status < 300;
        lastOutcome = { ok, at: new Date().toISOString(), detail: `HTTP ${response.status}` };
        if (ok) return { status: response.status, body: response.body };
        const permanent = response.status >= 400 && response.status < 500 && !RETRYABLE_4XX.includes(response.status);
        throw new HttpDeliveryError(`HTTP ${response.status} from ${config.url}`, permanent, response.status);
      } catch (error) {
        if (error instanceof HttpDeliveryError) throw error;
        signal.throwIfAborted();
        lastOutcome = { ok: false, at: new Date().toISOString(), detail: describe(error) };
        throw new HttpDeliveryError(`${describe(error)} (${config.url})`, false);
      }
    },
    async stop() {
      agent.destroy();
    },
  };
}

/** The most of an answer kept (for the delivery's record); the rest is read and dropped. */
const MAX_ANSWER = 65536;

interface PostOptions {
  method: string;
  headers: Record<string, string>;
  body: string;
  timeoutMs: number;
}

/**
 * One request over the connector's keep-alive agent (node:http rather than fetch: a fraction of the
 * CPU per request, which a busy target partition pays thousands of times a second). The hub's
 * shutdown signal gets one listener per request, removed when the request ends.
 */
function post(
  url: URL,
  agent: HttpAgent,
  options: PostOptions,
  signal: AbortSignal,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const body = Buffer.from(options.body, 'utf8');
    const request = send(url, {
      method: options.method,
      agent,
      headers: { ...options.headers, 'content-length': String(body.length) },
    });
    const onShutdown = () => request.destroy(signal.reason as Error);
    signal.addEventListener('abort', onShutdown, { once: true });
    const timer = setTimeout(() => {
      const timeout = new Error(`no answer within ${options.timeoutMs} ms`);
      timeout.name = 'TimeoutError';
      request.destroy(timeout);
    }, options.timeoutMs);
    const finish = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onShutdown);
    };
    request.on('error', (error) => {
      finish();
      reject(error);
    });
    request.on('response', (response) => {
      const chunks: Buffer[] = [];
      let kept = 0;
      response.on('data', (chunk: Buffer) => {
        if (kept >= MAX_ANSWER) return;
        chunks.push(chunk);
        kept += chunk.length;
      });
      response.on('error', (error) => {
        finish();
        reject(error);
      });
      response.on('end', () => {
        finish();
        resolve({
          status: response.statusCode ?? 0,
          body: Buffer.concat(chunks).toString('utf8').slice(0, MAX_ANSWER),
        });
      });
    });
    request.end(body);
  });
}

function describe(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return `${(error as Error).name}: ${cause?.code ?? cause?.message ?? (error as Error).message}`;
}
