/** @module Small DOM helpers: elements without innerHTML, tables, errors, and the reason form. */

/**
 * An element with attributes (`on*` functions become listeners) and children (strings become text).
 * @param {string} tag
 * @param {Record<string, any>} [attributes]
 * @param {...(Node | string | number | null | undefined | false)} children
 * @returns {HTMLElement}
 */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') element.addEventListener(name.slice(2), value);
    else if (name === 'class') element.className = value;
    else element.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    element.append(typeof child === 'object' ? child : String(child));
  }
  return element;
}

/**
 * A table from column titles and rows of cells.
 * @param {string[]} columns
 * @param {Array<Array<Node | string | number | undefined>>} rows
 * @param {string} [empty] what to say when there are no rows
 */
export function table(columns, rows, empty = 'Nothing to show.') {
  if (rows.length === 0) return h('p', { class: 'empty' }, empty);
  return h(
    'table',
    {},
    h('thead', {}, h('tr', {}, ...columns.map((column) => h('th', {}, column)))),
    h('tbody', {}, ...rows.map(tableRow)),
  );
}

/**
 * One row of a table (to add to its tbody later); a cell that is a `td` already (one holding a row's
 * actions) is taken as it is.
 * @param {Array<Node | string | number | undefined>} cells
 */
export function tableRow(cells) {
  return h(
    'tr',
    {},
    ...cells.map((cell) => (typeof cell === 'object' && cell?.nodeName === 'TD' ? cell : h('td', {}, cell ?? ''))),
  );
}

/**
 * The API's error, plainly: its code and message.
 * @param {any} error
 */
export function errorBox(error) {
  const code = error?.code ?? 'ERROR';
  const details = error?.details === undefined ? undefined : JSON.stringify(error.details);
  return h(
    'div',
    { class: 'error', role: 'alert' },
    h('strong', { class: 'error-code' }, code),
    ' ',
    h('span', { class: 'error-message' }, error?.message ?? String(error)),
    details ? h('div', { class: 'error-details' }, details) : undefined,
  );
}

/** @param {string} text @param {'ok' | 'info'} [kind] */
export const notice = (text, kind = 'ok') => h('div', { class: `notice ${kind}`, role: 'status' }, text);

/** A time as local date and time, to the second. @param {string | number | undefined} value */
export function when(value) {
  if (value === undefined || value === null || value === '') return '';
  const date = typeof value === 'number' ? new Date(value * 1000) : new Date(value);
  return Number.isNaN(date.getTime()) ? String(value) : date.toLocaleString();
}

/**
 * Any JSON value as nested definition lists (for answers whose shape the console does not dress up).
 * @param {unknown} value
 * @returns {Node}
 */
export function valueView(value) {
  if (value === null || value === undefined) return h('span', { class: 'muted' }, '—');
  if (Array.isArray(value)) {
    if (value.length === 0) return h('span', { class: 'muted' }, 'none');
    return h('ol', { class: 'values' }, ...value.map((item) => h('li', {}, valueView(item))));
  }
  if (typeof value === 'object') {
    const entries = Object.entries(value);
    if (entries.length === 0) return h('span', { class: 'muted' }, 'none');
    return h(
      'dl',
      { class: 'values' },
      ...entries.flatMap(([key, item]) => [h('dt', {}, key), h('dd', {}, valueView(item))]),
    );
  }
  return document.createTextNode(String(value));
}

/**
 * A small inline form asking for a reason before an action; `act(reason)` runs on submit, and its
 * error shows in the form.
 * @param {string} label the button's text
 * @param {(reason: string) => Promise<void>} act
 * @param {Node[]} [fields] more fields before the reason
 * @param {boolean} [cancellable] whether a Cancel button removes the form
 */
export function reasonForm(label, act, fields = [], cancellable = true) {
  const input = /** @type {HTMLInputElement} */ (
    h('input', { name: 'reason', required: true, placeholder: 'Reason (recorded in the audit log)', size: 40 })
  );
  const status = h('div', { class: 'form-status' });
  const form = h(
    'form',
    {
      class: 'reason-form',
      onsubmit: async (/** @type {Event} */ event) => {
        event.preventDefault();
        status.replaceChildren();
        try {
          await act(input.value.trim());
        } catch (error) {
          status.replaceChildren(errorBox(error));
        }
      },
    },
    ...fields,
    input,
    h('button', { type: 'submit', class: 'primary' }, label),
    cancellable && h('button', { type: 'button', class: 'link', onclick: () => form.remove() }, 'Cancel'),
    status,
  );
  return form;
}
