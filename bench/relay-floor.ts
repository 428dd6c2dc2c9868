/**
 * The floor under bench/hub-throughput.ts: what this machine delivers end to end when the hub does
 * nothing but the two HTTP hops the benchmark defines. A bare `node:http` relay in its own process
 * answers each POST 202 and forwards its body to the same HTTP target over keep-alive connections —
 * no queue, no store, no mapping, nothing durable. Same generator, payloads, concurrency and target
 * as the hub benchmark, next to the raw BullMQ hop in the same run. No implementation of the hub can
 * beat this figure on the same machine: it is the ceiling of its ratio.
 * Run: npx tsx bench/relay-floor.ts [documents] [concurrency]
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { Agent, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureRedis } from '../hub/queue/redis-server';
import type { Readable } from 'node:stream';
import { startHttpTarget, type HttpTarget } from '../test/support/http-target';
import { floorRun, postAndForget, rawBullmq, redisPid } from './support';

const documents = Number(process.argv[2] ?? 5000);
const concurrency = Number(process.argv[3] ?? 64);

/** The relay process: POST in → 202 → POST of the same body to `targetUrl`. */
function relay(targetUrl: string): void {
  const target = new URL('/', targetUrl);
  const agent = new Agent({ keepAlive: true });
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const messageId = randomUUID();
      res.writeHead(202, { 'content-type': 'application/json' }).end(JSON.stringify({ messageId }));
      postAndForget(agent, target, body, { 'content-type': 'application/json', 'x-handover-message-id': messageId });
    });
  });
  server.listen(0, '127.0.0.1', () => process.stdout.write(`${(server.address() as AddressInfo).port}\n`));
}

async function main(): Promise<void> {
  const redisDir = mkdtempSync(join(tmpdir(), 'handover-bench-redis-'));
  const redis = await ensureRedis({ dataDir: redisDir });
  console.log(`${documents} ProductionOrder documents, concurrency ${concurrency}, node ${process.version}`);
  const raw = await rawBullmq(redis.url, { count: documents, concurrency, redisPid: redisPid(redisDir) });
  const target = await startHttpTarget();
  const child = spawn(process.execPath, [...process.execArgv, __filename, 'relay', target.url], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    await measure(child, target, raw.rate);
  } finally {
    child.kill();
    await target.close();
    await redis.stop();
  }
}

async function measure(
  child: ChildProcessByStdio<null, Readable, null>,
  target: HttpTarget,
  baseline: number,
): Promise<void> {
  const [port] = (await once(child.stdout, 'data')) as [Buffer];
  const url = `http://127.0.0.1:${String(port).trim()}`;
  const floor = await floorRun(url, target, {
    documents,
    concurrency,
    name: 'floor: bare relay, nothing stored',
    groups: { relay: [child.pid!], 'generator + target': [process.pid] },
    timeoutMs: 120_000,
  });
  console.log(`ceiling of the ratio (floor / raw BullMQ): ${(floor.rate / baseline).toFixed(2)}`);
}

if (process.argv[2] === 'relay') relay(process.argv[3]!);
else void main();
