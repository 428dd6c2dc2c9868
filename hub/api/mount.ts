/** Mounts the operations of operations.ts, each behind its access check, from handlers by operationId. */
import express, { type Express, type Request, type RequestHandler } from 'express';
import type { HubContext } from '../context';
import { authorize } from './access';
import { ApiError } from './errors';
import { expressPath, OPERATIONS, type Operation } from './operations';
import { problemsOf } from './schemas';

/** What runs for an operation after its access check (body parsers first, then the handler). */
export type Handlers = Record<string, RequestHandler[]>;

/** Operations mounted elsewhere: the door's inbound route, which has its own fast path and router. */
const MOUNTED_ELSEWHERE = new Set(['postInbound']);

export function mountOperations(app: Express, ctx: HubContext, handlers: Handlers): void {
  const declared = new Set(OPERATIONS.map((operation) => operation.operationId));
  const stray = Object.keys(handlers).filter((id) => !declared.has(id));
  if (stray.length > 0) throw new Error(`handlers without an operation in operations.ts: ${stray.join(', ')}`);
  for (const operation of OPERATIONS) {
    if (MOUNTED_ELSEWHERE.has(operation.operationId)) continue;
    const handler = handlers[operation.operationId];
    if (!handler) throw new Error(`operation ${operation.operationId} has no handler`);
    app[operation.method](expressPath(operation.path), authorize(ctx, operation), ...checks(operation), ...handler);
  }
}

/**
 * The operation's body parser and its schema checks, after its access check: a body or query its
 * schemas refuse is answered 400 BAD_REQUEST with every problem (`/reason: …`, `?limit: …`). The
 * handler finds the body checked in `req.body` and the query, without empty parameters (what a form
 * leaves blank), in `res.locals.query`.
 */
function checks(operation: Operation): RequestHandler[] {
  const { body, query } = operation;
  const handlers: RequestHandler[] = [];
  if (body) {
    handlers.push(express.json({ limit: body.limit }), (req, _res, next) => {
      if (req.body === undefined && body.optional) req.body = {};
      const problems =
        req.body === undefined
          ? [{ path: '/', reason: 'required: a JSON object (Content-Type: application/json)' }]
          : problemsOf(body.schema, req.body);
      next(problems.length > 0 ? ApiError.of('BAD_REQUEST', problems) : undefined);
    });
  }
  handlers.push((req, res, next) => {
    const given = Object.fromEntries(Object.entries(req.query).filter(([, value]) => value !== ''));
    res.locals['query'] = given;
    const problems = query ? problemsOf(query, given, '?') : [];
    next(problems.length > 0 ? ApiError.of('BAD_REQUEST', problems) : undefined);
  });
  return handlers;
}

/** The operation's query parameters as its schema checked them (see `checks`). */
export const queryOf = <T = Record<string, string>>(res: { locals: Record<string, unknown> }): T =>
  res.locals['query'] as T;

/** A path parameter of the operation (express 5 types them loosely). */
export const param = (req: Request, name: string): string => String(req.params[name]);
