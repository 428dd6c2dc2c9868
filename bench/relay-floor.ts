/**
 * The floor under bench/hub-throughput.ts: what this machine delivers end to end when the hub does
 * nothing but the two HTTP hops the benchmark defines. A bare `node:http` relay in its own process
 * answers each POST 202 and forwards its body to the same HTTP target over keep-alive connections —
 * no queue, no store, no mapping, nothing durable. Same generator, payloads, concurrency and target
 * as the hub benchmark, next to the raw BullMQ hop in the same run. No implementation of the hub can
 * beat this figure on the same machine: it is the ceiling of its ratio.
 * Run: npx tsx bench/relay-floor.ts [documents] [concurrency]
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { Agent, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { floorBenchmark, postAndForget } from './support';

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

function main(): Promise<void> {
  return floorBenchmark({
    documents,
    concurrency,
    name: 'floor: bare relay, nothing stored',
    ratio: 'ceiling of the ratio (floor / raw BullMQ)',
    timeoutMs: 120_000,
    start: (_redisUrl, targetUrl) => {
      const door = spawn(process.execPath, [...process.execArgv, __filename, 'relay', targetUrl], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      return { door, others: [], ready: Promise.resolve(), groups: { relay: [door.pid!] } };
    },
  });
}

if (process.argv[2] === 'relay') relay(process.argv[3]!);
else void main();
