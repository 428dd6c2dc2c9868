/**
 * The door's fast path: `POST /api/v1/inbound/{system}` answered in JSON without express's routing
 * and body parsing, which cost the api process about a third of its time per payload. It takes only
 * the plain requests — a path with no encoded characters, a body without Content-Encoding, an Accept
 * that does not ask for XML — and leaves everything else to the express route (hub/api/inbound.ts),
 * which answers the same through the same checks (takeInbound) and knows the rest (gzip bodies,
 * ConfirmBOD answers). The first middleware of the app, so every request still goes through it.
 * Differences that no sender relies on: an answer carries no ETag, and a body over the limit is
 * answered 413 as soon as the limit is passed (the rest is read and dropped).
 */
import type { NextFunction, Request, Response } from 'express';
import type { HubContext } from '../context';
import { systemAuthError } from './auth';
import { ApiError, RETRY_AFTER_SECONDS, errorBody } from './errors';
import { takeInbound } from './inbound';

const PREFIX = '/api/v1/inbound/';

export function fastDoor(ctx: HubContext) {
  const systems = new Set(ctx.config.systems.map((system) => system.id));
  const limit = ctx.config.limits.maxBodyBytes;
  return (req: Request, res: Response, next: NextFunction): void => {
    const url = req.url;
    if (req.method !== 'POST' || !url.startsWith(PREFIX)) return next();
    const query = url.indexOf('?');
    const system = url.slice(PREFIX.length, query < 0 ? undefined : query);
    const encoding = req.headers['content-encoding'];
    if (
      system === '' ||
      /[/%]/.test(system) ||
      (encoding !== undefined && encoding !== 'identity') ||
      /xml/i.test(req.headers.accept ?? '')
    )
      return next();
    const refused = !systems.has(system)
      ? ApiError.of('UNKNOWN_SYSTEM', { system })
      : systemAuthError(ctx.credentials, req.headers.authorization, system);
    if (refused) return answer(res, refused.status, errorBody(refused));
    const declared = Number(req.headers['content-length']);
    if (declared > limit) return tooLarge(req, res, limit, declared);
    const chunks: Buffer[] = [];
    let received = 0;
    let over = false;
    req.on('data', (chunk: Buffer) => {
      if (over) return;
      received += chunk.length;
      if (received > limit) {
        over = true;
        tooLarge(req, res, limit);
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (over) return;
      const types = query < 0 ? [] : new URLSearchParams(url.slice(query + 1)).getAll('type');
      takeInbound(ctx, {
        system,
        contentType: req.headers['content-type'],
        body: Buffer.concat(chunks, received),
        type: types.length === 1 ? types[0] : undefined,
        idempotencyKey: req.headers['idempotency-key'] as string | undefined,
      }).then(
        (messageId) => answer(res, 202, { messageId }, messageId),
        (error: unknown) => {
          if (!(error instanceof ApiError)) return next(error);
          answer(res, error.status, errorBody(error));
        },
      );
    });
    // A sender that went away mid-body is answered as the express route answers it (400), not as a
    // failure of the hub; nothing of it was queued.
    req.on('error', () => {
      if (over) return;
      over = true;
      const aborted = ApiError.of('BAD_REQUEST', undefined, 'The request was aborted before its body ended');
      answer(res, aborted.status, errorBody(aborted));
    });
  };
}

/** A JSON answer, as express's res.json writes it (a 503 says when to try again, as sendError does). */
function answer(res: Response, status: number, body: unknown, messageId?: string): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(body);
  const headers: Record<string, string | number> = {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  };
  if (status === 503) headers['retry-after'] = String(RETRY_AFTER_SECONDS);
  if (messageId !== undefined) headers['x-handover-message-id'] = messageId;
  res.writeHead(status, headers).end(text);
}

/** 413 with the limit (and the declared length); what is still coming of the body is read and dropped. */
function tooLarge(req: Request, res: Response, limit: number, length?: number): void {
  const error = ApiError.of(
    'BODY_TOO_LARGE',
    { limit, ...(length === undefined ? {} : { length }) },
    `The body is larger than ${limit} bytes`,
  );
  answer(res, error.status, errorBody(error));
  req.resume();
}
