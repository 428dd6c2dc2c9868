/**
 * @module Users, for admin: each with role, created and last seen; add one (their first API token is
 * shown once), issue another token (shown once too), remove one with their tokens and sessions.
 */
import { call, get, post } from '../api.js';
import { errorBox, h, notice, table, when } from '../dom.js';
import { knownRoles } from '../roles.js';

/** @param {HTMLElement} root */
export async function render(root) {
  const messages = h('div', { class: 'messages' });
  const list = h('div', { class: 'list' });
  const name = /** @type {HTMLInputElement} */ (
    h('input', {
      name: 'name',
      required: true,
      size: 20,
      placeholder: 'Name',
      'aria-label': 'Name',
      autocomplete: 'off',
    })
  );
  const role = /** @type {HTMLSelectElement} */ (
    h('select', { name: 'role', 'aria-label': 'Role' }, ...knownRoles().map((value) => h('option', {}, value)))
  );
  const password = /** @type {HTMLInputElement} */ (
    h('input', {
      name: 'password',
      type: 'password',
      size: 36,
      autocomplete: 'new-password',
      placeholder: 'Password (optional, 12+ characters)',
      'aria-label': 'Password (optional)',
    })
  );
  const addStatus = h('div', { class: 'form-status' });
  const addForm = /** @type {HTMLFormElement} */ (
    h(
      'form',
      {
        class: 'lookup add-user',
        'aria-label': 'Add a user',
        onsubmit: async (/** @type {Event} */ event) => {
          event.preventDefault();
          addStatus.replaceChildren();
          try {
            const answer = await post('/api/v1/users', {
              name: name.value.trim(),
              role: role.value,
              ...(password.value ? { password: password.value } : {}),
            });
            addForm.reset();
            messages.replaceChildren(tokenNotice(answer.name, answer.token, `${answer.name} (${answer.role}) added.`));
            await load();
          } catch (error) {
            addStatus.replaceChildren(errorBox(error));
          }
        },
      },
      name,
      role,
      password,
      h('button', { type: 'submit', class: 'primary' }, 'Add user'),
      addStatus,
    )
  );
  root.append(messages, h('h2', {}, 'Add a user'), addForm, h('h2', {}, 'Users'), list);

  /** @param {Node} node */
  const say = (node) => messages.replaceChildren(node);

  async function load() {
    const { users } = await get('/api/v1/users');
    list.replaceChildren(
      table(
        ['Name', 'Role', 'Created', 'Last seen', 'Password', 'Tokens', ''],
        users.map((/** @type {any} */ user) => {
          const actions = h('td', { class: 'actions' });
          actions.append(
            h('button', { type: 'button', 'data-action': 'issue-token', onclick: () => issue(user) }, 'New token'),
            h(
              'button',
              { type: 'button', 'data-action': 'remove', onclick: () => confirmRemove(user, actions) },
              'Remove…',
            ),
          );
          return [
            h('strong', {}, user.name),
            user.role,
            when(user.createdAt),
            user.lastSeenAt ? when(user.lastSeenAt) : h('span', { class: 'muted' }, 'never'),
            user.hasPassword ? 'yes' : h('span', { class: 'muted' }, 'none (API token only)'),
            user.tokens,
            actions,
          ];
        }),
        'No users yet: the admin token (HANDOVER_ADMIN_TOKEN) is the only way in.',
      ),
    );
    for (const row of list.querySelectorAll('tbody tr')) row.classList.add('user');
  }

  /** @param {any} user */
  async function issue(user) {
    try {
      const answer = await post(`/api/v1/users/${encodeURIComponent(user.name)}/tokens`);
      say(tokenNotice(answer.name, answer.token, `Another API token for ${answer.name}.`));
      await load();
    } catch (error) {
      say(errorBox(error));
    }
  }

  /** @param {any} user @param {HTMLElement} cell */
  function confirmRemove(user, cell) {
    cell.querySelector('form')?.remove();
    const status = h('div', { class: 'form-status' });
    const form = h(
      'form',
      {
        class: 'reason-form confirm',
        onsubmit: async (/** @type {Event} */ event) => {
          event.preventDefault();
          try {
            await call('DELETE', `/api/v1/users/${encodeURIComponent(user.name)}`);
            say(notice(`${user.name} removed, with their tokens and sessions.`));
            await load();
          } catch (error) {
            status.replaceChildren(errorBox(error));
          }
        },
      },
      h('span', {}, `Remove ${user.name}? Their tokens and sessions stop working at once.`),
      h('button', { type: 'submit', class: 'primary', 'data-action': 'confirm-remove' }, 'Remove'),
      h('button', { type: 'button', class: 'link', onclick: () => form.remove() }, 'Cancel'),
      status,
    );
    cell.append(form);
  }

  await load();
}

/**
 * A new API token, shown this once: the hub keeps only its digest.
 * @param {string} user @param {string} token @param {string} what
 */
function tokenNotice(user, token, what) {
  const box = h(
    'div',
    { class: 'notice info token', role: 'status', 'data-token-for': user },
    h(
      'p',
      {},
      what,
      ' ',
      h('strong', {}, 'Its API token is shown once:'),
      ' copy it now; the hub cannot show it again.',
    ),
    h('code', { class: 'hash', 'data-token': '' }, token),
    h('p', {}, h('button', { type: 'button', onclick: () => box.remove() }, 'I have copied it')),
  );
  return box;
}
