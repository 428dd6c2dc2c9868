/**
 * @module One object by type and key: its current revision and owner; its history, each revision with
 * the decision and rule that made it; the newest decisions about it, also those that made no revision
 * (stale, duplicate, rejected, proposed); its watermarks and its data.
 */
import { get } from '../api.js';
import { errorBox, h, table, valueView, when } from '../dom.js';

/** @param {HTMLElement} root @param {import('../console.js').App} app @param {string[]} args */
export async function render(root, app, args) {
  const [type = 'ProductionOrder', key = ''] = args;
  const typeInput = /** @type {HTMLInputElement} */ (
    h('input', { name: 'type', value: type, size: 22, required: true, 'aria-label': 'Object type' })
  );
  const keyInput = /** @type {HTMLInputElement} */ (
    h('input', {
      name: 'key',
      value: key,
      placeholder: 'Object key',
      size: 24,
      required: true,
      'aria-label': 'Object key',
    })
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
    out.replaceChildren(
      ...objectView(await get(`/api/v1/objects/${encodeURIComponent(type)}/${encodeURIComponent(key)}`)),
    );
  } catch (error) {
    out.replaceChildren(errorBox(error));
  }
}

/** How many decisions the hub answers at most. */
const DECISIONS_SHOWN = 100;

/** @param {string} messageId */
const messageLink = (messageId) =>
  messageId ? h('a', { href: `#trace/${encodeURIComponent(messageId)}` }, messageId) : undefined;

/** @param {string | undefined} decision */
const decisionOf = (decision) => (decision ? h('span', { class: `status ${decision}` }, decision) : undefined);

/** @param {string | undefined} rule */
const ruleOf = (rule) => (rule ? h('code', {}, rule) : undefined);

/** @param {any} object @returns {Node[]} */
function objectView(object) {
  const { history, decisions, data, watermarks, type, key, revision, version, owner, sourceSystem, messageId } = object;
  /** @type {Array<[string, Node | string | number | undefined]>} */
  const facts = [
    ['Type', type],
    ['Key', key],
    ['Revision', revision],
    ['Version', version],
    ['Owner', owner],
    ['Written by', sourceSystem],
    ['Message', messageLink(messageId)],
    ['Occurred', when(object.occurredAt)],
    ['Updated', when(object.updatedAt)],
  ];
  return [
    h('dl', { class: 'values' }, ...facts.flatMap(([name, value]) => [h('dt', {}, name), h('dd', {}, value ?? '—')])),
    h('h2', {}, 'History, newest first'),
    h(
      'div',
      { class: 'history' },
      table(
        ['Revision', 'Version', 'Occurred', 'From', 'Message', 'Decision', 'Rule', 'Reason', 'Recorded'],
        [...(history ?? [])]
          .reverse()
          .map((/** @type {any} */ entry) => [
            entry.revision,
            entry.version,
            when(entry.occurredAt),
            entry.sourceSystem,
            messageLink(entry.messageId),
            decisionOf(entry.decision),
            ruleOf(entry.rule),
            entry.reason,
            when(entry.recordedAt),
          ]),
        'No history.',
      ),
    ),
    h('h2', {}, 'Decisions, newest first'),
    h(
      'div',
      { class: 'decisions' },
      decisions === undefined
        ? h('p', { class: 'muted' }, 'This hub does not report the decisions about an object.')
        : table(
            ['Decided', 'Message', 'Version', 'Occurred', 'Decision', 'Rule', 'Reason', 'Revision'],
            decisions.map((/** @type {any} */ decision) => [
              when(decision.decidedAt),
              messageLink(decision.messageId),
              decision.version,
              when(decision.occurredAt),
              decisionOf(decision.decision),
              ruleOf(decision.rule),
              decision.reason,
              decision.revision,
            ]),
            'No decisions.',
          ),
      decisions?.length >= DECISIONS_SHOWN &&
        h('p', { class: 'muted' }, `The newest ${DECISIONS_SHOWN}; the audit log has them all.`),
    ),
    h('h2', {}, 'Watermarks'),
    valueView(watermarks),
    h('h2', {}, 'Data'),
    valueView(data),
  ];
}
