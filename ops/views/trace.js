/**
 * @module Message trace: messages found by object, system, status, keys and time (newest first, a
 * page at a time), and one message by id as a timeline — received, mapping, each document's decision
 * with its rule, each delivery with attempts and status, and the audit records.
 */
import { get, withQuery } from '../api.js';
import { errorBox, h, table, tableRow, valueView, when } from '../dom.js';

const STATUSES = ['received', 'routed', 'invalid', 'failed'];
const PAGE_SIZES = ['10', '25', '50', '100'];

/** @type {Record<string, string> | undefined} The last search, run again when the view comes back without a message. */
let lastSearch;

/** @param {HTMLElement} root @param {import('../console.js').App} app @param {string[]} args */
export async function render(root, app, args) {
  const [id = ''] = args;
  const input = /** @type {HTMLInputElement} */ (
    h('input', {
      name: 'id',
      value: id,
      placeholder: 'Message id',
      size: 40,
      required: true,
      'aria-label': 'Message id',
    })
  );
  const form = h(
    'form',
    {
      class: 'lookup',
      onsubmit: (/** @type {Event} */ event) => {
        event.preventDefault();
        app.go(`trace/${encodeURIComponent(input.value.trim())}`);
      },
    },
    input,
    h('button', { type: 'submit', class: 'primary' }, 'Trace'),
  );
  const out = h('div', { class: 'trace' });
  root.append(form, out);
  if (!id) {
    if (app.may('search-messages')) await search(out);
    return;
  }
  if (app.may('search-messages') && lastSearch)
    form.append(h('a', { href: '#trace', class: 'back' }, '← back to the search'));
  try {
    out.replaceChildren(...timeline(await get(`/api/v1/messages/${encodeURIComponent(id)}`)));
  } catch (error) {
    out.replaceChildren(errorBox(error));
  }
}

/**
 * The search form and its results: a page at a time from GET /api/v1/messages, **More** asking for
 * the next with the cursor the last page answered.
 * @param {HTMLElement} out
 */
async function search(out) {
  /** @param {string} name @param {string} label @param {number} [size] */
  const text = (name, label, size = 16) => h('input', { name, 'aria-label': label, placeholder: label, size });
  /** @param {string} name */
  const time = (name) => h('input', { name, type: 'datetime-local' });
  const status = h(
    'select',
    { name: 'status', 'aria-label': 'Status' },
    h('option', { value: '' }, 'any status'),
    ...STATUSES.map((value) => h('option', {}, value)),
  );
  const limit = h(
    'select',
    { name: 'limit', 'aria-label': 'Messages per page' },
    ...PAGE_SIZES.map((size) => h('option', { value: size, selected: size === '25' }, `${size} a page`)),
  );
  const from = time('from');
  const to = time('to');
  const fields = [
    text('objectKey', 'Object key', 20),
    text('type', 'Type (with a key)'),
    text('system', 'System', 10),
    status,
    text('correlationId', 'Correlation id'),
    text('idempotencyKey', 'Idempotency-Key'),
  ];
  const results = h('div', { class: 'results' });
  const controls = /** @type {Array<HTMLInputElement | HTMLSelectElement>} */ ([...fields, from, to, limit]);
  if (lastSearch) for (const control of controls) control.value = lastSearch[control.name] ?? control.value;

  /** Counts the searches, so a page that answers after the next search began is dropped. */
  let searches = 0;

  async function run() {
    /** @type {Record<string, string>} */
    const filter = {};
    for (const control of controls) if (control.value.trim()) filter[control.name] = control.value.trim();
    lastSearch = filter;
    const query = { ...filter, from: utc(filter.from), to: utc(filter.to) };
    const generation = (searches += 1);
    results.replaceChildren(h('p', { class: 'muted' }, 'Searching…'));
    /** @type {HTMLElement | undefined} */
    let body;
    let shown = 0;
    const count = h('span', { class: 'muted', role: 'status' });
    const more = h('button', { type: 'button', 'data-action': 'more', hidden: true }, 'More');
    const problem = h('div', {});

    /** @param {string | undefined} cursor */
    async function page(cursor) {
      problem.replaceChildren();
      more.setAttribute('disabled', '');
      try {
        const answer = await get(withQuery('/api/v1/messages', { ...query, cursor }));
        if (generation !== searches) return;
        const rows = answer.messages.map(row);
        shown += rows.length;
        if (!body) {
          const list = table(COLUMNS, rows, 'No messages match.');
          body = list.querySelector('tbody') ?? undefined;
          results.replaceChildren(list, h('div', { class: 'tools' }, count, more), problem);
        } else body.append(...rows.map(tableRow));
        for (const tr of results.querySelectorAll('tbody tr')) tr.classList.add('message');
        count.textContent =
          shown === 0
            ? ''
            : `${shown} message${shown === 1 ? '' : 's'}, newest first${answer.next ? '' : ' — all of them'}`;
        more.hidden = !answer.next;
        more.onclick = () => void page(answer.next);
      } catch (error) {
        if (generation !== searches) return;
        if (body) problem.replaceChildren(errorBox(error));
        else results.replaceChildren(errorBox(error));
      } finally {
        more.removeAttribute('disabled');
      }
    }
    await page(undefined);
  }

  out.append(
    h(
      'form',
      {
        class: 'filters search',
        'aria-label': 'Search messages',
        onsubmit: (/** @type {Event} */ event) => {
          event.preventDefault();
          void run();
        },
      },
      ...fields,
      h('label', {}, 'received from (UTC) ', from),
      h('label', {}, 'before (UTC) ', to),
      limit,
      h('button', { type: 'submit', class: 'primary' }, 'Search'),
    ),
    results,
  );
  if (lastSearch) await run();
}

const COLUMNS = ['Received', 'Message', 'System', 'Status', 'Object', 'Decisions', 'Mapping', 'Error'];

/** A search result as a row; its message id opens the trace. @param {any} message */
function row(message) {
  const object = message.firstObject;
  return [
    when(message.receivedAt),
    h(
      'a',
      { href: `#trace/${encodeURIComponent(message.messageId)}`, 'data-message': message.messageId },
      message.messageId,
    ),
    message.system,
    h('span', { class: `status ${message.status}` }, message.status),
    object ? `${object.type} ${object.objectKey}` : '',
    Object.entries(message.decisions ?? {})
      .map(([decision, count]) => `${decision} ${count}`)
      .join(', '),
    message.mapping,
    message.errorCode && h('code', {}, message.errorCode),
  ];
}

/** A datetime-local value, read as UTC, in RFC 3339. @param {string | undefined} value */
const utc = (value) => (value ? `${value}:00Z` : undefined);

/** @param {any} trace @returns {Node[]} */
function timeline(trace) {
  /** @param {string} title @param {...(Node | string | undefined)} body */
  const step = (title, ...body) => h('li', { class: 'step' }, h('h2', {}, title), ...body);
  return [
    h(
      'ol',
      { class: 'timeline' },
      step(
        'Received',
        h(
          'p',
          {},
          `${when(trace.receivedAt)} from `,
          h('strong', {}, trace.system),
          ` (${trace.contentType}) — status `,
          h('span', { class: `status ${trace.status}` }, trace.status),
        ),
        trace.idempotencyKey && h('p', { class: 'muted' }, `Idempotency-Key ${trace.idempotencyKey}`),
        trace.error && h('div', { class: 'error' }, valueView(trace.error)),
      ),
      step('Mapping', trace.mapping ? valueView(trace.mapping) : h('p', { class: 'muted' }, 'none recorded')),
      step(
        'Decisions',
        table(
          ['#', 'Type', 'Object', 'Version', 'Decision', 'Rule', 'Reason', 'Decided'],
          trace.decisions.map((/** @type {any} */ d) => [
            d.docIndex,
            d.type,
            h('a', { href: `#objects/${encodeURIComponent(d.type)}/${encodeURIComponent(d.objectKey)}` }, d.objectKey),
            d.version,
            h('span', { class: `status ${d.decision}` }, d.decision),
            h('code', {}, d.rule),
            d.reason,
            when(d.decidedAt),
          ]),
          'No decisions (yet).',
        ),
      ),
      step(
        'Deliveries',
        table(
          ['Target', 'Route', 'Kind', 'Revision', 'Attempts', 'Status', 'Last answer', 'Delivered'],
          trace.deliveries.map((/** @type {any} */ d) => [
            d.target,
            d.routeId,
            d.kind,
            d.objectRevision,
            d.attempts,
            h('span', { class: `status ${d.status}`, 'data-delivery-status': d.status }, d.status),
            [d.lastStatus, d.lastError].filter((part) => part !== undefined && part !== null).join(' '),
            when(d.deliveredAt),
          ]),
          'No deliveries.',
        ),
      ),
      step(
        'Audit',
        table(
          ['Seq', 'At', 'Kind', 'Decision', 'Target', 'Rule'],
          trace.audit.map((/** @type {any} */ r) => [r.seq, when(r.at), r.kind, r.decision, r.target, r.rule]),
          'No audit records.',
        ),
      ),
    ),
  ];
}
