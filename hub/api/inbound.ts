/**
 * POST /api/v1/inbound/{system}: cheap checks at the door (token, size, content type, UTF-8,
 * well-formedness, JSON depth, no DOCTYPE, a B2MML root), then 202 {messageId} once the job is
 * durably in Redis, or 503 QUEUE_UNAVAILABLE within a bounded wait when Redis is unreachable.
 */
import express, { type Request, type Response, type Router } from 'express';
import {
  B2mmlError,
  assertB2mmlRoot,
  originalApplicationArea,
  parseXml,
  writeConfirmBod,
  type ApplicationArea,
} from '../../schemas/b2mml/index';
import { formatProblems, type Problem } from '../../schemas/problem';
import { isCanonicalType } from '../../schemas/index';
import type { HubContext } from '../context';
import { enqueueInbound, IdempotencyKeyError, QueueUnavailableError, type InboundPartial } from '../pipeline/enqueue';
import { requireSystem } from './auth';
import { ApiError, RETRY_AFTER_SECONDS } from './errors';
import { tooDeep } from './json-depth';
import { decodeUtf8 } from './utf8';

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
      // B2MML senders that ask for XML get ConfirmBOD acknowledgements instead of JSON.
      const confirm = req.accepts(['application/json', 'application/xml']) === 'application/xml';
      const admitted: { area?: ApplicationArea } = {};
      const request: InboundRequest = {
        system,
        contentType: req.header('content-type'),
        body: Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0),
        type: typeof req.query.type === 'string' ? req.query.type : undefined,
        idempotencyKey: req.header('idempotency-key'),
      };
      try {
        const messageId = await takeInbound(ctx, request, admitted);
        res.status(202).setHeader('x-handover-message-id', messageId);
        if (confirm)
          res
            .type('application/xml')
            .send(writeConfirmBod(admitted.area ?? now(), { description: `Accepted: queued as message ${messageId}` }));
        else res.json({ messageId });
      } catch (error) {
        if (!(confirm && error instanceof ApiError)) throw error;
        const problems = Array.isArray(error.details)
          ? (error.details as Problem[])
          : [{ path: '/', reason: error.message }];
        if (error.status === 503) res.setHeader('retry-after', String(RETRY_AFTER_SECONDS));
        res
          .status(error.status)
          .type('application/xml')
          .send(
            writeConfirmBod(admitted.area ?? now(), {
              problems,
              description: `Rejected (${error.code}):\n${formatProblems(problems)}`,
            }),
          );
      }
    },
  );
  return router;
}

/** One inbound POST as the door reads it, whichever way it came in (hub/api/door.ts, or express). */
export interface InboundRequest {
  system: string;
  contentType: string | undefined;
  body: Buffer;
  /** `?type=`, given once. */
  type: string | undefined;
  idempotencyKey: string | undefined;
}

/**
 * Checks a payload at the door and queues it: its message id once it is durably in Redis, or the
 * ApiError to answer. `admitted` gets the B2MML application area, for a ConfirmBOD.
 */
export async function takeInbound(
  ctx: HubContext,
  request: InboundRequest,
  admitted: { area?: ApplicationArea } = {},
): Promise<string> {
  const { system } = request;
  try {
    const messageId = await enqueueInbound(ctx, admit(ctx, request, admitted), request.idempotencyKey);
    ctx.metrics.inbound.inc({ system, outcome: 'accepted' });
    return messageId;
  } catch (caught) {
    const error =
      caught instanceof IdempotencyKeyError
        ? ApiError.of('BAD_REQUEST', [{ path: 'Idempotency-Key', reason: caught.message }])
        : caught instanceof QueueUnavailableError
          ? ApiError.of('QUEUE_UNAVAILABLE', { reason: caught.message })
          : caught;
    ctx.metrics.inbound.inc({ system, outcome: error instanceof ApiError ? error.code : 'UNAVAILABLE' });
    throw error;
  }
}

function now(): ApplicationArea {
  return { creationDateTime: new Date().toISOString() };
}

function admit(ctx: HubContext, request: InboundRequest, admitted: { area?: ApplicationArea }): InboundPartial {
  const { system } = request;
  const contentType = kindOf(request.contentType);
  const body = utf8Text(request.body);
  if (body.trim() === '') throw ApiError.of('BAD_REQUEST', [{ path: '/', reason: 'empty body' }], 'The body is empty');
  if (contentType === 'json') {
    try {
      JSON.parse(body);
    } catch (error) {
      throw ApiError.of('JSON_MALFORMED', [{ path: '/', reason: (error as Error).message }]);
    }
    // Later stages (validation, mappings, canonical JSON) recurse; a hostile depth must stop here.
    const limit = ctx.config.limits.maxJsonDepth;
    const deep = tooDeep(body, limit);
    if (deep) {
      throw ApiError.of(
        'JSON_TOO_DEEP',
        { limit, path: deep.path, offset: Buffer.byteLength(body.slice(0, deep.index)) },
        `The JSON nests deeper than ${limit} levels at ${deep.path}`,
      );
    }
  } else {
    try {
      const root = parseXml(body);
      // A system with XML mappings may send any root they match; otherwise only B2MML can be read.
      if (!ctx.mappings.hasInbound(system, 'xml')) assertB2mmlRoot(root);
      admitted.area = originalApplicationArea(root);
    } catch (error) {
      if (error instanceof B2mmlError) throw new ApiError(error.code, error.status, error.message, error.problems);
      throw error;
    }
  }
  const { type } = request;
  if (type !== undefined && !isCanonicalType(type)) {
    throw ApiError.of('BAD_REQUEST', [{ path: '?type', reason: `"${type}" is not a canonical type` }]);
  }
  return { system, contentType, body, receivedAt: new Date().toISOString(), ...(type === undefined ? {} : { type }) };
}

/** The body as sent, or 400 BODY_NOT_UTF8 naming the first bad byte: never text with U+FFFD put in. */
function utf8Text(bytes: Buffer): string {
  const decoded = decodeUtf8(bytes);
  if ('text' in decoded) return decoded.text;
  throw ApiError.of(
    'BODY_NOT_UTF8',
    { offset: decoded.offset },
    `The body is not valid UTF-8: the byte at offset ${decoded.offset} starts no valid sequence`,
  );
}

function kindOf(header: string | undefined): 'json' | 'xml' {
  const mediaType = (header ?? '').split(';')[0]!.trim().toLowerCase();
  if (mediaType === 'application/json' || mediaType.endsWith('+json')) return 'json';
  if (mediaType === 'application/xml' || mediaType === 'text/xml' || mediaType.endsWith('+xml')) return 'xml';
  throw ApiError.of('UNSUPPORTED_MEDIA_TYPE', { contentType: header ?? null });
}
