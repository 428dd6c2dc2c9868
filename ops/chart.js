/** @module A small SVG chart of counts over time: lines, or bars stacked per time step. */

const NS = 'http://www.w3.org/2000/svg';
const WIDTH = 1100;
const HEIGHT = 200;
const LEFT = 40;
const BOTTOM = 20;

/**
 * @param {string} tag
 * @param {Record<string, string | number>} attributes
 * @param {...Node} children
 */
function svg(tag, attributes, ...children) {
  const element = document.createElementNS(NS, tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, String(value));
  element.append(...children);
  return element;
}

/**
 * @param {{ kind: 'lines' | 'bars', times: number[], bucketSeconds: number, series: Array<{ name: string, values: number[] }> }} input
 * @returns {Node}
 */
export function chart({ kind, times, series }) {
  const steps = Math.max(times.length, 1);
  const heights = times.map((_, index) =>
    kind === 'bars'
      ? series.reduce((sum, one) => sum + (one.values[index] ?? 0), 0)
      : Math.max(0, ...series.map((one) => one.values[index] ?? 0)),
  );
  const top = Math.max(1, ...heights);
  const plotWidth = WIDTH - LEFT;
  const plotHeight = HEIGHT - BOTTOM;
  const x = (/** @type {number} */ index) => LEFT + (index / steps) * plotWidth;
  const y = (/** @type {number} */ value) => plotHeight - (value / top) * (plotHeight - 8);
  const root = svg('svg', { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, class: 'chart-svg', role: 'img' });
  root.append(
    svg('line', { x1: LEFT, y1: plotHeight, x2: WIDTH, y2: plotHeight, class: 'axis' }),
    svg('text', { x: LEFT - 6, y: y(top) + 4, class: 'tick end' }, document.createTextNode(String(top))),
    svg('text', { x: LEFT - 6, y: plotHeight, class: 'tick end' }, document.createTextNode('0')),
  );
  for (const index of [0, Math.floor(steps / 2), steps - 1]) {
    const at = times[index];
    if (at === undefined) continue;
    const label = new Date(at * 1000).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
    root.append(svg('text', { x: x(index), y: HEIGHT - 4, class: 'tick' }, document.createTextNode(label)));
  }
  const width = plotWidth / steps;
  series.forEach((one, number) => {
    const tone = `series-${number % 6}`;
    if (kind === 'lines') {
      const points = one.values.map((value, index) => `${x(index + 0.5).toFixed(1)},${y(value).toFixed(1)}`);
      root.append(svg('polyline', { points: points.join(' '), class: `line ${tone}` }));
    } else {
      one.values.forEach((value, index) => {
        if (value === 0) return;
        const below = series.slice(0, number).reduce((sum, other) => sum + (other.values[index] ?? 0), 0);
        root.append(
          svg('rect', {
            x: x(index) + 0.5,
            y: y(below + value),
            width: Math.max(width - 1, 1),
            height: y(below) - y(below + value),
            class: `bar ${tone}`,
          }),
        );
      });
    }
  });
  const legend = document.createElement('div');
  legend.className = 'legend';
  series.forEach((one, number) => {
    const item = document.createElement('span');
    item.className = `key series-${number % 6}`;
    item.textContent = `${one.name} ${one.values.reduce((sum, value) => sum + value, 0)}`;
    legend.append(item);
  });
  if (series.length === 0) legend.textContent = 'Nothing in the last hour.';
  const wrap = document.createElement('div');
  wrap.append(root, legend);
  return wrap;
}
