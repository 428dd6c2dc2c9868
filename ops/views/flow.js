/**
 * @module Flow: the last hour in 10-second buckets — messages in per system as lines, decisions by
 * kind as stacked bars, totals of out, dead letters and errors — kept live by the hub's `flow`
 * server-sent events.
 */
import { get } from '../api.js';
import { h } from '../dom.js';
import { chart } from '../chart.js';

const HOUR = 3600;

/** @param {HTMLElement} root */
export async function render(root) {
  /** @type {Map<number, Record<string, number>>} */
  const buckets = new Map();
  let bucketSeconds = 10;
  const live = h('span', { class: 'live', 'data-live': 'connecting' }, 'connecting…');
  const totals = h('div', { class: 'totals' });
  const inChart = h('figure', { class: 'chart' });
  const decisionChart = h('figure', { class: 'chart' });
  root.append(
    h('p', { class: 'muted' }, 'The last hour, per 10 seconds. Live: ', live),
    totals,
    inChart,
    decisionChart,
  );

  /** @param {{ bucketSeconds: number, buckets: Array<{ at: number, counts: Record<string, number> }> }} flow */
  function merge(flow) {
    bucketSeconds = flow.bucketSeconds;
    for (const bucket of flow.buckets) buckets.set(bucket.at, bucket.counts);
    const newest = Math.max(...buckets.keys());
    for (const at of buckets.keys()) if (at <= newest - HOUR) buckets.delete(at);
    draw();
  }

  function draw() {
    const slots = [...buckets.keys()].sort((a, b) => a - b);
    /** @type {Record<string, number>} */
    const sum = {};
    for (const counts of buckets.values())
      for (const [field, count] of Object.entries(counts)) sum[field] = (sum[field] ?? 0) + count;
    /** @param {string} prefix */
    const fields = (prefix) =>
      Object.keys(sum)
        .filter((field) => field.startsWith(prefix))
        .sort();
    /** @param {string} prefix */
    const total = (prefix) => fields(prefix).reduce((all, field) => all + (sum[field] ?? 0), 0);
    /** @param {string} prefix */
    const series = (prefix) =>
      fields(prefix).map((field) => ({
        name: field.slice(prefix.length),
        values: slots.map((at) => buckets.get(at)?.[field] ?? 0),
      }));
    const figure = (/** @type {string} */ name, /** @type {string} */ title, /** @type {number} */ value) =>
      h(
        'div',
        { class: 'figure', 'data-total': name },
        h('span', { class: 'figure-value' }, value),
        h('span', { class: 'figure-title' }, title),
      );
    totals.replaceChildren(
      figure('in', 'messages in', total('in:')),
      figure('accepted', 'accepted', sum['decision:accepted'] ?? 0),
      figure('out', 'delivered', total('out:')),
      figure('dead', 'dead letters', total('dead:')),
      figure('error', 'errors', total('error:')),
    );
    inChart.replaceChildren(
      chart({ kind: 'lines', times: slots, bucketSeconds, series: series('in:') }),
      h('figcaption', {}, 'Messages in, per system'),
    );
    decisionChart.replaceChildren(
      chart({ kind: 'bars', times: slots, bucketSeconds, series: series('decision:') }),
      h('figcaption', {}, 'Decisions, by kind'),
    );
  }

  merge(await get('/api/v1/flow?minutes=60'));
  const events = new EventSource('/api/v1/events');
  events.addEventListener('flow', (event) => {
    live.dataset.live = 'open';
    live.textContent = `updated ${new Date().toLocaleTimeString()}`;
    merge(JSON.parse(/** @type {MessageEvent} */ (event).data));
  });
  // The hub ends the stream when this session may no longer watch (expired, closed, user removed):
  // starting again shows the login, or the views the role has now.
  events.addEventListener('closed', () => {
    events.close();
    location.reload();
  });
  events.addEventListener('error', () => {
    live.dataset.live = 'retrying';
    live.textContent = 'reconnecting…';
  });
  return () => events.close();
}
