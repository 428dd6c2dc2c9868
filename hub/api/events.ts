/**
 * Server-sent events for the console: one timer per api process reads the shared flow buckets from
 * Redis every 2 s and sends them to every open stream, however many consoles are watching (no
 * polling storm). A stream starts with the last minute, then gets the newest buckets. Before each
 * push every stream's caller is looked up again: a stream whose user was removed, whose session
 * expired or was closed, or whose role no longer may watch, gets a `closed` event and ends.
 */
import type { Request, Response } from 'express';
import type { HubContext } from '../context';
import { BUCKET_SECONDS, readFlow } from '../pipeline/flow';
import { callerOf } from './access';
import { ApiError } from './errors';
import { queryOf, type Handlers } from './mount';
import { allowedRoles, OPERATIONS } from './operations';

const WATCHERS = allowedRoles(OPERATIONS.find((operation) => operation.operationId === 'streamEvents')!);

const PUSH_MS = 2000;

export function eventHandlers(ctx: HubContext): Handlers {
  const streams = new Map<Response, Request>();
  let timer: NodeJS.Timeout | undefined;
  const send = (res: Response, event: string, data: unknown) =>
    res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  /** The code a stream ends with when its caller may no longer watch; undefined while they may. */
  const revoked = async (req: Request): Promise<string | undefined> => {
    try {
      const caller = await callerOf(ctx, req);
      return caller.kind === 'user' && WATCHERS.includes(caller.role) ? undefined : 'FORBIDDEN_ROLE';
    } catch (error) {
      // The store not answering is not the caller's fault: the stream stays, and is checked next time.
      return error instanceof ApiError ? error.code : undefined;
    }
  };
  /** Whether a push is still running: the next tick skips rather than writing beside it. */
  let pushing = false;
  const push = async () => {
    if (pushing) return;
    pushing = true;
    try {
      await pushOnce();
    } finally {
      pushing = false;
    }
  };
  const pushOnce = async () => {
    const buckets = await readFlow(ctx, 2 * BUCKET_SECONDS).catch(() => undefined);
    for (const [res, req] of streams) {
      const code = await revoked(req);
      // Gone while its caller was looked up: nothing more is written to it.
      if (!streams.has(res) || res.writableEnded || res.destroyed) continue;
      if (code) {
        send(res, 'closed', { code });
        streams.delete(res);
        res.end();
      } else if (buckets) send(res, 'flow', { bucketSeconds: BUCKET_SECONDS, buckets });
      else res.write(': redis did not answer\n\n');
    }
  };
  return {
    getFlow: [
      async (_req, res) => {
        const minutes = Number(queryOf<{ minutes?: string }>(res).minutes ?? 60);
        const seconds = Math.min(Math.max(minutes, 1), 120) * 60;
        res.json({ bucketSeconds: BUCKET_SECONDS, buckets: await readFlow(ctx, seconds) });
      },
    ],
    streamEvents: [
      async (req, res) => {
        res.writeHead(200, {
          'content-type': 'text/event-stream; charset=utf-8',
          'cache-control': 'no-store',
          connection: 'keep-alive',
          'x-accel-buffering': 'no',
        });
        res.write('retry: 3000\n\n');
        send(res, 'flow', { bucketSeconds: BUCKET_SECONDS, buckets: await readFlow(ctx, 60).catch(() => []) });
        // Gone while Redis answered (its close event came before a listener was there): nothing to keep.
        if (res.destroyed || req.destroyed) return;
        streams.set(res, req);
        // A write to a stream the client just closed must not take the process down.
        res.on('error', () => streams.delete(res));
        timer ??= setInterval(() => void push(), PUSH_MS);
        timer.unref();
        req.on('close', () => {
          streams.delete(res);
          if (streams.size === 0 && timer) {
            clearInterval(timer);
            timer = undefined;
          }
        });
      },
    ],
  };
}
