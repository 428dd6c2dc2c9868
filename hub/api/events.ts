/**
 * Server-sent events for the console: one timer per api process reads the shared flow buckets from
 * Redis every 2 s and sends them to every open stream, however many consoles are watching (no
 * polling storm). A stream starts with the last minute, then gets the newest buckets.
 */
import type { Response } from 'express';
import type { HubContext } from '../context';
import { BUCKET_SECONDS, readFlow } from '../pipeline/flow';
import { queryOf, type Handlers } from './mount';

const PUSH_MS = 2000;

export function eventHandlers(ctx: HubContext): Handlers {
  const streams = new Set<Response>();
  let timer: NodeJS.Timeout | undefined;
  const send = (res: Response, event: string, data: unknown) =>
    res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  const push = async () => {
    const buckets = await readFlow(ctx, 2 * BUCKET_SECONDS).catch(() => undefined);
    for (const res of streams) {
      if (buckets) send(res, 'flow', { bucketSeconds: BUCKET_SECONDS, buckets });
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
        streams.add(res);
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
