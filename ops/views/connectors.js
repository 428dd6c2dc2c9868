/** @module Connectors and their health, with a connection test for operators. */
import { get, post } from '../api.js';
import { errorBox, h, table, valueView } from '../dom.js';

/** @param {HTMLElement} root @param {import('../console.js').App} app */
export async function render(root, app) {
  const { connectors } = await get('/api/v1/connectors');
  const tests = app.may('test-connector');
  root.append(
    table(
      ['Connector', 'Kind', 'Health', 'Detail', 'Inbound side', ...(tests ? ['Test'] : [])],
      connectors.map((/** @type {any} */ connector) => {
        const result = h('div', { class: 'test-result' });
        const test = async () => {
          result.replaceChildren(h('span', { class: 'muted' }, 'testing…'));
          try {
            result.replaceChildren(
              valueView(await post(`/api/v1/connectors/${encodeURIComponent(connector.id)}/test`)),
            );
          } catch (error) {
            result.replaceChildren(errorBox(error));
          }
        };
        return [
          connector.id,
          connector.kind,
          h('span', { class: `status ${connector.health.status}` }, connector.health.status),
          connector.health.detail ?? '',
          connector.inbound ? `${connector.inbound.role} (leader ${connector.inbound.leader ?? 'none'})` : '',
          ...(tests
            ? [h('div', {}, h('button', { type: 'button', 'data-action': 'test', onclick: test }, 'Test'), result)]
            : []),
        ];
      }),
      'No connectors are configured.',
    ),
  );
}
