/**
 * @module Production context: a work unit's state (open stop, running order, counters) and its OEE
 * per shift over a time range, for a unit or line picked from the configuration's (or typed in).
 */
import { get, withQuery } from '../api.js';
import { errorBox, h, valueView } from '../dom.js';

/** @param {HTMLElement} root */
export async function render(root) {
  const dayAgo = new Date(Date.now() - 24 * 3600 * 1000).toISOString().slice(0, 16);
  const now = new Date().toISOString().slice(0, 16);
  const unit = /** @type {HTMLInputElement} */ (
    h('input', {
      name: 'equipment',
      placeholder: 'Work unit or line id',
      size: 24,
      required: true,
      list: 'equipment-ids',
    })
  );
  const ids = h('datalist', { id: 'equipment-ids' });
  get('/api/v1/equipment').then(
    (/** @type {{ lines: Array<{ id: string, workUnits: Array<{ id: string }> }> }} */ answer) =>
      ids.replaceChildren(
        ...answer.lines
          .flatMap((line) => [line.id, ...line.workUnits.map((unit) => unit.id)])
          .map((id) => h('option', { value: id })),
      ),
    () => undefined,
  );
  const from = /** @type {HTMLInputElement} */ (h('input', { name: 'from', type: 'datetime-local', value: dayAgo }));
  const to = /** @type {HTMLInputElement} */ (h('input', { name: 'to', type: 'datetime-local', value: now }));
  const state = h('div', { class: 'state' });
  const figures = h('div', { class: 'oee' });
  const iso = (/** @type {HTMLInputElement} */ input) => (input.value ? `${input.value}:00Z` : undefined);
  root.append(
    h(
      'form',
      {
        class: 'lookup',
        onsubmit: async (/** @type {Event} */ event) => {
          event.preventDefault();
          const id = unit.value.trim();
          state.replaceChildren();
          figures.replaceChildren();
          try {
            state.replaceChildren(
              h('h2', {}, 'State'),
              valueView(await get(`/api/v1/equipment/${encodeURIComponent(id)}/state`)),
            );
          } catch (error) {
            state.replaceChildren(errorBox(error));
          }
          try {
            const query = { equipment: id, from: iso(from), to: iso(to), groupBy: 'shift' };
            figures.replaceChildren(h('h2', {}, 'OEE by shift'), valueView(await get(withQuery('/api/v1/oee', query))));
          } catch (error) {
            figures.replaceChildren(errorBox(error));
          }
        },
      },
      unit,
      ids,
      h('label', {}, 'from (UTC) ', from),
      h('label', {}, 'to (UTC) ', to),
      h('button', { type: 'submit', class: 'primary' }, 'Show'),
    ),
    state,
    figures,
  );
}
