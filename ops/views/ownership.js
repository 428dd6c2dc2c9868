/** @module Ownership as configured: canonical types × systems, who owns each type or its field groups. */
import { get } from '../api.js';
import { h, table } from '../dom.js';

/** @param {HTMLElement} root */
export async function render(root) {
  const { systems, ownership } = await get('/api/v1/ownership');
  const types = Object.keys(ownership).filter((key) => key !== 'onNonOwnerWrite');
  root.append(
    h('p', { class: 'muted' }, `A write from a system that does not own the type: ${ownership.onNonOwnerWrite}.`),
    table(
      ['Type', ...systems.map((/** @type {any} */ system) => `${system.name} (${system.id})`)],
      types.map((type) => {
        const rule = ownership[type];
        return [
          h('strong', {}, type),
          ...systems.map((/** @type {any} */ system) => {
            const fields = Object.entries(rule.fields ?? {})
              .filter(([, owner]) => owner === system.id)
              .map(([field]) => field);
            const scoped = (rule.scopes ?? []).some((/** @type {any} */ scope) => scope.owner === system.id);
            const parts = [
              rule.owner === system.id ? h('span', { class: 'owner' }, 'owner') : undefined,
              fields.length > 0 ? h('span', { class: 'fields' }, `fields: ${fields.join(', ')}`) : undefined,
              scoped ? h('span', { class: 'fields' }, 'owner in a scope') : undefined,
            ].filter(Boolean);
            return parts.length > 0 ? h('span', { class: 'cell' }, ...parts) : '';
          }),
        ];
      }),
      'No ownership rules are configured.',
    ),
  );
}
