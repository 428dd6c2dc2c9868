/** The hub's HTTP API (express 5): inbound, read and operations endpoints, health and metrics. */
import express, { type NextFunction, type Request, type Response } from 'express';
import type { HubContext } from '../context';
import { withDeadline } from '../deadline';
import { serveConsole } from './console';
import { fastDoor } from './door';
import { eventHandlers } from './events';
import { ApiError, sendError } from './errors';
import { downtimeHandlers } from './downtime';
import { inboundRouter } from './inbound';
import { mountOperations, type Handlers } from './mount';
import { operateHandlers } from './operate';
import { openApiDocument } from './operations';
import { peopleHandlers } from './people';
import { readHandlers } from './read';
import { HUB_VERSION } from '../version';

/** How long /readyz and /metrics wait for Redis or the database. */
const PROBE_TIMEOUT_MS = 700;

export function createApp(ctx: HubContext): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  // Plain inbound POSTs first, without express's routing and body parsing (the busiest route by far).
  app.use(fastDoor(ctx));

  app.use('/api/v1/inbound', inboundRouter(ctx));
  // The table does not change while the hub runs: the document is written once.
  const openApi = openApiDocument(HUB_VERSION);
  mountOperations(app, ctx, {
    ...probeHandlers(ctx),
    getOpenApi: [(_req, res) => void res.json(openApi)],
    ...peopleHandlers(ctx),
    ...readHandlers(ctx),
    ...downtimeHandlers(ctx),
    ...operateHandlers(ctx),
    ...eventHandlers(ctx),
  });
  app.use(serveConsole());
  app.use((_req, _res, next) => next(ApiError.of('NOT_FOUND')));

  app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    sendError(res, toApiError(error, ctx));
  });
  return app;
}

/** The probes and metrics, open to anyone (a load balancer, Prometheus). */
function probeHandlers(ctx: HubContext): Handlers {
  return {
    getHealth: [
      (_req, res) => {
        res.json({ status: 'ok' });
      },
    ],
    // Readiness answers within a second whatever Redis and the database do: a probe that hangs is no probe.
    getReadiness: [
      async (_req, res) => {
        const timeout = (what: string) => () => new Error(`${what} did not answer within ${PROBE_TIMEOUT_MS} ms`);
        const checks = await Promise.allSettled([
          ctx.redis.status === 'ready'
            ? withDeadline(ctx.redis.ping(), PROBE_TIMEOUT_MS, timeout('Redis'))
            : Promise.reject(new Error(`Redis is not connected (${ctx.redis.status})`)),
          withDeadline(ctx.db.query('SELECT 1 AS ok'), PROBE_TIMEOUT_MS, timeout('the database')),
        ]);
        const [redis, db] = checks.map((check) => (check.status === 'fulfilled' ? 'ok' : String(check.reason)));
        const ready = redis === 'ok' && db === 'ok';
        res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not ready', redis, database: db });
      },
    ],
    getMetrics: [
      async (_req, res) => {
        // Queue depths are left at their last value while Redis does not answer; the rest is served as usual.
        await Promise.allSettled(
          ctx.queues.all().map(async (queue) => {
            const counts = await withDeadline(
              queue.getJobCounts('waiting', 'delayed', 'active', 'prioritized'),
              PROBE_TIMEOUT_MS,
              () => new Error('Redis did not answer'),
            );
            ctx.metrics.queueDepth.set(
              { queue: queue.name },
              Object.values(counts).reduce((sum, count) => sum + count, 0),
            );
          }),
        );
        res.type(ctx.metrics.registry.contentType).send(await ctx.metrics.registry.metrics());
      },
    ],
  };
}

function toApiError(error: unknown, ctx: HubContext): ApiError {
  if (error instanceof ApiError) return error;
  const http = error as { type?: string; status?: number; limit?: number; length?: number };
  if (http.type === 'entity.too.large') {
    return ApiError.of(
      'BODY_TOO_LARGE',
      { limit: http.limit, length: http.length },
      `The body is larger than ${http.limit} bytes`,
    );
  }
  if (typeof http.status === 'number' && http.status >= 400 && http.status < 500) {
    return new ApiError('BAD_REQUEST', http.status, (error as Error).message);
  }
  ctx.logger.error({ err: error }, 'request failed');
  return ApiError.of('UNAVAILABLE');
}
