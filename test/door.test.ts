/**
 * The door refuses what it cannot take unaltered or safely: bodies that are not UTF-8, JSON
 * nested past `limits.maxJsonDepth`, and XML whose root is not a B2MML document; nothing is queued.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import pino from 'pino';
import { parseConfig } from '../hub/config/load';
import { startHub, type RunningHub } from '../hub/hub';
import { messagesOf, type InboundMessage, type IngestJob } from '../hub/pipeline/jobs';
import { orderEnvelopeJson } from './support/hub-process';

let hub: RunningHub;

/** Posts the bytes exactly as given (supertest would re-encode a Buffer sent as JSON). */
async function post(body: string | Buffer, type = 'application/json') {
  const response = await fetch(`${hub.url}/api/v1/inbound/erp`, {
    method: 'POST',
    headers: { authorization: 'Bearer erp-token', 'content-type': type },
    body: typeof body === 'string' ? body : new Uint8Array(body),
  });
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  return { status: response.status, body: (await response.json()) as any };
}

async function queued(): Promise<number> {
  const counts = await hub.context.queues.ingest.getJobCounts();
  return Object.values(counts).reduce((sum, count) => sum + count, 0);
}

/** A message as its ingest job carries it (this hub runs no workers, so it stays queued). */
async function queuedMessage(messageId: string): Promise<InboundMessage | undefined> {
  const jobs = await hub.context.queues.ingest.getJobs(['waiting']);
  return jobs.flatMap((job) => messagesOf(job.data as IngestJob)).find((message) => message.messageId === messageId);
}

beforeAll(async () => {
  const config = parseConfig(`
systems:
  - { id: erp, name: ERP, processOwner: Planning, technicalOwner: IT }
ownership:
  ProductionOrder: { owner: erp }
limits: { maxJsonDepth: 8 }
`);
  hub = await startHub({
    config,
    dataDir: mkdtempSync(join(tmpdir(), 'handover-door-')),
    env: { HANDOVER_TOKEN_ERP: 'erp-token', HANDOVER_ADMIN_TOKEN: 'admin-token' },
    logger: pino({ level: 'silent' }),
    role: 'api',
    // No mappings: only B2MML and canonical JSON can be read, as for a system nobody wrote a mapping for.
    mappingsDir: mkdtempSync(join(tmpdir(), 'handover-door-mappings-')),
  });
});

afterAll(async () => {
  await hub?.stop();
});

describe('bodies that are not UTF-8', () => {
  it.each([
    ['a lone continuation byte', [0x80], 0],
    ['a truncated sequence', [0xe2, 0x82], 0],
    ['an overlong encoding', [0xc0, 0xaf], 0],
    ['a surrogate', [0xed, 0xa0, 0x80], 0],
    ['a code point past U+10FFFF', [0xf4, 0x90, 0x80, 0x80], 0],
  ])('are refused with the offset of the first bad byte: %s', async (_name, bad, at) => {
    const before = await queued();
    const head = Buffer.from('{"document": {"description": "ünïcode ok, then ');
    const body = Buffer.concat([head, Buffer.from(bad), Buffer.from('"}}')]);
    const response = await post(body);
    expect(response.status).toBe(400);
    expect(response.body.error).toMatchObject({ code: 'BODY_NOT_UTF8', details: { offset: head.length + at } });
    expect(await queued()).toBe(before);
  });

  it('are refused in XML too', async () => {
    const before = await queued();
    const head = Buffer.from('<?xml version="1.0" encoding="UTF-8"?><Process');
    const response = await post(Buffer.concat([head, Buffer.from([0xff]), Buffer.from('/>')]), 'application/xml');
    expect(response.status).toBe(400);
    expect(response.body.error).toMatchObject({ code: 'BODY_NOT_UTF8', details: { offset: head.length } });
    expect(await queued()).toBe(before);
  });

  it('while valid multi-byte UTF-8 is taken as sent', async () => {
    const response = await post(orderEnvelopeJson('PO-UTF8', { description: 'Ölmühle – 𝄞 – 製造' }));
    expect(response.status).toBe(202);
    const message = await queuedMessage(response.body.messageId as string);
    expect(JSON.parse(message!.body).document.description).toBe('Ölmühle – 𝄞 – 製造');
  });
});

describe('JSON nested deeper than limits.maxJsonDepth', () => {
  it('is refused with the limit, the path and the offset where it was passed', async () => {
    const before = await queued();
    const body = '{"a": [1, {"b": {"c": [[[[["deep"]]]]]}}]}';
    const response = await post(body);
    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe('JSON_TOO_DEEP');
    expect(response.body.error.details).toEqual({
      limit: 8,
      path: '/a/1/b/c/0/0/0/0',
      offset: body.indexOf('["deep"]'),
    });
    expect(await queued()).toBe(before);
  });

  it('counts only structure, not brackets inside strings', async () => {
    const response = await post(orderEnvelopeJson('PO-BRACKETS', { description: '[[[[[[[[[[{{{{{{{{{{"\\"[[[[' }));
    expect(response.status).toBe(202);
  });

  it('refuses a 200 000-deep array quickly, without a stack overflow', async () => {
    const before = await queued();
    const started = Date.now();
    const response = await post('['.repeat(200_000) + ']'.repeat(200_000));
    expect(response.status).toBe(400);
    expect(response.body.error).toMatchObject({ code: 'JSON_TOO_DEEP', details: { limit: 8, offset: 8 } });
    // A liveness bound, not a speed check: recursion or a quadratic scan would take far longer or crash.
    expect(Date.now() - started).toBeLessThan(5000);
    expect(await queued()).toBe(before);
  });
});

describe('XML whose root is not a B2MML document', () => {
  it('is refused naming the root, not called empty', async () => {
    const before = await queued();
    const response = await post('<hello/>', 'application/xml');
    expect(response.status).toBe(422);
    expect(response.body.error.code).toBe('B2MML_UNKNOWN_ROOT');
    expect(response.body.error.details[0]).toMatchObject({ path: '/hello' });
    expect(response.body.error.details[0].reason).toContain('<hello> is not a B2MML document');
    expect(await queued()).toBe(before);
  });
});

describe('the fast path for plain POSTs', () => {
  // The express route takes what the fast path leaves to it (here: a path in capitals, which
  // express's case-insensitive routing matches); both must answer every request the same.
  const send = async (path: string, init: { token?: string; body: string; type?: string; query?: string }) => {
    const response = await fetch(`${hub.url}${path}${init.query ?? ''}`, {
      method: 'POST',
      headers: {
        ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
        'content-type': init.type ?? 'application/json',
      },
      body: init.body,
    });
    const body = (await response.json()) as { messageId?: string; error?: unknown };
    return {
      status: response.status,
      contentType: response.headers.get('content-type'),
      messageHeader: response.headers.get('x-handover-message-id') === body.messageId,
      body: body.messageId ? { messageId: 'any' } : body,
    };
  };

  it.each([
    ['an unknown system', '/api/v1/inbound/nobody', { token: 'erp-token', body: '{}' }],
    ['no token', '/api/v1/inbound/erp', { body: '{}' }],
    ['a wrong token', '/api/v1/inbound/erp', { token: 'nope', body: '{}' }],
    ['the operator token', '/api/v1/inbound/erp', { token: 'admin-token', body: '{}' }],
    ['malformed JSON', '/api/v1/inbound/erp', { token: 'erp-token', body: '{"a":' }],
    ['an unsupported media type', '/api/v1/inbound/erp', { token: 'erp-token', body: 'x', type: 'text/plain' }],
    ['a type that is not canonical', '/api/v1/inbound/erp', { token: 'erp-token', body: '{}', query: '?type=Nope' }],
    ['JSON too deep', '/api/v1/inbound/erp', { token: 'erp-token', body: '[[[[[[[[[[1]]]]]]]]]]' }],
    ['a valid document', '/api/v1/inbound/erp', { token: 'erp-token', body: orderEnvelopeJson('PO-FAST-1') }],
  ])('answers %s as the express route does', async (_name, path, init) => {
    const fast = await send(path, init);
    const viaExpress = await send(path.replace('/api/v1/inbound/', '/API/V1/INBOUND/'), init);
    expect(fast).toEqual(viaExpress);
  });

  it('leaves a gzip-encoded body to the express route, which inflates it', async () => {
    const response = await fetch(`${hub.url}/api/v1/inbound/erp`, {
      method: 'POST',
      headers: { authorization: 'Bearer erp-token', 'content-type': 'application/json', 'content-encoding': 'gzip' },
      body: new Uint8Array(gzipSync(orderEnvelopeJson('PO-GZIP-1'))),
    });
    expect(response.status).toBe(202);
    const { messageId } = (await response.json()) as { messageId: string };
    expect((await queuedMessage(messageId))?.body).toBe(orderEnvelopeJson('PO-GZIP-1'));
  });
});
