/**
 * Benchmark of the B2MML codec: documents/s for read (parse + map + validate) and write, next to a
 * raw xml2js parse of the same bytes in the same run, and how fast hostile documents are refused.
 * Run: npx tsx bench/b2mml-codec.ts
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseStringPromise } from 'xml2js';
import { readB2mml, writeB2mml } from '../schemas/b2mml/index';

const xml = readFileSync(
  join(__dirname, '..', 'seeds', 'packaging-line', 'b2mml', 'process-operations-schedule.xml'),
  'utf8',
);
const seconds = Number(process.env.BENCH_SECONDS ?? 3);

async function rate(name: string, work: () => unknown): Promise<number> {
  for (let i = 0; i < 200; i += 1) await work();
  let count = 0;
  const started = process.hrtime.bigint();
  const deadline = started + BigInt(seconds * 1e9);
  while (process.hrtime.bigint() < deadline) {
    await work();
    count += 1;
  }
  const perSecond = count / (Number(process.hrtime.bigint() - started) / 1e9);
  console.log(`${name.padEnd(46)} ${perSecond.toFixed(0).padStart(8)} docs/s`);
  return perSecond;
}

function worstMs(work: () => void, runs = 50): number {
  let worst = 0;
  for (let i = 0; i < runs; i += 1) {
    const started = process.hrtime.bigint();
    work();
    worst = Math.max(worst, Number(process.hrtime.bigint() - started) / 1e6);
  }
  return worst;
}

async function main(): Promise<void> {
  console.log(
    `B2MML codec, ${Buffer.byteLength(xml)} B schedule with 2 orders, ${seconds} s per figure, node ${process.version}`,
  );
  const baseline = await rate('baseline: xml2js.parseStringPromise', () => parseStringPromise(xml));
  const read = await rate('readB2mml (safe parse + map + ajv)', () => readB2mml(xml));
  const envelopes = readB2mml(xml).envelopes;
  await rate('writeB2mml (2 orders)', () =>
    writeB2mml(envelopes, { bodId: 'b', creationDateTime: '2024-05-01T00:00:00Z' }),
  );
  console.log(`ratio read / baseline parse: ${(read / baseline).toFixed(2)}`);

  const levels = Array.from({ length: 10 }, (_, i) => `<!ENTITY l${i + 1} "${`&l${i};`.repeat(10)}">`).join('');
  const bomb = `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY l0 "lol">${levels}]><lolz>&l10;</lolz>`;
  const xxe = `<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>`;
  const deep = `${'<a>'.repeat(100_000)}${'</a>'.repeat(100_000)}`;
  const refuse = (doc: string) => () => {
    try {
      readB2mml(doc);
    } catch {
      return;
    }
    throw new Error('hostile document accepted');
  };
  console.log(
    `hostile refusal, worst of 50: billion laughs ${worstMs(refuse(bomb)).toFixed(2)} ms, XXE ${worstMs(refuse(xxe)).toFixed(2)} ms, 100k-deep ${worstMs(refuse(deep)).toFixed(2)} ms`,
  );
}

void main();
