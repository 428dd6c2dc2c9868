/**
 * The operator's connection test: a separate, short-lived clean-session client with the configured
 * URL and credentials, so the connector's persistent session is neither taken over nor changed.
 */
import { randomBytes } from 'node:crypto';
import { connect } from 'mqtt';
import type { ConnectionTest } from '../types';
import { readCredentials, type ResolvedConfig } from './config';

type Attempt = ConnectionTest & { code?: number };

/** A URL as it may appear in logs and answers: never with credentials. */
export function shown(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.username = '';
    parsed.password = '';
    return parsed.toString().replace(/\/$/, '');
  } catch {
    return url.replace(/\/\/[^@/]*@/, '//');
  }
}

function attempt(config: ResolvedConfig, protocolVersion: 4 | 5, credentials: object): Promise<Attempt> {
  const url = shown(config.url);
  return new Promise((resolve) => {
    const client = connect(config.url, {
      ...credentials,
      clientId: `${config.clientId}-test-${randomBytes(4).toString('hex')}`,
      clean: true,
      protocolVersion,
      reconnectPeriod: 0,
      connectTimeout: config.connectTimeoutMs,
    });
    let settled = false;
    const finish = (result: Attempt) => {
      if (settled) return;
      settled = true;
      client.end(true, () => resolve(result));
    };
    client.on('connect', () =>
      finish({ ok: true, detail: `connected to ${url} (MQTT ${protocolVersion === 5 ? '5' : '3.1.1'})` }),
    );
    client.on('error', (error: Error & { code?: unknown }) =>
      finish({
        ok: false,
        detail: `cannot connect to ${url}: ${error.message}`,
        ...(typeof error.code === 'number' ? { code: error.code } : {}),
      }),
    );
    client.on('close', () => finish({ ok: false, detail: `cannot connect to ${url}: closed before CONNACK` }));
  });
}

/** Connects, answers whether it worked and why not, and disconnects. A broker refusing MQTT 5 is asked for 3.1.1. */
export async function testConnection(config: ResolvedConfig): Promise<ConnectionTest> {
  let credentials: object;
  try {
    credentials = readCredentials(config);
  } catch (error) {
    return { ok: false, detail: (error as Error).message };
  }
  let result = await attempt(config, config.protocolVersion, credentials);
  if (!result.ok && config.protocolVersion === 5 && (result.code === 1 || result.code === 132)) {
    result = await attempt(config, 4, credentials);
  }
  return { ok: result.ok, detail: result.detail };
}
