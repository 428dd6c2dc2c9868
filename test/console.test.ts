/**
 * The operations console (ops/) in a real browser (Chromium through playwright-core) against a real
 * hub (test/support/ops-hub.ts: its own SQLite, an HTTP target, an http connector): each role sees
 * exactly the views the hub's OpenAPI document allows it; an operator replays, discards and
 * bulk-replays dead letters, tests a connector and finds a message by its object; an auditor exports
 * and verifies the audit log; an admin manages users; a viewer can neither see nor call what is not
 * theirs; and the flow view updates live. Screenshots of every view are saved to
 * os.tmpdir()/handover-console-screenshots, and with HANDOVER_DOCS_SCREENSHOTS=1 the key ones to docs/images/.
 */
import type { Page } from 'playwright-core';
import { ROLES, type Role } from '../hub/access/roles';
import { orderEnvelopeJson } from './support/hub-process';
import { waitFor, type HttpTarget } from './support/http-target';
import { adminGet, CONNECTOR_ID, sendOrder as send, startOpsHub, type OpsHub } from './support/ops-hub';
import {
  countOf,
  fetchFromPage,
  login,
  newPage,
  open,
  pageProblems,
  screenshot,
  SCREENSHOTS,
  signIn,
  startConsoleBrowser,
  textWith,
} from './support/console-browser';

let ops: OpsHub;
let mes: HttpTarget;
let browser: { close(): Promise<void> };

beforeAll(async () => {
  ops = await startOpsHub('console');
  mes = ops.mes;
  browser = await startConsoleBrowser(ops.url);
  console.log(`console screenshots: ${SCREENSHOTS}`);
}, 60000);

afterAll(async () => {
  await browser?.close();
  await ops?.stop();
});

beforeEach(() => {
  mes.respond = () => 200;
});

afterEach(() => {
  expect(pageProblems).toEqual([]);
});

const errorCode = (text: string) => (JSON.parse(text) as { error: { code: string } }).error.code;

const sendOrder = (key: string, version = 1) => send(ops, key, { version, description: `${key} v${version}` });

interface DeadLetter {
  id: string;
  messageId: string;
  stage: string;
  code: string;
}

/** The open dead letter of a message, once it is filed. */
const deadLetterOfMessage = (messageId: string) =>
  waitFor(
    async () =>
      (await adminGet<{ deadLetters: DeadLetter[] }>(ops, '/api/v1/dead-letters')).deadLetters.find(
        (letter) => letter.messageId === messageId,
      ),
    20000,
    `the dead letter of ${messageId}`,
  );

/** Sends an order that MES refuses once (400, so no retry): answers its open dead letter. */
async function deadLetterOf(key: string): Promise<DeadLetter> {
  let refused = false;
  mes.respond = () => {
    if (refused) return 200;
    refused = true;
    return 400;
  };
  return deadLetterOfMessage(await sendOrder(key));
}

/** Sends an order whose document is not a valid ProductionOrder: answers its ingest dead letter. */
async function ingestDeadLetterOf(key: string): Promise<DeadLetter> {
  const answer = await fetch(`${ops.url}/api/v1/inbound/erp`, {
    method: 'POST',
    headers: { authorization: 'Bearer erp-token', 'content-type': 'application/json' },
    body: JSON.stringify({ ...JSON.parse(orderEnvelopeJson(key)), document: { id: key } }),
  });
  expect(answer.status).toBe(202);
  return deadLetterOfMessage(((await answer.json()) as { messageId: string }).messageId);
}

/** Whether MES took a delivery of the object `key`. */
const deliveredToMes = (key: string) =>
  mes.received.some((received) => received.path === '/orders' && received.body.includes(`"${key}"`));

const navOf = (page: Page) => page.locator('#nav a').allTextContents();
const WATCHER_VIEWS = [
  'Flow',
  'Queues',
  'Dead letters',
  'Message trace',
  'Objects',
  'Ownership',
  'Connectors',
  'Context',
];

it('shows each role exactly its views, and the hub refuses what a role may not call', async () => {
  const expected: Record<Role, string[]> = {
    viewer: WATCHER_VIEWS,
    operator: WATCHER_VIEWS,
    integrator: WATCHER_VIEWS,
    auditor: ['Message trace', 'Objects', 'Ownership', 'Audit'],
    admin: [...WATCHER_VIEWS.slice(0, 6), 'Audit', ...WATCHER_VIEWS.slice(6), 'Users'],
  };
  for (const role of ROLES) {
    const page = await login(role);
    expect({ role, views: await navOf(page) }).toEqual({ role, views: expected[role] });
    await expect(page.locator('#who .user').textContent()).resolves.toBe(`${role}-1`);
  }

  const viewer = await login('viewer');
  expect((await fetchFromPage(viewer, 'GET', '/api/v1/audit')).status).toBe(403);
  await open(viewer, 'audit', 'flow'); // not the viewer's: the console shows the first view the role has

  const auditor = await login('auditor');
  await open(auditor, 'dead-letters', 'trace');
  expect(await auditor.locator('[data-action=replay], [data-action=discard]').count()).toBe(0);
  const listed = await fetchFromPage(auditor, 'GET', '/api/v1/dead-letters');
  expect([listed.status, errorCode(listed.text)]).toEqual([403, 'FORBIDDEN_ROLE']);
  const replay = await fetchFromPage(auditor, 'POST', '/api/v1/dead-letters/replay', { reason: 'x' });
  expect([replay.status, errorCode(replay.text)]).toEqual([403, 'FORBIDDEN_ROLE']);

  await auditor.click('#logout');
  await auditor.locator('#login-form').waitFor();
  expect(await navOf(auditor)).toEqual([]);
  expect((await fetchFromPage(auditor, 'GET', '/api/v1/session')).status).toBe(401);
  await auditor.reload();
  await auditor.locator('#login-form').waitFor();

  await auditor.fill('input[name=user]', 'auditor-1');
  await auditor.fill('input[name=password]', 'not the password at all');
  await auditor.click('#login-form button[type=submit]');
  await expect(auditor.locator('#login-status .error-code').textContent()).resolves.toBe('LOGIN_FAILED');
  await screenshot(auditor, 'login');
}, 60000);

it('decides what a role sees from the roles of the hub’s OpenAPI document', async () => {
  const letter = await deadLetterOf('PO-CONSOLE-ROLES');
  // The same hub, but its document says operators may neither replay nor list connectors.
  const page = await login('operator', (page) =>
    page.route('**/api/v1/openapi.json', async (route) => {
      const document = (await (await route.fetch()).json()) as {
        paths: Record<string, Record<string, { operationId: string; 'x-roles': string[] }>>;
      };
      for (const methods of Object.values(document.paths))
        for (const operation of Object.values(methods))
          if (['replayDeadLetter', 'listConnectors'].includes(operation.operationId))
            operation['x-roles'] = operation['x-roles'].filter((role) => role !== 'operator');
      await route.fulfill({ json: document });
    }),
  );
  expect(await navOf(page)).toEqual(WATCHER_VIEWS.filter((view) => view !== 'Connectors'));
  await open(page, 'dead-letters');
  const row = page.locator('tr.dead-letter', { hasText: letter.messageId });
  await row.waitFor();
  // Discarding is still the operator's; replaying one (and so many) is not.
  expect(await row.locator('[data-action=discard]').count()).toBe(1);
  expect(await page.locator('[data-action=replay], details.bulk').count()).toBe(0);
}, 60000);

it('lets an operator replay a dead letter and see it delivered', async () => {
  const letter = await deadLetterOf('PO-CONSOLE-REPLAY');
  const page = await login('operator');
  await open(page, 'dead-letters');
  const row = page.locator('tr.dead-letter', { hasText: letter.messageId });
  await row.waitFor();
  await expect(row.textContent()).resolves.toContain('open');
  await screenshot(page, 'dead-letters', true);

  await row.locator('[data-action=replay]').click();
  await page.locator('.messages .notice', { hasText: letter.messageId }).waitFor();
  await row.waitFor({ state: 'detached' });
  await waitFor(() => deliveredToMes('PO-CONSOLE-REPLAY'), 20000, 'MES');

  await page.locator('.messages .notice a').click();
  await page.locator('section.view[data-view="trace"]').waitFor();
  await waitFor(
    async () => {
      await page.click('form.lookup button[type=submit]');
      await page.locator('.timeline').waitFor();
      return (await page.locator('[data-delivery-status=delivered]').count()) > 0;
    },
    20000,
    'a delivered delivery in the trace',
  );
  const trace = await page.locator('.timeline').textContent();
  expect(trace).toContain('PO-CONSOLE-REPLAY');
  expect(trace).toContain('replay');
  await screenshot(page, 'trace', true);

  await open(page, 'dead-letters');
  await page.check('input[name=all]');
  await expect(page.locator('tr.dead-letter', { hasText: letter.messageId }).textContent()).resolves.toContain(
    'replayed',
  );
}, 60000);

it('lets an auditor export the audit log as CSV and verify it intact', async () => {
  const page = await login('auditor');
  await open(page, 'audit');
  await page.locator('section.view[data-view="audit"] tbody tr').first().waitFor();
  const href = await page.locator('[data-export=csv]').getAttribute('href');
  expect(href).toBe('/api/v1/audit/export?format=csv');
  const csv = await fetchFromPage(page, 'GET', href!);
  expect(csv.status).toBe(200);
  expect(csv.contentType).toMatch(/^text\/csv/);
  expect(csv.text.split(/\r?\n/)[0]).toBe(
    'seq,at,kind,messageId,system,type,objectKey,decision,rule,target,details,prevHash,hash',
  );

  await page.click('[data-action=verify]');
  const verdict = page.locator('[data-verdict]');
  await verdict.waitFor();
  await expect(verdict.getAttribute('data-verdict')).resolves.toBe('intact');
  const head = JSON.parse((await fetchFromPage(page, 'GET', '/api/v1/audit/verify')).text) as { headHash: string };
  await expect(verdict.locator('.hash').textContent()).resolves.toBe(head.headHash);
  await screenshot(page, 'audit', true);
}, 60000);

it('shows a viewer no replay button, and the hub refuses the viewer’s replay', async () => {
  const letter = await deadLetterOf('PO-CONSOLE-VIEWER');
  const page = await login('viewer');
  await open(page, 'dead-letters');
  await page.locator('tr.dead-letter', { hasText: letter.messageId }).waitFor();
  expect(await page.locator('[data-action=replay], [data-action=discard], details.bulk').count()).toBe(0);

  const replay = await fetchFromPage(page, 'POST', `/api/v1/dead-letters/${letter.id}/replay`);
  expect([replay.status, errorCode(replay.text)]).toEqual([403, 'FORBIDDEN_ROLE']);
  const discard = await fetchFromPage(page, 'POST', `/api/v1/dead-letters/${letter.id}/discard`, { reason: 'x' });
  expect([discard.status, errorCode(discard.text)]).toEqual([403, 'FORBIDDEN_ROLE']);
  await page.reload();
  await page.locator('tr.dead-letter', { hasText: letter.messageId }).waitFor();
  await expect(page.locator('tr.dead-letter', { hasText: letter.messageId }).textContent()).resolves.toContain('open');
}, 60000);

it('lets an operator discard a dead letter with a reason, and the audit shows who and why', async () => {
  const letter = await deadLetterOf('PO-CONSOLE-DISCARD');
  const reason = 'MES will never take this test order';
  const page = await login('operator');
  await open(page, 'dead-letters');
  const row = page.locator('tr.dead-letter', { hasText: letter.messageId });
  await row.locator('[data-action=discard]').click();
  await row.getByPlaceholder('Reason (recorded in the audit log)').fill(reason);
  await row.locator('form.reason-form button[type=submit]').click();
  await page.locator('.messages .notice', { hasText: `${letter.messageId} discarded` }).waitFor();
  await row.waitFor({ state: 'detached' });
  await page.check('input[name=all]');
  await expect(page.locator('tr.dead-letter', { hasText: letter.messageId }).textContent()).resolves.toContain(
    'discarded',
  );

  const admin = await login('admin');
  await open(admin, 'audit');
  await admin.getByLabel('decision', { exact: true }).fill('discarded');
  await admin.getByRole('button', { name: 'Search' }).click();
  const record = admin.locator('section.view[data-view="audit"] tbody tr', { hasText: reason });
  await record.waitFor();
  const text = await record.textContent();
  expect(text).toContain('operation');
  expect(text).toContain('operator.discard');
  expect(text).toContain('operator-1');
  expect(text).toContain(letter.id);
}, 60000);

it('lets an operator replay every dead letter matching a filter, with a reason, and they are delivered', async () => {
  const letters = [await deadLetterOf('PO-CONSOLE-BULK-1'), await deadLetterOf('PO-CONSOLE-BULK-2')];
  expect(deliveredToMes('PO-CONSOLE-BULK-1') || deliveredToMes('PO-CONSOLE-BULK-2')).toBe(false);
  const unmatched = await ingestDeadLetterOf('PO-CONSOLE-BULK-INGEST'); // another stage: not replayed
  const reason = 'MES accepts test orders again';
  const page = await login('operator');
  await open(page, 'dead-letters');
  for (const letter of letters) await page.locator('tr.dead-letter', { hasText: letter.messageId }).waitFor();
  await page.locator('details.bulk summary').click();
  const bulk = page.locator('details.bulk form');
  await bulk.getByLabel('stage').selectOption('deliver');
  await bulk.getByLabel('code').fill(letters[0]!.code);
  await bulk.getByLabel('target').fill('mes');
  // Only ingest dead letters are translated again: no mapping to choose for deliveries.
  expect(await bulk.getByLabel('Mapping for the replays').isVisible()).toBe(false);
  await bulk.getByPlaceholder('Reason (recorded in the audit log)').fill(reason);
  await bulk.getByRole('button', { name: 'Replay matching' }).click();
  const summary = await page.locator('.messages .notice', { hasText: 'Matched' }).textContent();
  const [, matched, replayed, skipped] = /Matched (\d+), replayed (\d+), skipped (\d+)/.exec(summary ?? '') ?? [];
  expect(Number(replayed)).toBeGreaterThanOrEqual(2);
  expect([Number(matched), Number(skipped)]).toEqual([Number(replayed), 0]);
  for (const letter of letters)
    await page.locator('tr.dead-letter', { hasText: letter.messageId }).waitFor({ state: 'detached' });
  await waitFor(
    () => deliveredToMes('PO-CONSOLE-BULK-1') && deliveredToMes('PO-CONSOLE-BULK-2'),
    20000,
    'both replayed orders at MES',
  );
  const stillOpen = (await adminGet<{ deadLetters: DeadLetter[] }>(ops, '/api/v1/dead-letters')).deadLetters;
  expect(stillOpen.map((letter) => letter.id)).toContain(unmatched.id);

  const { records } = await adminGet<{
    records: Array<{ kind: string; details?: { deadLetter?: string; by?: string; reason?: string } }>;
  }>(ops, '/api/v1/audit?limit=10000');
  const replays = records.filter(
    (record) => record.kind === 'replay' && letters.some((letter) => letter.id === record.details?.deadLetter),
  );
  expect(replays.map((record) => [record.details?.by, record.details?.reason])).toEqual([
    ['operator-1', reason],
    ['operator-1', reason],
  ]);
}, 60000);

it('lets an operator test a connector and see what it answered', async () => {
  const page = await login('operator');
  await open(page, 'connectors');
  const row = page.locator('tr', { hasText: CONNECTOR_ID });
  await expect(row.textContent()).resolves.toContain('http');
  const pings = () => mes.received.filter((received) => received.path === '/ping').length;
  const before = pings();
  await row.getByRole('button', { name: 'Test' }).click();
  const result = row.locator('.test-result dl.values');
  await result.waitFor();
  const text = await result.textContent();
  expect(text).toContain('oktrue');
  expect(text).toContain(`${mes.url}/ping answered HTTP 200`);
  expect(pings()).toBe(before + 1);

  mes.respond = () => 503;
  await row.getByRole('button', { name: 'Test' }).click();
  await textWith(row.locator('.test-result'), 'answered HTTP 503');
  await screenshot(page, 'connectors');
}, 60000);

it('lets an admin add a user whose token is shown once, issue another and remove the user', async () => {
  const page = await login('admin');
  await open(page, 'users');
  await page.locator('tr.user', { hasText: 'operator-1' }).waitFor();
  await page.getByLabel('Name', { exact: true }).fill('dana');
  await page.getByLabel('Role', { exact: true }).selectOption('operator');
  await page.getByLabel('Password (optional)', { exact: true }).fill('dana’s long password');
  await page.getByRole('button', { name: 'Add user' }).click();
  const shown = page.locator('.notice[data-token-for=dana]');
  await textWith(shown, 'shown once');
  const token = (await shown.locator('[data-token]').textContent()) ?? '';
  expect(token).toMatch(/^hov_/);
  const row = page.locator('tr.user', { hasText: 'dana' });
  await textWith(row, 'operator');
  await screenshot(page, 'users', true);

  const session = async (bearer: string) =>
    fetch(`${ops.url}/api/v1/session`, { headers: { authorization: `Bearer ${bearer}` } });
  const answer = await session(token);
  expect(answer.status).toBe(200);
  expect(await answer.json()).toMatchObject({ user: 'dana', role: 'operator' });

  // Shown once: away and back, the token is nowhere on the page.
  await open(page, 'flow');
  await open(page, 'users');
  await row.waitFor();
  expect(await page.locator('[data-token]').count()).toBe(0);
  expect(await page.content()).not.toContain(token);

  const dana = await newPage('dana');
  await signIn(dana, 'dana', 'dana’s long password', 'operator');
  await expect(dana.locator('#who .user').textContent()).resolves.toBe('dana');

  await row.getByRole('button', { name: 'New token' }).click();
  const second = (await page.locator('.notice[data-token-for=dana] [data-token]').textContent()) ?? '';
  expect(second).toMatch(/^hov_/);
  expect(second).not.toBe(token);
  expect((await session(second)).status).toBe(200);
  await waitFor(async () => (await row.locator('td').nth(5).textContent()) === '2', 10000, 'two tokens');

  await row.getByRole('button', { name: 'Remove…' }).click();
  await row.getByRole('button', { name: 'Remove', exact: true }).click();
  await page.locator('.messages .notice', { hasText: 'dana removed' }).waitFor();
  await row.waitFor({ state: 'detached' });
  expect((await session(token)).status).toBe(401);
  expect((await session(second)).status).toBe(401);
}, 60000);

it('shows a viewer no Users view, and the hub refuses the viewer the users', async () => {
  const page = await login('viewer');
  expect(await navOf(page)).not.toContain('Users');
  await open(page, 'users', 'flow');
  const listed = await fetchFromPage(page, 'GET', '/api/v1/users');
  expect([listed.status, errorCode(listed.text)]).toEqual([403, 'FORBIDDEN_ROLE']);
  const added = await fetchFromPage(page, 'POST', '/api/v1/users', { name: 'eve', role: 'admin' });
  expect([added.status, errorCode(added.text)]).toEqual([403, 'FORBIDDEN_ROLE']);
}, 60000);

it('finds a message by its object key, page by page, and opens its trace', async () => {
  const key = 'PO-CONSOLE-SEARCH';
  const sent: string[] = [];
  for (let version = 1; version <= 12; version += 1) sent.push(await sendOrder(key, version));
  // The hub's own order of them (newest first), once every one has its decision.
  const listed = await waitFor(
    async () => {
      const { messages } = await adminGet<{ messages: Array<{ messageId: string }> }>(
        ops,
        `/api/v1/messages?objectKey=${key}&limit=100`,
      );
      return messages.length === sent.length ? messages.map((message) => message.messageId) : undefined;
    },
    20000,
    'the twelve messages to be decided',
  );
  expect([...listed].sort()).toEqual([...sent].sort());

  const page = await login('viewer');
  await open(page, 'trace');
  const search = page.getByRole('form', { name: 'Search messages' });
  await search.getByLabel('Object key').fill(key);
  await search.getByLabel('Messages per page').selectOption('10');
  await search.getByRole('button', { name: 'Search' }).click();
  const rows = page.locator('tr.message');
  await countOf(rows, 10);
  const more = page.getByRole('button', { name: 'More' });
  await more.waitFor({ state: 'visible' });
  await screenshot(page, 'search', true);
  await more.click();
  await countOf(rows, 12);
  await more.waitFor({ state: 'hidden' });
  const ids = await rows.locator('a[data-message]').evaluateAll((links) => links.map((link) => link.textContent));
  expect(ids).toEqual(listed);

  await rows.locator(`a[data-message="${listed[0]}"]`).click();
  await page.locator('.timeline').waitFor();
  expect(page.url()).toContain(`#trace/${listed[0]}`);
  expect(await page.locator('form.lookup input[name=id]').inputValue()).toBe(listed[0]);
  await textWith(page.locator('.timeline'), key, 'accepted');

  // Back to the search: it is run again.
  await page.getByRole('link', { name: '← back to the search' }).click();
  await countOf(rows, 10);
}, 60000);

it('updates the flow view live as messages arrive', async () => {
  const page = await login('operator');
  await open(page, 'flow');
  await page.locator('.live[data-live=open]').waitFor({ timeout: 10000 });
  const messagesIn = page.locator('[data-total=in] .figure-value');
  const before = Number(await messagesIn.textContent());
  const navigations: string[] = [];
  page.on('framenavigated', (frame) => navigations.push(frame.url()));

  for (let n = 1; n <= 3; n += 1) await sendOrder(`PO-CONSOLE-FLOW-${n}`);
  await waitFor(async () => Number(await messagesIn.textContent()) >= before + 3, 30000, 'messages in to rise');
  expect(navigations).toEqual([]);
  await page.locator('.chart-svg polyline').first().waitFor();
  await screenshot(page, 'flow', true);
}, 60000);

it('shows an object’s history with the decision and rule of each revision, and its other decisions', async () => {
  const key = 'PO-CONSOLE-OBJECT';
  await sendOrder(key, 2);
  await waitFor(() => deliveredToMes(key), 20000, 'version 2 at MES');
  await sendOrder(key, 1); // older than what the hub has: stale, no revision
  const object = await waitFor(
    async () => {
      const found = await adminGet<{
        history: Array<{ revision: number; decision?: string; rule?: string }>;
        decisions?: Array<{ decision: string; rule: string; messageId: string }>;
      }>(ops, `/api/v1/objects/ProductionOrder/${key}`).catch(() => undefined);
      return found?.decisions?.length === 2 ? found : undefined;
    },
    20000,
    'two decisions about the object',
  );
  expect(object.decisions!.map((decision) => decision.decision)).toEqual(['stale', 'accepted']);

  const page = await login('operator');
  await open(page, `objects/ProductionOrder/${key}`);
  const history = page.locator('.history tbody tr');
  await countOf(history, 1);
  await textWith(history.first(), 'accepted', object.history[0]!.rule!);
  const decisions = page.locator('.decisions tbody tr');
  await countOf(decisions, 2);
  for (const [index, decision] of object.decisions!.entries())
    await textWith(decisions.nth(index), decision.decision, decision.rule, decision.messageId);
  await screenshot(page, 'objects');
}, 60000);

it('shows each queue’s p95 wait beside its oldest waiting job', async () => {
  await sendOrder('PO-CONSOLE-WAIT');
  await waitFor(
    async () =>
      (await adminGet<{ queues: Array<{ p95WaitMs?: number }> }>(ops, '/api/v1/queues')).queues.some(
        (queue) => queue.p95WaitMs !== undefined,
      ),
    20000,
    'a p95 wait in the queues',
  );
  const page = await login('operator');
  await open(page, 'queues');
  const headers = await page.locator('section.view[data-view="queues"] table').last().locator('th').allTextContents();
  expect(headers.indexOf('p95 wait')).toBe(headers.indexOf('Oldest waiting') + 1);
  const waits = await page
    .locator('[data-p95-wait]')
    .evaluateAll((cells) => cells.map((cell) => [cell.getAttribute('data-p95-wait'), cell.textContent]));
  const reported = waits.filter(([ms]) => ms !== '');
  expect(reported.length).toBeGreaterThan(0);
  for (const [ms, text] of reported)
    expect(text).toBe(Number(ms) < 1000 ? `${Number(ms)} ms` : `${Math.round(Number(ms) / 1000)} s`);
}, 60000);

it('replays an ingest dead letter with the mapping the operator chooses', async () => {
  const letter = await ingestDeadLetterOf('PO-CONSOLE-INGEST');
  expect(letter.stage).toBe('ingest');

  const page = await login('operator');
  await open(page, 'dead-letters');
  const row = page.locator('tr.dead-letter', { hasText: letter.messageId });
  const mapping = row.getByLabel('Mapping for the replay', { exact: true });
  expect(await mapping.inputValue()).toBe('current');
  await screenshot(page, 'dead-letters-ingest');
  await mapping.selectOption('original');
  const [request] = await Promise.all([
    page.waitForRequest((request) => request.url().endsWith(`/api/v1/dead-letters/${letter.id}/replay`)),
    row.locator('[data-action=replay]').click(),
  ]);
  expect(request.postDataJSON()).toEqual({ mapping: 'original' });
  // This message was first read as canonical JSON, not by a mapping: there is no original version to
  // run, and the console shows the hub's refusal (the dead letter stays open).
  await textWith(page.locator('.messages .error'), 'REPLAY_MAPPING_UNKNOWN');

  // The bulk form offers the choice for ingest dead letters only, and sends it.
  await page.locator('details.bulk summary').click();
  const bulk = page.locator('details.bulk form');
  await bulk.getByLabel('stage').selectOption('ingest');
  expect(await bulk.getByLabel('Mapping for the replays').inputValue()).toBe('current');
  await bulk.getByLabel('code').fill(letter.code);
  await bulk.getByPlaceholder('Reason (recorded in the audit log)').fill('mapping fixed');
  const [bulkRequest] = await Promise.all([
    page.waitForRequest((request) => request.url().endsWith('/api/v1/dead-letters/replay')),
    bulk.getByRole('button', { name: 'Replay matching' }).click(),
  ]);
  expect(bulkRequest.postDataJSON()).toMatchObject({ stage: 'ingest', code: letter.code, mapping: 'current' });
  await page.locator('.messages .notice', { hasText: 'Matched' }).waitFor();
}, 60000);

it('shows every other view (screenshots as the role that sees most of it)', async () => {
  const operator = await login('operator');
  await open(operator, 'queues');
  await operator.locator('[data-action=pause]').click();
  await operator.fill('form.reason-form input[name=reason]', 'MES maintenance window');
  await operator.click('form.reason-form button[type=submit]');
  await operator.locator('[data-action=resume]').waitFor();
  await screenshot(operator, 'queues');
  await operator.locator('[data-action=resume]').click();
  await operator.fill('form.reason-form input[name=reason]', 'window over');
  await operator.click('form.reason-form button[type=submit]');
  await operator.locator('[data-action=pause]').waitFor();

  await open(operator, 'ownership');
  await expect(operator.locator('table tbody tr', { hasText: 'ProductionOrder' }).textContent()).resolves.toContain(
    'owner',
  );
  await screenshot(operator, 'ownership');

  await open(operator, 'context');
  await operator.fill('input[name=equipment]', 'no-such-unit');
  await operator.click('form.lookup button[type=submit]');
  await expect(operator.locator('.state .error-code').textContent()).resolves.toBe('NOT_FOUND');
  await screenshot(operator, 'context');
}, 60000);
