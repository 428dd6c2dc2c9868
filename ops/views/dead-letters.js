/**
 * @module Dead letters: the open ones (or all, with their outcome), replay one, discard one with a
 * reason, or replay many by a filter with a reason; an ingest one is translated again with the current
 * mapping or its original one. Only operators (and admin) see the actions.
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
  const replays = app.may('replay');
  const discards = app.may('discard');
  const acts = replays || discards;
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
          // An ingest dead letter is translated again: with the mapping of today, or the one it first had.
          const mapping =
            replays && open && letter.stage === 'ingest' ? mappingChoice('Mapping for the replay') : undefined;
          if (replays && open)
            actions.append(
              mapping ?? '',
              h(
                'button',
                {
                  type: 'button',
                  class: 'primary',
                  'data-action': 'replay',
                  onclick: () => replay(letter, mapping?.value),
                },
                'Replay',
              ),
            );
          if (discards && open)
            actions.append(
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

  /** @param {any} letter @param {string | undefined} mapping */
  async function replay(letter, mapping) {
    try {
      const answer = await post(
        `/api/v1/dead-letters/${encodeURIComponent(letter.id)}/replay`,
        mapping ? { mapping } : undefined,
      );
      say(
        h(
          'div',
          { class: 'notice ok', role: 'status' },
          `Replay ${answer.queued ? 'queued' : 'recorded'} for message `,
          h('a', { href: `#trace/${encodeURIComponent(letter.messageId)}` }, letter.messageId),
          mappingNote(answer.mapping),
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

  if (replays) {
    const stage = h(
      'select',
      { name: 'stage', 'aria-label': 'stage' },
      h('option', { value: '' }, 'any stage'),
      h('option', {}, 'ingest'),
      h('option', {}, 'deliver'),
    );
    const field = (/** @type {string} */ name) => h('input', { name, placeholder: name, size: 10, 'aria-label': name });
    // Only ingest dead letters are translated again, so only for them is there a mapping to choose.
    const mapping = mappingChoice('Mapping for the replays');
    mapping.hidden = true;
    stage.addEventListener('change', () => {
      mapping.hidden = /** @type {HTMLSelectElement} */ (stage).value !== 'ingest';
    });
    const filter = [stage, field('code'), field('system'), field('target'), mapping];
    const bulk = h('details', { class: 'bulk' }, h('summary', {}, 'Replay many by a filter'));
    bulk.append(
      reasonForm(
        'Replay matching',
        async (reason) => {
          /** @type {Record<string, string>} */
          const body = { reason };
          for (const input of filter) {
            const { name, value, hidden } = /** @type {HTMLInputElement} */ (input);
            if (value && !hidden) body[name] = value;
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

/**
 * What an ingest replay's answer says of its mapping: the current one, or the original version.
 * @param {any} mapping absent from a delivery replay's answer (and from hubs before the choice)
 */
function mappingNote(mapping) {
  if (mapping === 'current') return ', with the current mapping';
  if (mapping?.original) return `, with the original mapping ${mapping.original.name}`;
  return '';
}

/**
 * Which mapping an ingest replay translates with: today's (the default) or the one the message was
 * first translated with.
 * @param {string} label
 */
function mappingChoice(label) {
  return /** @type {HTMLSelectElement} */ (
    h(
      'select',
      { name: 'mapping', 'aria-label': label, class: 'mapping' },
      h('option', { value: 'current' }, 'current mapping'),
      h('option', { value: 'original' }, 'original mapping'),
    )
  );
}
