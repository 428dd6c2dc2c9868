/** @module One object by type and key: its current revision, owner, watermarks and history. */
import { get } from '../api.js';
import { errorBox, h, valueView } from '../dom.js';

/** @param {HTMLElement} root @param {import('../console.js').App} app @param {string[]} args */
export async function render(root, app, args) {
  const [type = 'ProductionOrder', key = ''] = args;
  const typeInput = /** @type {HTMLInputElement} */ (
    h('input', { name: 'type', value: type, size: 22, required: true })
  );
  const keyInput = /** @type {HTMLInputElement} */ (
    h('input', { name: 'key', value: key, placeholder: 'Object key', size: 24, required: true })
  );
  const out = h('div', { class: 'object' });
  root.append(
    h(
      'form',
      {
        class: 'lookup',
        onsubmit: (/** @type {Event} */ event) => {
          event.preventDefault();
          app.go(`objects/${encodeURIComponent(typeInput.value.trim())}/${encodeURIComponent(keyInput.value.trim())}`);
        },
      },
      typeInput,
      keyInput,
      h('button', { type: 'submit', class: 'primary' }, 'Show'),
    ),
    out,
  );
  if (!key) return;
  try {
    out.replaceChildren(valueView(await get(`/api/v1/objects/${encodeURIComponent(type)}/${encodeURIComponent(key)}`)));
  } catch (error) {
    out.replaceChildren(errorBox(error));
  }
}
