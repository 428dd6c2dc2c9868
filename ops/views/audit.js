/**
 * @module The audit log for auditors: records by filter, export links (CSV, JSONL) for the same
 * filter, and Verify, which recomputes the hash chain and shows the head hash to keep.
 */
import { get, withQuery } from '../api.js';
import { errorBox, h, table, valueView, when } from '../dom.js';

const FILTERS = ['from', 'to', 'type', 'system', 'decision'];

/** @param {HTMLElement} root */
export async function render(root) {
  const inputs = FILTERS.map(
    (name) =>
      /** @type {HTMLInputElement} */ (
        h('input', {
          name,
          'aria-label': name,
          placeholder: name === 'from' || name === 'to' ? `${name} (ISO time)` : name,
          size: 14,
        })
      ),
  );
  const filter = () => Object.fromEntries(inputs.map((input) => [input.name, input.value.trim() || undefined]));
  const csv = h('a', { class: 'button', 'data-export': 'csv', download: 'audit.csv' }, 'Export CSV');
  const jsonl = h('a', { class: 'button', 'data-export': 'jsonl', download: 'audit.jsonl' }, 'Export JSONL');
  const verdict = h('div', { class: 'verdict' });
  const list = h('div', { class: 'list' });

  function links() {
    csv.setAttribute('href', withQuery('/api/v1/audit/export', { format: 'csv', ...filter() }));
    jsonl.setAttribute('href', withQuery('/api/v1/audit/export', { format: 'jsonl', ...filter() }));
  }

  async function load() {
    links();
    try {
      const { records } = await get(withQuery('/api/v1/audit', { ...filter(), limit: '200' }));
      list.replaceChildren(
        table(
          ['Seq', 'At', 'Kind', 'Decision', 'Type', 'Object', 'System', 'Target', 'Rule', 'Details'],
          records.map((/** @type {any} */ r) => [
            r.seq,
            when(r.at),
            r.kind,
            r.decision,
            r.type,
            r.objectKey,
            r.system,
            r.target,
            r.rule,
            h('details', {}, h('summary', {}, 'details'), valueView(r.details)),
          ]),
          'No audit records match.',
        ),
      );
    } catch (error) {
      list.replaceChildren(errorBox(error));
    }
  }

  async function verify() {
    verdict.replaceChildren(h('span', { class: 'muted' }, 'Verifying…'));
    try {
      // 409 answers where the chain breaks: a result, not an error.
      const result = await get('/api/v1/audit/verify', { accept: [409] });
      verdict.replaceChildren(
        h(
          'div',
          {
            class: `notice ${result.ok ? 'ok' : 'bad'}`,
            role: 'status',
            'data-verdict': result.ok ? 'intact' : 'broken',
          },
          h('strong', {}, result.ok ? 'Intact' : 'Broken'),
          `: ${result.records} records, head ${result.headSeq} `,
          h('code', { class: 'hash' }, result.headHash),
          ...(result.ok
            ? []
            : [
                table(
                  ['Seq', 'Problem', 'Detail'],
                  result.problems.map((/** @type {any} */ p) => [p.seq, p.problem, p.detail]),
                ),
              ]),
        ),
      );
    } catch (error) {
      verdict.replaceChildren(errorBox(error));
    }
  }

  root.append(
    h(
      'form',
      {
        class: 'filters',
        onsubmit: (/** @type {Event} */ event) => {
          event.preventDefault();
          void load();
        },
      },
      ...inputs,
      h('button', { type: 'submit', class: 'primary' }, 'Search'),
      csv,
      jsonl,
      h('button', { type: 'button', 'data-action': 'verify', onclick: () => void verify() }, 'Verify'),
    ),
    verdict,
    list,
  );
  await load();
}
