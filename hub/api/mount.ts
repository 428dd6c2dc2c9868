/** Mounts the operations of operations.ts, each behind its access check, from handlers by operationId. */
import type { Express, Request, RequestHandler } from 'express';
import type { HubContext } from '../context';
import { authorize } from './access';
import { expressPath, OPERATIONS } from './operations';

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
    app[operation.method](expressPath(operation.path), authorize(ctx, operation), ...handler);
  }
}

/** A path parameter of the operation (express 5 types them loosely). */
export const param = (req: Request, name: string): string => String(req.params[name]);
