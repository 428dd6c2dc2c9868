/**
 * Roles on every route, from the outside: the hub's own OpenAPI document says which roles may call
 * each operation, and every operation is called as every role, as the bootstrap admin token and as a
 * system's token, expecting exactly what it declares (its success or one of its declared errors
 * when allowed, 403 FORBIDDEN_ROLE when not). Then the console's session: login, the cookie's
 * attributes, CSRF on state-changing requests, logout, the login rate limit; and users managed with
 * `handover users` on the running hub's database take effect at the next request.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import request from 'supertest';
import { addUser } from '../hub/access/users';
import { ROLES, type Role } from '../hub/access/roles';
import { createApp } from '../hub/api/app';
import { expressPath } from '../hub/api/operations';
import { run } from '../hub/cli/main';
import { loadConfigFile, parseConfig } from '../hub/config/load';
import { startHub, type RunningHub } from '../hub/hub';
import { lineOrder, sendRecorded } from './support/context';
import { repoRoot } from './support/paths';

const env = {
  HANDOVER_TOKEN_ERP: 'erp-token',
  HANDOVER_TOKEN_MES: 'mes-token',
  HANDOVER_TOKEN_SCADA: 'scada-token',
  HANDOVER_ADMIN_TOKEN: 'admin-token',
};
const PASSWORD = 'correct horse battery staple';
const dataDir = mkdtempSync(join(tmpdir(), 'handover-access-'));
let hub: RunningHub;
const tokens = new Map<string, string>();
let messageId: string;

beforeAll(async () => {
  const seed = loadConfigFile(join(repoRoot, 'seeds', 'packaging-line', 'handover.yaml'));
  const config = parseConfig(`
systems:
  - { id: erp, name: ERP, processOwner: Planning, technicalOwner: IT }
  - { id: mes, name: MES, processOwner: Production, technicalOwner: IT }
  - { id: scada, name: SCADA, processOwner: Production, technicalOwner: Automation }
  - { id: line-context, name: Context engine, processOwner: Production, technicalOwner: IT }
ownership:
  ProductionOrder: { owner: erp, fields: { state: mes } }
  DowntimeEvent: { owner: line-context }
routes: []
`);
  config.context = seed.context;
  hub = await startHub({
    config,
    dataDir,
    mappingsDir: join(repoRoot, 'mappings'),
    env,
    logger: pino({ level: 'silent' }),
  });
  for (const role of ROLES)
    tokens.set(role, (await addUser(hub.context.db, { name: `${role}-1`, role, password: PASSWORD })).token);
  messageId = (
    await sendRecorded(
      hub.url!,
      'erp',
      lineOrder({
        state: 'Released',
        receivedAt: '2026-12-01T04:00:00Z',
        occurredAt: '2026-12-01T04:00:00Z',
        quantity: '10',
      }),
    )
  ).messageId;
}, 60000);

afterAll(() => hub?.stop());

interface DocumentedOperation {
  operationId: string;
  'x-roles': Role[];
  'x-systems'?: string;
  security: unknown[];
  responses: Record<string, unknown>;
  parameters?: Array<{ name: string; in: string; required: boolean; schema: { format?: string; enum?: string[] } }>;
  requestBody?: {
    required: boolean;
    content: { 'application/json': { schema: { required?: string[]; additionalProperties?: boolean } } };
  };
}

/** Values for path parameters: what exists where the test has it, else a name nothing has. */
const EXAMPLES: Record<string, () => string> = {
  id: () => messageId,
  type: () => 'ProductionOrder',
  key: () => 'PO-1',
  name: () => 'nobody',
  system: () => 'erp',
};

async function documented(): Promise<Array<{ method: string; path: string; operation: DocumentedOperation }>> {
  const answer = await request(hub.url!).get('/api/v1/openapi.json');
  expect(answer.status).toBe(200);
  expect(answer.body.openapi).toBe('3.1.0');
  return Object.entries(answer.body.paths as Record<string, Record<string, DocumentedOperation>>).flatMap(
    ([path, methods]) => Object.entries(methods).map(([method, operation]) => ({ method, path, operation })),
  );
}

const concrete = (path: string) =>
  path.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(EXAMPLES[name]!()));

describe('every documented operation, called as every role and as a system', () => {
  const callers: Array<[string, () => string]> = [
    ...ROLES.map((role): [string, () => string] => [role, () => tokens.get(role)!]),
    ['the admin token', () => 'admin-token'],
    ['mes (a reason editor)', () => 'mes-token'],
    ['erp', () => 'erp-token'],
  ];

  it.each(callers)(
    'answers %s exactly as the document declares',
    async (caller, token) => {
      const operations = (await documented()).filter(({ operation }) => operation.security.length > 0);
      expect(operations.length).toBeGreaterThan(15);
      const outcomes: string[] = [];
      for (const { method, path, operation } of operations) {
        if (operation.operationId === 'postInbound' || operation.operationId === 'closeSession') continue;
        const role =
          ROLES.find((candidate) => caller === candidate) ?? (caller === 'the admin token' ? 'admin' : undefined);
        const allowed = role
          ? operation['x-roles'].includes(role)
          : operation['x-systems'] === 'reasonEditors' && caller.startsWith('mes');
        if (operation.operationId === 'streamEvents') {
          // A stream does not end: its status is all this test reads.
          const stream = await fetch(`${hub.url}${path}`, { headers: { authorization: `Bearer ${token()}` } });
          await stream.body?.cancel();
          if (allowed !== (stream.status === 200) || (!allowed && stream.status !== 403))
            outcomes.push(`streamEvents: ${allowed ? 'allowed' : 'forbidden'}, answered ${stream.status}`);
          continue;
        }
        const agent = request(hub.url!);
        const verb = method as 'get' | 'post' | 'delete';
        const call = agent[verb](concrete(path)).set('authorization', `Bearer ${token()}`);
        const answer =
          operation.operationId === 'addUser'
            ? await call.send({ name: `made-by-${caller.replace(/\W/g, '')}`, role: 'viewer' })
            : await call.send({});
        const declared = Object.keys(operation.responses).map(Number);
        if (allowed) {
          if (!declared.includes(answer.status) || answer.status === 403 || answer.status === 401)
            outcomes.push(
              `${operation.operationId}: allowed, answered ${answer.status} ${JSON.stringify(answer.body?.error ?? '')}`,
            );
        } else if (answer.status !== 403 || answer.body?.error?.code !== 'FORBIDDEN_ROLE')
          outcomes.push(`${operation.operationId}: forbidden, answered ${answer.status}`);
      }
      expect(outcomes).toEqual([]);
    },
    60000,
  );

  it('documents every route the hub mounts, and mounts every documented one', async () => {
    const app = createApp(hub.context);
    const mounted = (
      app.router as unknown as { stack: Array<{ route?: { path: string; methods: Record<string, boolean> } }> }
    ).stack
      .filter((layer) => layer.route)
      .flatMap((layer) => Object.keys(layer.route!.methods).map((method) => `${method} ${layer.route!.path}`));
    const inDocument = (await documented())
      .filter(({ operation }) => operation.operationId !== 'postInbound')
      .map(({ method, path }) => `${method} ${expressPath(path)}`);
    expect(mounted.sort()).toEqual(inDocument.sort());
  });

  it('enforces the body and query schemas it publishes: what the document requires or bounds is refused without it', async () => {
    const checked: string[] = [];
    const outcomes: string[] = [];
    for (const { method, path, operation } of await documented()) {
      const verb = method as 'get' | 'post' | 'delete';
      const call = () => request(hub.url!)[verb](concrete(path)).set('authorization', 'Bearer admin-token');
      const body = operation.requestBody?.content['application/json'].schema;
      if (body) {
        // Every documented required property missing, and one the schema does not know.
        const answer = await call().send({ unexpected: true });
        const paths = ((answer.body?.error?.details ?? []) as Array<{ path: string }>).map((problem) => problem.path);
        const expected = [...(body.required ?? []).map((name) => `/${name}`), '/unexpected'];
        if (
          answer.status !== 400 ||
          answer.body.error.code !== 'BAD_REQUEST' ||
          expected.some((p) => !paths.includes(p))
        )
          outcomes.push(
            `${operation.operationId} body: answered ${answer.status} ${JSON.stringify(paths)}, expected ${expected}`,
          );
        checked.push(`${operation.operationId} body`);
      }
      for (const parameter of operation.parameters ?? []) {
        if (parameter.in !== 'query' || !(parameter.schema.format || parameter.schema.enum)) continue;
        const answer = await call().query({ [parameter.name]: 'not-a-value' });
        const paths = ((answer.body?.error?.details ?? []) as Array<{ path: string }>).map((problem) => problem.path);
        if (answer.status !== 400 || !paths.includes(`?${parameter.name}`))
          outcomes.push(
            `${operation.operationId} ?${parameter.name}: answered ${answer.status} ${JSON.stringify(paths)}`,
          );
        checked.push(`${operation.operationId} ?${parameter.name}`);
      }
    }
    expect(outcomes).toEqual([]);
    expect(checked).toEqual(
      expect.arrayContaining(['replayDeadLetters body', 'addUser body', 'exportAudit ?format', 'searchMessages ?from']),
    );
  });

  it('refuses a request with no credentials, and a token that is nobody’s', async () => {
    const none = await request(hub.url!).get('/api/v1/ownership');
    expect(none.status).toBe(401);
    expect(none.body.error.code).toBe('AUTH_REQUIRED');
    const wrong = await request(hub.url!).get('/api/v1/ownership').set('authorization', 'Bearer hov_not-a-token');
    expect(wrong.body.error.code).toBe('AUTH_INVALID');
  });
});

describe('the console session', () => {
  const login = (user: string, password: string) => request(hub.url!).post('/api/v1/session').send({ user, password });

  it('logs in with a password: an HttpOnly, SameSite cookie, the CSRF token required on changes, and logs out', async () => {
    const wrong = await login('operator-1', 'not the password');
    expect(wrong.status).toBe(401);
    expect(wrong.body.error.code).toBe('LOGIN_FAILED');
    expect((await login('nobody', PASSWORD)).body.error.code).toBe('LOGIN_FAILED');

    const answer = await login('operator-1', PASSWORD);
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ user: 'operator-1', role: 'operator', csrfToken: expect.any(String) });
    const cookie = String(answer.headers['set-cookie']);
    expect(cookie).toMatch(/^handover_session=[^;]+; Path=\/; HttpOnly; SameSite=Strict; Max-Age=43200/);
    const session = cookie.split(';')[0]!;

    const who = await request(hub.url!).get('/api/v1/session').set('cookie', session);
    expect(who.body).toMatchObject({ user: 'operator-1', role: 'operator', via: 'session' });
    expect((await request(hub.url!).get('/api/v1/dead-letters').set('cookie', session)).status).toBe(200);
    // A state-changing request of the session needs its CSRF token; with it, the operator is let through.
    const forged = await request(hub.url!).post('/api/v1/dead-letters/none/replay').set('cookie', session);
    expect(forged.status).toBe(403);
    expect(forged.body.error.code).toBe('CSRF_INVALID');
    const sent = await request(hub.url!)
      .post('/api/v1/dead-letters/none/replay')
      .set('cookie', session)
      .set('x-csrf-token', answer.body.csrfToken);
    expect(sent.status).toBe(404);
    // An operator's session still may not read the audit log.
    expect((await request(hub.url!).get('/api/v1/audit').set('cookie', session)).body.error.code).toBe(
      'FORBIDDEN_ROLE',
    );

    const out = await request(hub.url!)
      .delete('/api/v1/session')
      .set('cookie', session)
      .set('x-csrf-token', answer.body.csrfToken);
    expect(out.status).toBe(204);
    const after = await request(hub.url!).get('/api/v1/dead-letters').set('cookie', session);
    expect(after.status).toBe(401);
    expect(after.body.error.code).toBe('AUTH_INVALID');
  });

  it('limits failed logins per user and address: 429 with Retry-After, and the right password waits too', async () => {
    for (let attempt = 0; attempt < 10; attempt += 1) expect((await login('viewer-1', 'wrong')).status).toBe(401);
    const limited = await login('viewer-1', PASSWORD);
    expect(limited.status).toBe(429);
    expect(limited.body.error.code).toBe('LOGIN_RATE_LIMITED');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
  });
});

describe('handover users, on the running hub’s database', () => {
  const cli = async (args: string[], stdin = '') => {
    let out = '';
    let err = '';
    const previous = process.env.HANDOVER_DATA_DIR;
    process.env.HANDOVER_DATA_DIR = dataDir;
    try {
      const code = await run(args, {
        out: (text) => void (out += text),
        err: (text) => void (err += text),
        readFile: () => Buffer.alloc(0),
        readStdin: async () => stdin,
      });
      return { code, out, err };
    } finally {
      process.env.HANDOVER_DATA_DIR = previous;
    }
  };

  it('adds a user whose token and password work at once, lists, issues a token, and removes them', async () => {
    const added = await cli(['users', 'add', 'alice', '--role', 'auditor', '--password-stdin'], `${PASSWORD}\n`);
    expect(added.code).toBe(0);
    const token = added.out.trim().split('\n').at(-1)!;
    expect(token).toMatch(/^hov_[\w-]{43}$/);
    const audit = await request(hub.url!).get('/api/v1/audit/verify').set('authorization', `Bearer ${token}`);
    expect(audit.status).toBe(200);
    expect((await request(hub.url!).post('/api/v1/session').send({ user: 'alice', password: PASSWORD })).status).toBe(
      200,
    );

    const listed = await cli(['users', 'list']);
    expect(listed.out).toMatch(/^alice\tauditor\t\d{4}-\d\d-\d\dT[^\t]+\t\d{4}-[^\t]+\t1$/m);
    const second = (await cli(['users', 'token', 'alice'])).out.trim();
    expect(second).not.toBe(token);
    expect((await request(hub.url!).get('/api/v1/audit/verify').set('authorization', `Bearer ${second}`)).status).toBe(
      200,
    );

    expect((await cli(['users', 'add', 'alice', '--role', 'viewer'])).code).toBe(1);
    // Audit records name the admin token "admin" and a system's token by its id: no user may take those names.
    expect((await cli(['users', 'add', 'admin', '--role', 'viewer'])).err).toContain('HANDOVER_ADMIN_TOKEN');
    const asSystem = await request(hub.url!)
      .post('/api/v1/users')
      .set('authorization', 'Bearer admin-token')
      .send({ name: 'erp', role: 'viewer' });
    expect(asSystem.status).toBe(400);
    expect((await cli(['users', 'add', 'bob', '--role', 'chief'])).err).toContain('the role is viewer, operator');
    expect((await cli(['users', 'add', 'carol', '--role', 'viewer', '--password-stdin'], 'short')).err).toContain(
      'at least 12 characters',
    );

    expect((await cli(['users', 'remove', 'alice'])).code).toBe(0);
    for (const gone of [token, second])
      expect((await request(hub.url!).get('/api/v1/audit/verify').set('authorization', `Bearer ${gone}`)).status).toBe(
        401,
      );
  });

  it('never has a default password: a user added without one cannot log in', async () => {
    await cli(['users', 'add', 'dave', '--role', 'viewer']);
    expect((await request(hub.url!).post('/api/v1/session').send({ user: 'dave', password: '' })).status).toBe(400);
    expect((await request(hub.url!).post('/api/v1/session').send({ user: 'dave', password: 'dave' })).status).toBe(401);
  });
});
