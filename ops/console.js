/**
 * @module The operations console: logs in, shows the views the signed-in role may use, and routes
 * between them by the address's hash (`#dead-letters`, `#trace/<message id>`). It talks only to the
 * hub's public HTTP API.
 */
import { ApiError, call, get, setCsrfToken } from './api.js';
import { errorBox, h } from './dom.js';
import { loadRoles, may } from './roles.js';
import * as audit from './views/audit.js';
import * as connectors from './views/connectors.js';
import * as context from './views/context.js';
import * as deadLetters from './views/dead-letters.js';
import * as flow from './views/flow.js';
import * as objects from './views/objects.js';
import * as ownership from './views/ownership.js';
import * as queues from './views/queues.js';
import * as trace from './views/trace.js';
import * as users from './views/users.js';

/**
 * @typedef {{ user: string, role: string, may: (what: string) => boolean, go: (hash: string) => void }} App
 * @typedef {{ render: (root: HTMLElement, app: App, args: string[]) => Promise<(() => void) | void> }} View
 */

/** @type {Array<{ id: string, title: string, view: View }>} */
const VIEWS = [
  { id: 'flow', title: 'Flow', view: flow },
  { id: 'queues', title: 'Queues', view: queues },
  { id: 'dead-letters', title: 'Dead letters', view: deadLetters },
  { id: 'trace', title: 'Message trace', view: trace },
  { id: 'objects', title: 'Objects', view: objects },
  { id: 'ownership', title: 'Ownership', view: ownership },
  { id: 'audit', title: 'Audit', view: audit },
  { id: 'connectors', title: 'Connectors', view: connectors },
  { id: 'context', title: 'Context', view: context },
  { id: 'users', title: 'Users', view: users },
];

const main = /** @type {HTMLElement} */ (document.getElementById('view'));
const nav = /** @type {HTMLElement} */ (document.getElementById('nav'));
const who = /** @type {HTMLElement} */ (document.getElementById('who'));
const loginSection = /** @type {HTMLElement} */ (document.getElementById('login'));
const loginForm = /** @type {HTMLFormElement} */ (document.getElementById('login-form'));
const loginStatus = /** @type {HTMLElement} */ (document.getElementById('login-status'));
const logoutButton = /** @type {HTMLButtonElement} */ (document.getElementById('logout'));

/** Who may do what, read once at start (again at a login, should that first read have failed). */
let rolesLoaded = loadRoles();
rolesLoaded.catch(() => undefined); // a failure shows where it is awaited: at start, or at the login
async function rolesReady() {
  try {
    await rolesLoaded;
  } catch {
    rolesLoaded = loadRoles();
    await rolesLoaded;
  }
}

/** @type {App | undefined} */
let app;
/** @type {(() => void) | void} */
let leaveView;

/** @param {{ user: string, role: string, csrfToken?: string }} session */
function signedIn(session) {
  setCsrfToken(session.csrfToken);
  app = {
    user: session.user,
    role: session.role,
    may: (what) => may(session.role, what),
    go: (hash) => {
      if (location.hash === `#${hash}`) void show();
      else location.hash = hash;
    },
  };
  document.body.classList.add('signed-in');
  loginSection.hidden = true;
  who.replaceChildren(h('span', { class: 'user' }, session.user), ' ', h('span', { class: 'role' }, session.role));
  logoutButton.hidden = false;
  nav.replaceChildren(
    ...VIEWS.filter((entry) => app?.may(entry.id)).map((entry) =>
      h('a', { href: `#${entry.id}`, 'data-view': entry.id }, entry.title),
    ),
  );
  void show();
}

function signedOut() {
  setCsrfToken(undefined);
  app = undefined;
  leaveView?.();
  leaveView = undefined;
  document.body.classList.remove('signed-in');
  nav.replaceChildren();
  who.replaceChildren();
  main.replaceChildren();
  logoutButton.hidden = true;
  loginSection.hidden = false;
}

/** Counts the views shown, so a view that finishes loading after the next one was shown lets go. */
let shown = 0;

/** Shows the view the hash names (the first the role may use when it names none or one not allowed). */
async function show() {
  if (!app) return;
  const [id = '', ...args] = location.hash.replace(/^#/, '').split('/').map(decodeURIComponent);
  const allowed = VIEWS.filter((entry) => app?.may(entry.id));
  const entry = allowed.find((candidate) => candidate.id === id) ?? allowed[0];
  leaveView?.();
  leaveView = undefined;
  for (const link of nav.querySelectorAll('a')) link.classList.toggle('current', link.dataset.view === entry?.id);
  if (!entry) {
    main.replaceChildren(h('p', {}, 'Your role has no views in this console.'));
    return;
  }
  const root = h('section', { class: 'view', 'data-view': entry.id }, h('h1', {}, entry.title));
  main.replaceChildren(root);
  const generation = (shown += 1);
  try {
    const leave = await entry.view.render(root, app, args);
    // Another view was shown while this one loaded: it is gone, so it lets go at once (its event stream).
    if (generation !== shown) leave?.();
    else leaveView = leave;
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return signedOut();
    root.append(errorBox(error));
  }
}

loginForm.addEventListener('submit', async (event) => {
  event.preventDefault();
  loginStatus.replaceChildren();
  const data = new FormData(loginForm);
  try {
    const session = await call('POST', '/api/v1/session', {
      user: String(data.get('user') ?? ''),
      password: String(data.get('password') ?? ''),
    });
    loginForm.reset();
    await rolesReady();
    signedIn(session);
  } catch (error) {
    loginStatus.replaceChildren(errorBox(error));
  }
});

logoutButton.addEventListener('click', async () => {
  try {
    await call('DELETE', '/api/v1/session');
  } finally {
    signedOut();
  }
});

window.addEventListener('hashchange', () => void show());

try {
  const session = await get('/api/v1/session');
  await rolesReady();
  signedIn(session);
} catch (error) {
  signedOut();
  if (!(error instanceof ApiError && error.status === 401)) loginStatus.replaceChildren(errorBox(error));
}
