/**
 * Summarises V8 CPU profiles (`node --cpu-prof`, or `BENCH_PROFILE=<dir>` for the hub benchmarks):
 * self time per package (or project directory) and the hottest functions, so a change is judged by
 * where the time goes rather than by a guess.
 * Run: npx tsx bench/cpu-profile.ts <file.cpuprofile | dir> [top functions, default 25]
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** The package a script belongs to (`bullmq`, `better-sqlite3`), or its project directory (`hub/store`). */
function owner(url: string): string {
  if (!url) return '(native / gc / idle)';
  const modules = url.lastIndexOf('node_modules/');
  if (modules >= 0) {
    const rest = url.slice(modules + 'node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  if (url.startsWith('node:')) return url;
  const dist = url.indexOf('/dist/');
  const path = dist >= 0 ? url.slice(dist + '/dist/'.length) : url.replace(/^file:\/\//, '');
  return path.split('/').slice(0, -1).slice(-2).join('/') || path;
}

function summarise(file: string, top: number): void {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map<number, number>();
  profile.samples.forEach((id, index) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[index] ?? 0)));
  const total = [...self.values()].reduce((sum, value) => sum + value, 0);
  const perOwner = new Map<string, number>();
  const perFunction = new Map<string, number>();
  for (const [id, micros] of self) {
    const { callFrame } = byId.get(id)!;
    const name = callFrame.functionName || '(anonymous)';
    if (name === '(idle)' || name === '(program)' || name === '(garbage collector)') {
      perOwner.set(name, (perOwner.get(name) ?? 0) + micros);
      continue;
    }
    const where = owner(callFrame.url);
    perOwner.set(where, (perOwner.get(where) ?? 0) + micros);
    const key = `${name}  ${where}:${callFrame.lineNumber + 1}`;
    perFunction.set(key, (perFunction.get(key) ?? 0) + micros);
  }
  const idle = perOwner.get('(idle)') ?? 0;
  const busy = total - idle;
  console.log(`\n${file}: ${(total / 1e6).toFixed(1)} s sampled, ${((busy / total) * 100).toFixed(0)} % busy`);
  const line = (label: string, micros: number) =>
    console.log(
      `  ${((micros / busy) * 100).toFixed(1).padStart(5)} %  ${(micros / 1e3).toFixed(0).padStart(7)} ms  ${label}`,
    );
  console.log(' self time by package or directory (share of busy time):');
  for (const [label, micros] of [...perOwner]
    .filter(([label]) => label !== '(idle)')
    .sort((a, b) => b[1] - a[1])
    .slice(0, 20))
    line(label, micros);
  console.log(` hottest ${top} functions:`);
  for (const [label, micros] of [...perFunction].sort((a, b) => b[1] - a[1]).slice(0, top)) line(label, micros);
  longestStretches(profile, byId);
}

/**
 * The longest stretches of samples without idle: below saturation the event loop idles between
 * turns, so each is a stall, and what it spent its time in says what stalled the loop.
 */
function longestStretches(profile: Profile, byId: Map<number, ProfileNode>, count = 5): void {
  const stretches: Array<{ startMs: number; micros: number; functions: Map<string, number> }> = [];
  let elapsed = 0;
  let current: (typeof stretches)[number] | undefined;
  profile.samples.forEach((id, index) => {
    const micros = profile.timeDeltas[index] ?? 0;
    elapsed += micros;
    const { callFrame } = byId.get(id)!;
    if (callFrame.functionName === '(idle)') {
      current = undefined;
      return;
    }
    if (!current) stretches.push((current = { startMs: elapsed / 1e3, micros: 0, functions: new Map() }));
    current.micros += micros;
    const key = `${callFrame.functionName || '(anonymous)'} ${owner(callFrame.url)}:${callFrame.lineNumber + 1}`;
    current.functions.set(key, (current.functions.get(key) ?? 0) + micros);
  });
  console.log(` longest ${count} stretches without idle (stalls of the event loop below saturation):`);
  for (const stretch of stretches.sort((a, b) => b.micros - a.micros).slice(0, count)) {
    const hottest = [...stretch.functions]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 4)
      .map(([label, micros]) => `${label} ${(micros / 1e3).toFixed(0)} ms`)
      .join(', ');
    console.log(
      `  ${(stretch.micros / 1e3).toFixed(0).padStart(6)} ms at ${(stretch.startMs / 1e3).toFixed(1)} s: ${hottest}`,
    );
  }
}

const target = process.argv[2];
if (!target) {
  console.error('usage: npx tsx bench/cpu-profile.ts <file.cpuprofile | dir> [top]');
  process.exit(2);
}
const top = Number(process.argv[3] ?? 25);
const files = statSync(target).isDirectory()
  ? readdirSync(target)
      .filter((name) => name.endsWith('.cpuprofile'))
      .map((name) => join(target, name))
  : [target];
for (const file of files) summarise(file, top);
