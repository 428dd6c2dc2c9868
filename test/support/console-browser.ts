/**
 * The operations console in a real browser for test/console.test.ts: Chromium through
 * playwright-core (Debian's /usr/bin/chromium), a fresh context per role (its own cookies), the
 * console's own login form, and waits on what the page shows. Every page error and Content Security
 * Policy refusal is collected in `pageProblems` (none is expected).
 */
import { copyFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import type { Role } from '../../hub/access/roles';
import { waitFor } from './http-target';
import { PASSWORD } from './ops-hub';
import { repoRoot } from './paths';

// The flags the stack notes give for Chromium here; playwright's launch() adds a fresh --user-data-dir itself
// (it refuses one in `args`), and each role gets its own browser context (its own cookies).
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
export const SCREENSHOTS = join(tmpdir(), 'handover-console-screenshots');
const DOCS_IMAGES = join(repoRoot, 'docs', 'images');

let browser: Browser;
let consoleUrl: string;
/** Errors the pages raised, and CSP refusals they logged. */
export const pageProblems: string[] = [];

/** Launches Chromium for the console at `url`; answers how to close it. */
export async function startConsoleBrowser(url: string): Promise<{ close(): Promise<void> }> {
  consoleUrl = url;
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
  mkdirSync(SCREENSHOTS, { recursive: true });
  mkdirSync(DOCS_IMAGES, { recursive: true });
  return { close: () => browser.close() };
}

/** A fresh browser context at 1280×800; `prepare` may set it up (routes) before the console loads. */
export async function newPage(name: string, prepare?: (page: Page) => Promise<unknown>): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  page.on('pageerror', (error) => pageProblems.push(`${name}: ${error.message}`));
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) pageProblems.push(`${name}: ${message.text()}`);
  });
  await prepare?.(page);
  await page.goto(consoleUrl);
  await page.locator('#login-form').waitFor();
  return page;
}

/** Signs in through the login form and waits for the header to name the role. */
export async function signIn(page: Page, user: string, password: string, role: string): Promise<void> {
  await page.fill('input[name=user]', user);
  await page.fill('input[name=password]', password);
  await page.click('#login-form button[type=submit]');
  await page.locator('#who .role', { hasText: role }).waitFor();
}

/** A fresh browser context signed in as `<role>-1`. */
export async function login(role: Role, prepare?: (page: Page) => Promise<unknown>): Promise<Page> {
  const page = await newPage(role, prepare);
  await signIn(page, `${role}-1`, PASSWORD, role);
  return page;
}

/** Goes to a view by the address's hash and waits for `shown` (the view named, unless the role lacks it). */
export async function open(page: Page, hash: string, shown = hash.split('/')[0]): Promise<void> {
  await page.evaluate((target) => (location.hash = target), hash);
  await page.locator(`section.view[data-view="${shown}"]`).waitFor();
}

export async function screenshot(page: Page, name: string, docs = false): Promise<void> {
  const file = join(SCREENSHOTS, `console-${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  // Only on request, so a test run leaves the repository as it was: HANDOVER_DOCS_SCREENSHOTS=1 npx jest test/console.test.ts
  if (docs && process.env.HANDOVER_DOCS_SCREENSHOTS === '1')
    copyFileSync(file, join(DOCS_IMAGES, `console-${name}.png`));
}

/** A call from the page, with the session cookie and (for non-GET) the session's CSRF token. */
export async function fetchFromPage(
  page: Page,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; contentType: string; text: string }> {
  return page.evaluate(
    async ({ method, path, body }) => {
      const headers: Record<string, string> = {};
      if (method !== 'GET') {
        const session = (await (await fetch('/api/v1/session')).json()) as { csrfToken: string };
        headers['x-csrf-token'] = session.csrfToken;
      }
      if (body !== undefined) headers['content-type'] = 'application/json';
      const answer = await fetch(path, {
        method,
        headers,
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      return {
        status: answer.status,
        contentType: answer.headers.get('content-type') ?? '',
        text: await answer.text(),
      };
    },
    { method, path, body },
  );
}

/** Waits until a locator finds `count` elements. */
export const countOf = (locator: Locator, count: number) =>
  waitFor(async () => (await locator.count()) === count, 10000, `${count} of ${locator.toString()}`);

/** Waits until a locator's text contains each of `texts`; answers its text. */
export async function textWith(locator: Locator, ...texts: string[]): Promise<string> {
  let text = '';
  await waitFor(
    async () => {
      text = (await locator.textContent()) ?? '';
      return texts.every((part) => text.includes(part));
    },
    10000,
    `${texts.join(', ')} in ${locator.toString()}`,
  ).catch((error: Error) => {
    throw new Error(`${error.message}; it says: ${text}`);
  });
  return text;
}
