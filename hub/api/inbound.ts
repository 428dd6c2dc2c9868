/**
 * POST /api/v1/inbound/{system}: cheap checks at the door (token, size, content type,
 * well-formedness, no DOCTYPE), then 202 {messageId} once the job is durably in Redis.
 */
import { randomUUID } from 'node:crypto';
import express, { type Request, type Response, type Router } from 'express';
import { B2mmlError, parseXml } from '../../schemas/b2mml/index';
import { isCanonicalType } from '../../schemas/index';
import type { HubContext } from '../context';
import type { IngestJob } from '../pipeline/jobs';
import { RECEIVED_SEQUENCE_KEY, idempotencyKey } from '../queue/queue-keys';
import { messageExists } from '../store/index';
import { requireSystem } from './auth';
import { ApiError } from './errors';

/** How long an Idempotency-Key is remembered at the door (the store remembers it for good). */
const IDEMPOTENCY_TTL_SECONDS = 7 * 24 * 3600;

export function inboundRouter(ctx: HubContext): Router {
  const router = express.Router();
  const systems = new Set(ctx.config.systems.map((system) => system.id));
  router.post(
    '/:system',
    (req, _res, next) => {
      if (!systems.has(String(req.params.system))) throw ApiError.of('UNKNOWN_SYSTEM', { system: req.params.system });
      next();
    },
    requireSystem(ctx.credentials),
    express.raw({ type: () => true, limit: ctx.config.limits.maxBodyBytes }),
    async (req: Request, res: Response) => {
      const system = String(req.params.system);
      try {
        const job = admit(req, system);
        const messageId = await enqueue(ctx, job, req.header('idempotency-key'));
        ctx.metrics.inbound.inc({ system, outcome: 'accepted' });
        res.status(202).json({ messageId });
      } catch (error) {
        ctx.metrics.inbound.inc({ system, outcome: error instanceof ApiError ? error.code : 'UNAVAILABLE' });
        throw error;
      }
    },
  );
  return router;
}

function admit(req: Request, system: string): Omit<IngestJob, 'messageId' | 'receivedSeq'> {
  const contentType = kindOf(req.header('content-type'));
  const body = Buffer.isBuffer(req.body) ? req.body.toString('utf8') : '';
  if (body.trim() === '') throw ApiError.of('BAD_REQUEST', [{ path: '/', reason: 'empty body' }], 'The body is empty');
  if (contentType === 'json') {
    try {
      JSON.parse(body);
    } catch (error) {
      throw ApiError.of('JSON_MALFORMED', [{ path: '/', reason: (error as Error).message }]);
    }
  } else {
    try {
      parseXml(body);
    } catch (error) {
      if (error instanceof B2mmlError) throw new ApiError(error.code, error.status, error.message, error.problems);
      throw error;
    }
  }
  const type = typeof req.query.type === 'string' ? req.query.type : undefined;
  if (type !== undefined && !isCanonicalType(type)) {
    throw ApiError.of('BAD_REQUEST', [{ path: '?type', reason: `"${type}" is not a canonical type` }]);
  }
  return { system, contentType, body, receivedAt: new Date().toISOString(), ...(type === undefined ? {} : { type }) };
}

function kindOf(header: string | undefined): 'json' | 'xml' {
  const mediaType = (header ?? '').split(';')[0]!.trim().toLowerCase();
  if (mediaType === 'application/json' || mediaType.endsWith('+json')) return 'json';
  if (mediaType === 'application/xml' || mediaType === 'text/xml' || mediaType.endsWith('+xml')) return 'xml';
  throw ApiError.of('UNSUPPORTED_MEDIA_TYPE', { contentType: header ?? null });
}

/**
 * Queues the message and returns its id. With an Idempotency-Key, a repeat gets the first
 * message id back; if the first request died between remembering the key and queueing, the
 * repeat queues it under that same id.
 */
async function enqueue(
  ctx: HubContext,
  partial: Omit<IngestJob, 'messageId' | 'receivedSeq'>,
  key: string | undefined,
): Promise<string> {
  let messageId: string = randomUUID();
  if (key !== undefined) {
    if (key.length === 0 || key.length > 255)
      throw ApiError.of('BAD_REQUEST', [{ path: 'Idempotency-Key', reason: '1 to 255 characters' }]);
    const redisKey = idempotencyKey(partial.system, key);
    const claimed = await ctx.redis.set(redisKey, messageId, 'EX', IDEMPOTENCY_TTL_SECONDS, 'NX');
    if (claimed === null) {
      const first = await ctx.redis.get(redisKey);
      if (first) {
        if ((await ctx.queues.ingest.getJob(first)) || (await messageExists(ctx.db, first))) return first;
        messageId = first;
      }
    }
  }
  const receivedSeq = await ctx.redis.incr(RECEIVED_SEQUENCE_KEY);
  const job: IngestJob = { ...partial, messageId, receivedSeq, ...(key === undefined ? {} : { idempotencyKey: key }) };
  await ctx.queues.ingest.add('ingest', job, { jobId: messageId });
  return messageId;
}
