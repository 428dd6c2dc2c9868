/**
 * Renders bench/results/load-curve.json (from bench/load-curve.ts) as a hand-written SVG: achieved
 * throughput against offered load, and p99 (solid) and p50 (dashed) latency against offered load
 * on a log scale, for the raw BullMQ hop and the hub.
 * Run: npx tsx bench/chart.ts [input=bench/results/load-curve.json] [output=docs/images/load-curve.svg]
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { CurvePoint, LoadCurve } from './load-curve';

const input = process.argv[2] ?? join(__dirname, 'results', 'load-curve.json');
const output = process.argv[3] ?? join(__dirname, '..', 'docs', 'images', 'load-curve.svg');

const WIDTH = 1000;
const HEIGHT = 460;
const PANEL = { width: 400, height: 300, top: 60 };
const LEFT_X = 80;
const RIGHT_X = 570;
const SERIES = [
  { key: 'raw', label: 'raw BullMQ hop (add + no-op worker)', colour: '#1f77b4' },
  { key: 'hub', label: 'Handover end to end (door → target)', colour: '#d62728' },
] as const;

interface Axis {
  min: number;
  max: number;
  ticks: number[];
  label: (value: number) => string;
  scale: (value: number) => number;
}

function niceStep(span: number): number {
  const raw = span / 5;
  const power = 10 ** Math.floor(Math.log10(raw));
  return ([1, 2, 5, 10].map((m) => m * power).find((step) => step >= raw) ?? 10 * power) as number;
}

function linearAxis(max: number, length: number, invert: boolean): Axis {
  const step = niceStep(max);
  const top = Math.ceil(max / step) * step;
  const ticks = Array.from({ length: Math.round(top / step) + 1 }, (_, i) => i * step);
  return {
    min: 0,
    max: top,
    ticks,
    label: (value) => value.toLocaleString('en-US').replace(/,/g, ' '),
    scale: (value) => (invert ? length - (value / top) * length : (value / top) * length),
  };
}

function logAxis(min: number, max: number, length: number): Axis {
  const low = Math.floor(Math.log10(Math.max(min, 0.1)));
  const high = Math.max(low + 1, Math.ceil(Math.log10(max)));
  const ticks = Array.from({ length: high - low + 1 }, (_, i) => 10 ** (low + i));
  return {
    min: 10 ** low,
    max: 10 ** high,
    ticks,
    label: (ms) => (ms >= 1000 ? `${ms / 1000} s` : `${ms} ms`),
    scale: (ms) => length - ((Math.log10(Math.max(ms, 10 ** low)) - low) / (high - low)) * length,
  };
}

/** The angle of the line achieved = offered on the throughput panel, for its label. */
function rotation(x: Axis, y: Axis, max: number): number {
  return (Math.atan2(y.scale(max) - y.scale(0), x.scale(max) - x.scale(0)) * 180) / Math.PI;
}

const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;');

function panel(
  x0: number,
  title: string,
  xAxis: Axis,
  yAxis: Axis,
  yTitle: string,
  lines: Array<{ points: Array<[number, number]>; colour: string; dashed?: boolean }>,
  extra = '',
): string {
  const { width, height, top } = PANEL;
  const px = (value: number) => x0 + xAxis.scale(value);
  const py = (value: number) => top + yAxis.scale(value);
  const parts = [
    `<text x="${x0 + width / 2}" y="${top - 24}" text-anchor="middle" font-size="15" font-weight="bold">${escape(title)}</text>`,
    `<rect x="${x0}" y="${top}" width="${width}" height="${height}" fill="none" stroke="#999"/>`,
  ];
  for (const tick of xAxis.ticks) {
    parts.push(
      `<line x1="${px(tick)}" y1="${top}" x2="${px(tick)}" y2="${top + height}" stroke="#eee"/>`,
      `<text x="${px(tick)}" y="${top + height + 18}" text-anchor="middle" font-size="11">${xAxis.label(tick)}</text>`,
    );
  }
  for (const tick of yAxis.ticks) {
    parts.push(
      `<line x1="${x0}" y1="${py(tick)}" x2="${x0 + width}" y2="${py(tick)}" stroke="#eee"/>`,
      `<text x="${x0 - 6}" y="${py(tick) + 4}" text-anchor="end" font-size="11">${yAxis.label(tick)}</text>`,
    );
  }
  parts.push(
    `<text x="${x0 + width / 2}" y="${top + height + 40}" text-anchor="middle" font-size="12">offered load (documents/s)</text>`,
    `<text x="${x0 - 62}" y="${top + height / 2}" text-anchor="middle" font-size="12" transform="rotate(-90 ${x0 - 62} ${top + height / 2})">${escape(yTitle)}</text>`,
    extra,
  );
  for (const line of lines) {
    if (line.points.length === 0) continue;
    const path = line.points.map(([x, y], i) => `${i === 0 ? 'M' : 'L'}${px(x).toFixed(1)},${py(y).toFixed(1)}`);
    parts.push(
      `<path d="${path.join(' ')}" fill="none" stroke="${line.colour}" stroke-width="${line.dashed ? 1.5 : 2.5}"${line.dashed ? ' stroke-dasharray="5 4"' : ''}/>`,
      ...line.points.map(
        ([x, y]) =>
          `<circle cx="${px(x).toFixed(1)}" cy="${py(y).toFixed(1)}" r="${line.dashed ? 2.5 : 3.5}" fill="${line.colour}"/>`,
      ),
    );
  }
  return parts.join('\n');
}

/** The SVG text for a load curve. */
export function renderLoadCurve(curve: LoadCurve): string {
  const all: CurvePoint[] = [...curve.series.raw, ...curve.series.hub];
  const maxOffered = Math.max(...all.map((p) => p.offered));
  const xLeft = linearAxis(maxOffered, PANEL.width, false);
  const yThroughput = linearAxis(Math.max(maxOffered, ...all.map((p) => p.achieved)), PANEL.height, true);
  const yLatency = logAxis(Math.min(...all.map((p) => p.p50Ms)), Math.max(...all.map((p) => p.p99Ms)), PANEL.height);
  const diagonal = `<line x1="${LEFT_X + xLeft.scale(0)}" y1="${PANEL.top + yThroughput.scale(0)}" x2="${LEFT_X + xLeft.scale(maxOffered)}" y2="${PANEL.top + yThroughput.scale(maxOffered)}" stroke="#888" stroke-dasharray="3 3"/>
<text x="${LEFT_X + xLeft.scale(maxOffered * 0.6) + 6}" y="${PANEL.top + yThroughput.scale(maxOffered * 0.6) - 6}" text-anchor="end" font-size="11" fill="#666" transform="rotate(${rotation(xLeft, yThroughput, maxOffered).toFixed(1)} ${LEFT_X + xLeft.scale(maxOffered * 0.6)} ${PANEL.top + yThroughput.scale(maxOffered * 0.6)})">achieved = offered</text>`;
  const throughput = panel(
    LEFT_X,
    'Throughput',
    xLeft,
    yThroughput,
    'achieved (documents/s)',
    SERIES.map((s) => ({ points: curve.series[s.key].map((p) => [p.offered, p.achieved]), colour: s.colour })),
    diagonal,
  );
  const latency = panel(
    RIGHT_X,
    'Latency (p99 solid, p50 dashed)',
    linearAxis(maxOffered, PANEL.width, false),
    yLatency,
    'send → arrival',
    SERIES.flatMap((s) => [
      { points: curve.series[s.key].map((p): [number, number] => [p.offered, p.p99Ms]), colour: s.colour },
      {
        points: curve.series[s.key].map((p): [number, number] => [p.offered, p.p50Ms]),
        colour: s.colour,
        dashed: true,
      },
    ]),
  );
  const legend = SERIES.map(
    (s, i) =>
      `<rect x="${LEFT_X + i * 430}" y="${HEIGHT - 24}" width="14" height="4" fill="${s.colour}"/><text x="${LEFT_X + i * 430 + 20}" y="${HEIGHT - 18}" font-size="12">${escape(s.label)}</text>`,
  ).join('\n');
  const notRun = curve.hubNotRun.length
    ? ` · Handover not run at ${curve.hubNotRun.join(', ')}/s (past saturation)`
    : '';
  const caption = `${curve.date.slice(0, 10)} · ${curve.machine.cpus} cores · node ${curve.machine.node} · ${curve.documentBytes} B documents · ${curve.secondsPerRate} s per rate${notRun}`;
  return `<?xml version="1.0" encoding="UTF-8"?>
<!-- Generated by bench/chart.ts from bench/results/load-curve.json; do not edit. -->
<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif">
<rect width="${WIDTH}" height="${HEIGHT}" fill="#fff"/>
<text x="${WIDTH / 2}" y="18" text-anchor="middle" font-size="11" fill="#555">${escape(caption)}</text>
${throughput}
${latency}
${legend}
</svg>
`;
}

if (require.main === module) {
  const curve = JSON.parse(readFileSync(input, 'utf8')) as LoadCurve;
  mkdirSync(dirname(output), { recursive: true });
  writeFileSync(output, renderLoadCurve(curve));
  console.log(`wrote ${output}`);
}
