/**
 * @module Dead letters: the open ones (or all, with their outcome), replay one, discard one with a
 * reason, or replay many by a filter with a reason. Only operators (and admin) see the actions.
 */
import { get, post, withQuery } from '../api.js';
import { errorBox, h, notice, reasonForm, table, when } from '../dom.js';

/** @param {any} letter */
function outcome(letter) {
  if (letter.discardedAt) return `discarded ${when(letter.discardedAt)}`;
  if (letter.supersededAt) return `superseded ${when(letter.supersededAt)}`;
  if (letter.replayedAt) return `replayed ${when(letter.replayedAt)}`;
  return 'open';
}

/** @param {HTMLElement} root @param {import('../console.js').App} app */
export async function render(root, app) {
  const acts = app.may('replay');
  const all = /** @type {HTMLInputElement} */ (h('input', { type: 'checkbox', name: 'all' }));
  const messages = h('div', { class: 'messages' });
  const list = h('div', { class: 'list' });
  const tools = h('div', { class: 'tools' }, h('label', {}, all, ' Show replayed, superseded and discarded too'));
  root.append(tools, messages, list);

  /** @param {Node} node */
  const say = (node) => messages.replaceChildren(node);

  async function load() {
    const { deadLetters } = await get(withQuery('/api/v1/dead-letters', { all: all.checked ? 'true' : undefined }));
    list.replaceChildren(
      table(
        ['Filed', 'Stage', 'System', 'Code', 'Reason', 'Message', 'Status', ...(acts ? [''] : [])],
        deadLetters.map((/** @type {any} */ letter) => {
          const open = !letter.replayedAt && !letter.discardedAt && !letter.supersededAt;
          const actions = h('td', { class: 'actions' });
          if (acts && open)
            actions.append(
              h(
                'button',
                { type: 'button', class: 'primary', 'data-action': 'replay', onclick: () => replay(letter) },
                'Replay',
              ),
              h(
                'button',
                { type: 'button', 'data-action': 'discard', onclick: () => discard(letter, actions) },
                'Discard',
              ),
            );
          return [
            when(letter.createdAt),
            letter.stage,
            letter.system,
            h('code', {}, letter.code),
            h('span', { class: 'reason' }, letter.reason),
            h('a', { href: `#trace/${encodeURIComponent(letter.messageId)}` }, letter.messageId),
            outcome(letter),
            ...(acts ? [actions] : []),
          ];
        }),
        all.checked ? 'No dead letters.' : 'No open dead letters.',
      ),
    );
    for (const row of list.querySelectorAll('tbody tr')) row.classList.add('dead-letter');
  }

  /** @param {any} letter */
  async function replay(letter) {
    try {
      const answer = await post(`/api/v1/dead-letters/${encodeURIComponent(letter.id)}/replay`);
      say(
        h(
          'div',
          { class: 'notice ok', role: 'status' },
          `Replay ${answer.queued ? 'queued' : 'recorded'} for message `,
          h('a', { href: `#trace/${encodeURIComponent(letter.messageId)}` }, letter.messageId),
          '.',
        ),
      );
    } catch (error) {
      say(errorBox(error));
    }
    await load().catch((error) => say(errorBox(error)));
  }

  /** @param {any} letter @param {HTMLElement} cell */
  function discard(letter, cell) {
    cell.querySelector('form')?.remove();
    cell.append(
      reasonForm('Discard', async (reason) => {
        await post(`/api/v1/dead-letters/${encodeURIComponent(letter.id)}/discard`, { reason });
        say(notice(`Dead letter of message ${letter.messageId} discarded.`));
        await load();
      }),
    );
  }

  if (acts) {
    const stage = h(
      'select',
      { name: 'stage' },
      h('option', { value: '' }, 'any stage'),
      h('option', {}, 'ingest'),
      h('option', {}, 'deliver'),
    );
    const field = (/** @type {string} */ name) => h('input', { name, placeholder: name, size: 10 });
    const filter = [stage, field('code'), field('system'), field('target')];
    const bulk = h('details', { class: 'bulk' }, h('summary', {}, 'Replay many by a filter'));
    bulk.append(
      reasonForm(
        'Replay matching',
        async (reason) => {
          /** @type {Record<string, string>} */
          const body = { reason };
          for (const input of filter) {
            const { name, value } = /** @type {HTMLInputElement} */ (input);
            if (value) body[name] = value;
          }
          const answer = await post('/api/v1/dead-letters/replay', body);
          say(notice(`Matched ${answer.matched}, replayed ${answer.replayed}, skipped ${answer.skipped}.`));
          await load();
        },
        filter,
        false,
      ),
    );
    tools.append(bulk);
  }

  all.addEventListener('change', () => void load().catch((error) => say(errorBox(error))));
  await load();
}
