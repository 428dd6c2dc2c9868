/** The read and operations API (admin token): traces, objects, audit, ownership, dead letters. */
import express, { type Router } from 'express';
import { isCanonicalType } from '../../schemas/index';
import { describeConnector, testable } from '../connectors';
import type { HubContext } from '../context';
import { replayDeadLetter } from '../pipeline/replay';
import { getDeadLetter, getObject, listDeadLetters, messageTrace, queryAudit, verifyAudit } from '../store/index';
import { requireAdmin } from './auth';
import { ApiError } from './errors';

export function readRouter(ctx: HubContext): Router {
  const router = express.Router();
  router.use(requireAdmin(ctx.credentials));

  router.get('/messages/:id', async (req, res) => {
    const trace = await messageTrace(ctx.db, req.params.id);
    if (!trace)
      throw ApiError.of('NOT_FOUND', { messageId: req.params.id }, 'No such message (it may still be queued)');
    res.json(trace);
  });

  router.get('/objects/:type/:key', async (req, res) => {
    if (!isCanonicalType(req.params.type))
      throw ApiError.of('NOT_FOUND', { type: req.params.type }, 'No such canonical type');
    const object = await getObject(ctx.db, req.params.type, req.params.key);
    if (!object) throw ApiError.of('NOT_FOUND', { type: req.params.type, key: req.params.key }, 'No such object');
    res.json(object);
  });

  router.get('/audit/verify', async (_req, res) => {
    const result = await verifyAudit(ctx.db);
    res.status(result.ok ? 200 : 409).json(result);
  });

  router.get('/audit', async (req, res) => {
    const text = (name: string) => (typeof req.query[name] === 'string' ? (req.query[name] as string) : undefined);
    const limit = Number(text('limit') ?? 1000);
    if (!Number.isInteger(limit) || limit < 1 || limit > 10000)
      throw ApiError.of('BAD_REQUEST', [{ path: '?limit', reason: '1 to 10000' }]);
    const records = await queryAudit(ctx.db, {
      ...(text('from') ? { from: text('from') } : {}),
      ...(text('to') ? { to: text('to') } : {}),
      ...(text('type') ? { type: text('type') } : {}),
      ...(text('system') ? { system: text('system') } : {}),
      ...(text('decision') ? { decision: text('decision') } : {}),
      ...(text('after') ? { afterSeq: Number(text('after')) } : {}),
      limit,
    });
    res.json({ records });
  });

  router.get('/ownership', (_req, res) => {
    res.json({ systems: ctx.config.systems, ownership: ctx.config.ownership });
  });

  router.get('/connectors', async (_req, res) => {
    res.json({ connectors: await Promise.all((ctx.connectors ?? []).map(describeConnector)) });
  });

  router.post('/connectors/:id/test', async (req, res) => {
    const running = (ctx.connectors ?? []).find((candidate) => candidate.id === req.params.id);
    const connector = running && testable(running);
    if (!connector) throw ApiError.of('NOT_FOUND', { connector: req.params.id }, 'No such connector in this process');
    res.json(await connector.test());
  });

  router.get('/dead-letters', async (req, res) => {
    res.json({ deadLetters: await listDeadLetters(ctx.db, { includeReplayed: req.query.all === 'true' }) });
  });

  router.post('/dead-letters/:id/replay', async (req, res) => {
    const letter = await getDeadLetter(ctx.db, req.params.id);
    if (!letter) throw ApiError.of('NOT_FOUND', { deadLetter: req.params.id }, 'No such dead letter');
    res.status(202).json(await replayDeadLetter(ctx, letter, String(res.locals.operator)));
  });

  return router;
}
