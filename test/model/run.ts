/**
 * Runs seeded histories against a running hub and compares what it stored, decided, delivered and
 * audited with the sequential model. Returns every difference found (empty when all holds).
 */
import type { Received } from '../support/http-target';
import { history, MODEL_RULES, scopeHistory, type History, type Post, type Writer } from './histories';
import { equal, Model } from './rules';

/** A hub to test: the API process's URL, the tokens, and what its target systems received. */
export interface Topology {
  name: string;
  url: string;
  adminToken: string;
  tokens: Record<Writer, string>;
  /** Requests the targets answered 2xx, in the order they arrived; paths /erp, /mes, /bi. */
  received: Received[];
  /** Makes the target refuse (503) every request to `/bi` whose key hashes to a failing bucket. */
  setFaulty(faulty: boolean): void;
}

export interface RunOptions {
  seed: number;
  /** Objects (histories) in the batch, all in flight at once. */
  objects: number;
  /** Requests in flight at once. */
  concurrency: number;
  /** Post one request at a time and check every single decision against the model. */
  sequential?: boolean;
  timeoutMs?: number;
}

export interface RunResult {
  problems: string[];
  posts: number;
  replays: { queued: number; refused: number };
}

interface Sent {
  post: Post;
  messageId?: string;
  status: number;
  error?: string;
}

/** Runs one batch and returns every way the hub differs from the model. */
export async function runHistories(topology: Topology, options: RunOptions): Promise<RunResult> {
  const problems: string[] = [];
  const at = `[${topology.name} seed=${options.seed}]`;
  const histories = Array.from({ length: options.objects }, (_, index) => history(options.seed, index));
  // Scope moves make decisions depend on arrival order, so they join only one-at-a-time runs.
  if (options.sequential)
    histories.push(...Array.from({ length: options.objects }, (_, index) => scopeHistory(options.seed, index)));
  const api = (path: string, init: RequestInit = {}) =>
    fetch(`${topology.url}${path}`, {
      ...init,
      headers: { authorization: `Bearer ${topology.adminToken}`, 'content-type': 'application/json', ...init.headers },
    });
  const send = async (post: Post): Promise<Sent> => {
    const response = await fetch(`${topology.url}/api/v1/inbound/${post.system}`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${topology.tokens[post.system]}`,
        'content-type': 'application/json',
        'idempotency-key': post.idempotencyKey,
      },
      body: post.body,
    });
    const body = (await response.json().catch(() => ({}))) as { messageId?: string };
    return { post, status: response.status, ...(body.messageId ? { messageId: body.messageId } : {}) };
  };
  const settled = (ids: string[]) => waitSettled(api, ids, options.timeoutMs ?? 60_000);

  // The model's oracle: writes in generation order; the generator keeps the final state independent of order.
  const model = new Model(MODEL_RULES);
  let seq = 0;
  const sequentialDecisions: Array<{ sent: Sent; expected: string; ignored: string[] }> = [];
  const sent: Sent[] = [];

  // Creations first, all at once, and waited for: a field owner's write before them would be refused.
  const created = await inParallel(histories, options.concurrency, (item) => send(item.create));
  sent.push(...created);
  for (const item of histories) model.apply({ ...writeOf(item.create), seq: (seq += 1) });
  await settled(created.flatMap((result) => (result.messageId ? [result.messageId] : [])));
  const posts = histories.flatMap((item) => item.rest);
  if (options.sequential) {
    const seen = new Map<string, string>();
    for (const post of posts) {
      const result = await send(post);
      sent.push(result);
      if (!result.messageId) continue;
      await settled([result.messageId]);
      if (post.invalid) continue;
      // A request repeated with its Idempotency-Key is answered with the first message id; nothing is decided again.
      if (seen.has(post.idempotencyKey)) continue;
      seen.set(post.idempotencyKey, result.messageId);
      const expected = model.apply({ ...writeOf(post), seq: (seq += 1) });
      sequentialDecisions.push({ sent: result, expected, ignored: model.ignored });
    }
  } else {
    const seen = new Set<string>();
    for (const post of posts) {
      if (post.invalid || seen.has(post.idempotencyKey)) continue;
      seen.add(post.idempotencyKey);
      model.apply({ ...writeOf(post), seq: (seq += 1) });
    }
    sent.push(...(await inParallel(posts, options.concurrency, send)));
  }

  for (const result of sent) {
    if (result.status !== 202 || !result.messageId)
      problems.push(`${at} ${result.post.label}: answered ${result.status}, not 202`);
  }
  const ids = [...new Set(sent.flatMap((result) => (result.messageId ? [result.messageId] : [])))];
  const repeated = new Map<string, string>();
  for (const result of sent) {
    if (!result.messageId) continue;
    const first = repeated.get(result.post.idempotencyKey);
    if (first && first !== result.messageId)
      problems.push(`${at} ${result.post.label}: a repeated Idempotency-Key got a new message id`);
    repeated.set(result.post.idempotencyKey, result.messageId);
  }
  const traces = await waitSettled(api, ids, options.timeoutMs ?? 60_000);

  // Dead letters of deliveries (the faulty target) are replayed once the target is healthy again.
  topology.setFaulty(false);
  const replays = { queued: 0, refused: 0 };
  // Bulk replay of every open delivery dead letter: the earlier batches' are all replayed or superseded.
  for (;;) {
    const response = await api('/api/v1/dead-letters/replay', {
      method: 'POST',
      body: JSON.stringify({ stage: 'deliver', reason: 'model test: target healthy again' }),
    });
    if (response.status !== 200) {
      problems.push(`${at} bulk replay: answered ${response.status}`);
      break;
    }
    const answer = (await response.json()) as { matched: number; replayed: number; skipped: number };
    replays.queued += answer.replayed;
    replays.refused += answer.skipped;
    if (answer.matched < 1000) break;
  }
  const finalTraces = replays.queued > 0 ? await waitSettled(api, ids, options.timeoutMs ?? 60_000) : traces;

  // Every 202 has its decision (or its invalid record) in the audit log.
  for (const result of sent) {
    if (!result.messageId) continue;
    const trace = finalTraces.get(result.messageId);
    const kinds = new Set((trace?.audit ?? []).map((record) => record.kind));
    if (result.post.invalid) {
      if (trace?.status !== 'invalid' || !kinds.has('invalid'))
        problems.push(`${at} ${result.post.label}: not recorded as invalid in the audit log`);
    } else if (!kinds.has('decision')) {
      problems.push(`${at} ${result.post.label}: no decision in the audit log`);
    }
  }
  for (const { sent: result, expected, ignored } of sequentialDecisions) {
    const decided = finalTraces.get(result.messageId!)?.decisions[0];
    if (decided?.decision !== expected)
      problems.push(`${at} ${result.post.label}: decided ${decided?.decision}, the model says ${expected}`);
    else if (['accepted', 'duplicate'].includes(expected) && !equal(decided.ignoredFields ?? [], ignored))
      problems.push(
        `${at} ${result.post.label}: ignored ${JSON.stringify(decided.ignoredFields ?? [])}, the model says ${JSON.stringify(ignored)}`,
      );
  }
  for (const result of sent) {
    if (result.post.system !== 'qms' || !result.messageId) continue;
    const decision = finalTraces.get(result.messageId)?.decisions[0]?.decision;
    if (decision !== 'rejected') problems.push(`${at} ${result.post.label}: a non-owner's write was ${decision}`);
  }

  for (const item of histories) problems.push(...(await checkObject(api, topology, model, item, at)));
  const verify = await api('/api/v1/audit/verify');
  if (verify.status !== 200) problems.push(`${at} audit verify: ${JSON.stringify(await verify.json())}`);
  return { problems, posts: sent.length, replays };
}

function writeOf(post: Post) {
  return {
    type: post.type,
    key: post.key,
    system: post.system,
    document: post.write!.document,
    version: post.write!.version,
    occurredAt: post.write!.occurredAt,
  };
}

/** The stored object equals the model's; each target got its revisions in order, once, ending right. */
async function checkObject(
  api: (path: string) => Promise<Response>,
  topology: Topology,
  model: Model,
  item: History,
  at: string,
): Promise<string[]> {
  const problems: string[] = [];
  const response = await api(`/api/v1/objects/${item.type}/${item.key}`);
  const stored = (await response.json()) as {
    data: Record<string, unknown>;
    revision: number;
    version?: number;
    watermarks: Record<string, { version?: number; occurredAt: string; system?: string }>;
    history: Array<{ revision: number; sourceSystem: string }>;
  };
  const expected = model.get(item.type, item.key);
  if (!equal(stored.data, expected)) {
    problems.push(
      `${at} ${item.key}: stored ${JSON.stringify(pick(stored.data))}, the model says ${JSON.stringify(pick(expected))}`,
    );
  }
  // Each group's watermark is its owner's newest write seen (arrival numbers differ, so they are not compared).
  const marks = model.marks(item.type, item.key);
  const groups = new Set([...marks.keys()].map((group) => group || '*'));
  for (const group of Object.keys(stored.watermarks ?? {})) groups.add(group);
  for (const group of groups) {
    const mark = marks.get(group === '*' ? '' : group);
    const held = stored.watermarks?.[group];
    const same =
      mark &&
      held &&
      held.version === mark.version &&
      Date.parse(held.occurredAt) === Date.parse(mark.occurredAt) &&
      held.system === mark.system;
    if (!same)
      problems.push(
        `${at} ${item.key}: watermark of ${group} is ${JSON.stringify(held)}, the model says ${JSON.stringify(mark)}`,
      );
  }
  if (stored.version !== marks.get('')?.version)
    problems.push(`${at} ${item.key}: version ${stored.version}, the model says ${marks.get('')?.version}`);
  for (const target of item.type === 'ProductionOrder' ? ['erp', 'mes', 'bi'] : ['bi']) {
    const deliveries = topology.received.filter(
      (request) =>
        request.path === `/${target}` && (JSON.parse(request.body) as { objectKey: string }).objectKey === item.key,
    );
    const keys = new Set<string>();
    let last = 0;
    let lastBody: Record<string, unknown> | undefined;
    for (const delivery of deliveries) {
      const key = String(delivery.headers['idempotency-key']);
      if (keys.has(key)) problems.push(`${at} ${item.key}: ${target} received delivery ${key} twice`);
      keys.add(key);
      const revision = Number(delivery.headers['x-handover-object-revision']);
      if (revision <= last) problems.push(`${at} ${item.key}: ${target} received revision ${revision} after ${last}`);
      last = Math.max(last, revision);
      lastBody = (JSON.parse(delivery.body) as { document: Record<string, unknown> }).document;
    }
    // A system is never sent back its own change, so it ends on the newest revision another system made.
    const newest = Math.max(0, ...stored.history.filter((h) => h.sourceSystem !== target).map((h) => h.revision));
    if (last !== newest)
      problems.push(`${at} ${item.key}: ${target} ended on revision ${last}, the newest it should get is ${newest}`);
    if (target === 'bi' && !equal(lastBody, expected))
      problems.push(`${at} ${item.key}: bi ended on ${JSON.stringify(pick(lastBody))}, not the model's object`);
  }
  return problems;
}

/** The fields the histories change, for readable differences. */
function pick(document: Record<string, unknown> | undefined) {
  return (
    document && {
      description: document.description,
      state: document.state,
      priority: document.priority,
      equipmentId: document.equipmentId,
    }
  );
}

interface Trace {
  status: string;
  decisions: Array<{ decision: string; ignoredFields?: string[] }>;
  deliveries: Array<{ status: string }>;
  audit: Array<{ kind: string }>;
}

/** Waits until every message is decided (or invalid) and none of its deliveries is pending. */
async function waitSettled(
  api: (path: string) => Promise<Response>,
  ids: string[],
  timeoutMs: number,
): Promise<Map<string, Trace>> {
  const traces = new Map<string, Trace>();
  const deadline = Date.now() + timeoutMs;
  let open = [...ids];
  while (open.length > 0) {
    const results = await inParallel(open, 16, async (id) => {
      const response = await api(`/api/v1/messages/${id}`);
      return { id, trace: response.status === 200 ? ((await response.json()) as Trace) : undefined };
    });
    open = [];
    for (const { id, trace } of results) {
      const done =
        trace &&
        (trace.status === 'invalid' ||
          (trace.status === 'routed' &&
            trace.decisions.length > 0 &&
            trace.deliveries.every((delivery) => delivery.status !== 'pending')));
      if (done) traces.set(id, trace);
      else open.push(id);
    }
    if (open.length === 0) break;
    if (Date.now() > deadline)
      throw new Error(`${open.length} messages not settled after ${timeoutMs} ms: ${open[0]}…`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return traces;
}

/** Maps `items` through `work` with at most `limit` in flight, keeping their order. */
export async function inParallel<T, R>(items: T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const index = next;
        next += 1;
        results[index] = await work(items[index]!);
      }
    }),
  );
  return results;
}
