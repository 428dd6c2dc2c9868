/**
 * @module Queues: per queue its waiting, active, delayed and failed jobs, its oldest waiting job, the
 * 95th percentile of its jobs' waits (when the hub reports it) and its workers; per target paused or
 * not, with pause and resume (a reason each, audited) for operators.
 */
import { get, post } from '../api.js';
import { errorBox, h, notice, reasonForm, table } from '../dom.js';

/** @param {HTMLElement} root @param {import('../console.js').App} app */
export async function render(root, app) {
  const messages = h('div', { class: 'messages' });
  const targets = h('div', { class: 'list' });
  const queues = h('div', { class: 'list' });
  root.append(messages, h('h2', {}, 'Targets'), targets, h('h2', {}, 'Queues'), queues);

  async function load() {
    const answer = await get('/api/v1/queues');
    targets.replaceChildren(
      table(
        ['Target', 'Partitions', 'State', ...(app.may('pause') ? [''] : [])],
        answer.targets.map((/** @type {any} */ target) => {
          const cell = h('td', { class: 'actions' });
          const change = target.paused ? 'resume' : 'pause';
          cell.append(
            h(
              'button',
              {
                type: 'button',
                'data-action': change,
                onclick: () => {
                  cell.querySelector('form')?.remove();
                  cell.append(
                    reasonForm(target.paused ? 'Resume' : 'Pause', async (reason) => {
                      await post(`/api/v1/targets/${encodeURIComponent(target.target)}/${change}`, { reason });
                      messages.replaceChildren(notice(`${target.target} ${target.paused ? 'resumed' : 'paused'}.`));
                      await load();
                    }),
                  );
                },
              },
              target.paused ? 'Resume…' : 'Pause…',
            ),
          );
          return [
            target.target,
            target.partitions,
            h(
              'span',
              { class: `status ${target.paused ? 'paused' : 'running'}` },
              target.paused ? 'paused' : 'running',
            ),
            ...(app.may('pause') ? [cell] : []),
          ];
        }),
        'No targets.',
      ),
    );
    // The p95 wait is shown when the hub reports it (hubs before it do not).
    const p95 = answer.queues.some((/** @type {any} */ queue) => queue.p95WaitMs !== undefined);
    queues.replaceChildren(
      table(
        [
          'Queue',
          'Stage',
          'Target',
          'Waiting',
          'Active',
          'Delayed',
          'Failed',
          'Oldest waiting',
          ...(p95 ? ['p95 wait'] : []),
          'Workers',
        ],
        answer.queues.map((/** @type {any} */ queue) =>
          queue.ok === false
            ? [queue.name, queue.stage, queue.target, h('span', { class: 'status dead' }, `no answer: ${queue.error}`)]
            : [
                queue.name,
                queue.stage,
                queue.target === undefined ? '' : `${queue.target} #${queue.partition}`,
                queue.waiting,
                queue.active,
                queue.delayed,
                queue.failed,
                wait(queue.oldestWaitingMs),
                ...(p95 ? [h('span', { 'data-p95-wait': queue.p95WaitMs ?? '' }, wait(queue.p95WaitMs))] : []),
                h(
                  'span',
                  { class: queue.noWorker ? 'status dead' : '' },
                  `${queue.workers ?? '?'}${queue.noWorker ? ' — none while jobs wait' : ''}`,
                ),
              ],
        ),
        'No queues.',
      ),
    );
  }
  await load().catch((error) => messages.replaceChildren(errorBox(error)));
}

/** A wait as the queue table shows it: milliseconds under a second, else whole seconds. @param {number | undefined} ms */
function wait(ms) {
  if (ms === undefined || ms === null) return '';
  return ms < 1000 ? `${Math.round(ms)} ms` : `${Math.round(ms / 1000)} s`;
}
