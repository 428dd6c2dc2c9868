/**
 * @module Message trace: one message by id, as a timeline — received, mapping, each document's
 * decision with its rule, each delivery with attempts and status, and the audit records.
 */
import { get } from '../api.js';
import { errorBox, h, table, valueView, when } from '../dom.js';

/** @param {HTMLElement} root @param {import('../console.js').App} app @param {string[]} args */
export async function render(root, app, args) {
  const [id = ''] = args;
  const input = /** @type {HTMLInputElement} */ (
    h('input', { name: 'id', value: id, placeholder: 'Message id', size: 40, required: true })
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
  if (!id) return;
  try {
    out.replaceChildren(...timeline(await get(`/api/v1/messages/${encodeURIComponent(id)}`)));
  } catch (error) {
    out.replaceChildren(errorBox(error));
  }
}

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
