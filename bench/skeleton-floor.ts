/**
 * A tighter floor under bench/hub-throughput.ts than the bare relay: the least a hub must do to keep
 * the promises of docs/reliability.md, written as directly as it can be, with none of Handover's
 * code. A door process answers each POST 202 only once its payload is in a BullMQ job on Redis
 * (appendfsync always; one job per event-loop turn's payloads, as Handover's door batches); a worker
 * process takes each job and, in one SQLite transaction (WAL, synchronous = FULL), records per
 * document the message with its payload, the object, its history row, a pending delivery and one
 * hash-chained audit record; then it POSTs each document to the target over keep-alive connections
 * and records every outcome (the delivery marked delivered, one audit record) in a second
 * transaction (any HTTP status counts as delivered: the target answers 200); the transactions of
 * one turn of the loop share one commit. No express, no schema validation, no ownership rules, no mapping, no retries, no
 * per-object order across jobs, no metrics or logs. Same generator, payloads, concurrency and target
 * as the hub benchmark, next to the raw BullMQ hop in the same run.
 * Run: npx tsx bench/skeleton-floor.ts [documents] [concurrency]
 */
import { spawn } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { Agent, createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Queue, Worker } from 'bullmq';
import { floorBenchmark } from './support';

const documents = Number(process.argv[2] ?? 5000);
const concurrency = Number(process.argv[3] ?? 64);
const QUEUE = 'skeleton-ingest';

interface Message {
  id: string;
  body: string;
  at: string;
}

/** The door: POST → parse → one job per turn of the loop → 202 once the job is on Redis. */
function door(redisUrl: string): void {
  const queue = new Queue(QUEUE, { connection: { url: redisUrl, maxRetriesPerRequest: null }, prefix: 'skeleton' });
  let batch: Array<{ message: Message; answer: (ok: boolean) => void }> = [];
  const flush = () => {
    const taken = batch;
    batch = [];
    queue.add('batch', { messages: taken.map((entry) => entry.message) }, { removeOnComplete: true }).then(
      () => taken.forEach((entry) => entry.answer(true)),
      () => taken.forEach((entry) => entry.answer(false)),
    );
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      try {
        JSON.parse(body);
      } catch {
        res.writeHead(400).end('{"error":{"code":"PAYLOAD_MALFORMED"}}');
        return;
      }
      const message = { id: randomUUID(), body, at: new Date().toISOString() };
      if (batch.length === 0) setImmediate(flush);
      batch.push({
        message,
        answer: (ok) =>
          res
            .writeHead(ok ? 202 : 503, { 'content-type': 'application/json' })
            .end(JSON.stringify(ok ? { messageId: message.id } : { error: { code: 'QUEUE_UNAVAILABLE' } })),
      });
    });
  });
  server.listen(0, '127.0.0.1', () => process.stdout.write(`${(server.address() as AddressInfo).port}\n`));
}

/** The worker: record a job's documents in one transaction, deliver them, record the outcomes. */
function worker(redisUrl: string, targetUrl: string, dataDir: string): void {
  const db = new Database(join(dataDir, 'skeleton.db'));
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${process.env.SKELETON_SYNC ?? 'FULL'}`);
  db.exec(`
    CREATE TABLE messages (id TEXT PRIMARY KEY, received_at TEXT NOT NULL, body TEXT NOT NULL);
    CREATE TABLE objects (key TEXT PRIMARY KEY, revision INTEGER NOT NULL, data TEXT NOT NULL);
    CREATE TABLE history (key TEXT NOT NULL, revision INTEGER NOT NULL, data TEXT NOT NULL, PRIMARY KEY (key, revision));
    CREATE TABLE deliveries (id TEXT PRIMARY KEY, key TEXT NOT NULL, revision INTEGER NOT NULL, status TEXT NOT NULL);
    CREATE TABLE audit (seq INTEGER PRIMARY KEY, message_id TEXT NOT NULL, kind TEXT NOT NULL, details TEXT NOT NULL, hash TEXT NOT NULL);`);
  const insertMessage = db.prepare('INSERT INTO messages VALUES (?, ?, ?)');
  const readObject = db.prepare('SELECT revision FROM objects WHERE key = ?').pluck();
  const writeObject = db.prepare(
    'INSERT INTO objects VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET revision = excluded.revision, data = excluded.data',
  );
  const insertHistory = db.prepare('INSERT INTO history VALUES (?, ?, ?)');
  const insertDelivery = db.prepare(`INSERT INTO deliveries VALUES (?, ?, ?, 'pending')`);
  const markDelivered = db.prepare(`UPDATE deliveries SET status = 'delivered' WHERE id = ? AND status = 'pending'`);
  const insertAudit = db.prepare('INSERT INTO audit VALUES (?, ?, ?, ?, ?)');
  let seq = 0;
  let head = '0'.repeat(64);
  const audit = (messageId: string, kind: string, details: object) => {
    const text = JSON.stringify(details);
    seq += 1;
    head = createHash('sha256').update(head).update(`${seq}\n${messageId}\n${kind}\n${text}`).digest('hex');
    insertAudit.run(seq, messageId, kind, text, head);
  };
  const record = db.transaction((messages: Message[]) =>
    messages.map((message) => {
      const envelope = JSON.parse(message.body) as { type: string; objectKey: string; document: unknown };
      const key = `${envelope.type}:${envelope.objectKey}`;
      const revision = ((readObject.get(key) as number | undefined) ?? 0) + 1;
      const data = JSON.stringify(envelope.document);
      insertMessage.run(message.id, message.at, message.body);
      writeObject.run(key, revision, data);
      insertHistory.run(key, revision, data);
      insertDelivery.run(message.id, key, revision);
      audit(message.id, 'decision', { key, revision, decision: 'accepted', routes: ['mes'] });
      return { id: message.id, body: JSON.stringify({ ...envelope, document: JSON.parse(data) as unknown }) };
    }),
  );
  const outcomes = db.transaction((delivered: Array<{ id: string; status: number }>) => {
    for (const { id, status } of delivered)
      if (markDelivered.run(id).changes === 1) audit(id, 'delivery', { target: 'mes', status });
  });
  // Group commit: the transactions asked for in one turn of the loop share one COMMIT (one fsync).
  const grouped = <A, R>(run: (args: A[]) => R[]) => {
    let waiting: Array<{ args: A; resolve: (result: R) => void }> = [];
    return (args: A) =>
      new Promise<R>((resolve) => {
        if (waiting.length === 0)
          setImmediate(() => {
            const taken = waiting;
            waiting = [];
            const results = db.transaction(() => run(taken.map((entry) => entry.args)))();
            taken.forEach((entry, index) => entry.resolve(results[index]!));
          });
        waiting.push({ args, resolve });
      });
  };
  const recordJob = grouped((jobs: Message[][]) => jobs.map((messages) => record(messages)));
  const outcomesOfJob = grouped((jobs: Array<Array<{ id: string; status: number }>>) =>
    jobs.map((delivered) => outcomes(delivered)),
  );
  const target = new URL('/', targetUrl);
  const agent = new Agent({ keepAlive: true, maxSockets: Number(process.env.SKELETON_SOCKETS ?? 16) });
  const send = (id: string, body: string) =>
    new Promise<number>((resolve, reject) => {
      request(
        {
          hostname: target.hostname,
          port: target.port,
          path: target.pathname,
          method: 'POST',
          agent,
          headers: {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
            'x-handover-message-id': id,
            'idempotency-key': id,
          },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        },
      )
        .on('error', reject)
        .end(body);
    });
  new Worker<{ messages: Message[] }>(
    QUEUE,
    async (job) => {
      const planned = await recordJob(job.data.messages);
      const statuses = await Promise.all(planned.map((delivery) => send(delivery.id, delivery.body)));
      await outcomesOfJob(planned.map((delivery, index) => ({ id: delivery.id, status: statuses[index]! })));
    },
    {
      connection: { url: redisUrl, maxRetriesPerRequest: null },
      prefix: 'skeleton',
      concurrency: Number(process.env.SKELETON_JOBS ?? 16),
    },
  );
  process.stdout.write('ready\n');
}

function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'handover-skeleton-'));
  const spawnRole = (...args: string[]) =>
    spawn(process.execPath, [...process.execArgv, __filename, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  return floorBenchmark({
    documents,
    concurrency,
    name: 'floor: durable skeleton',
    ratio: 'ratio skeleton / raw BullMQ',
    timeoutMs: 300_000,
    start: (redisUrl, targetUrl, redis) => {
      const door = spawnRole('door', redisUrl);
      const worker = spawnRole('worker', redisUrl, targetUrl, dataDir);
      return {
        door,
        others: [worker],
        ready: once(worker.stdout, 'data'),
        groups: { door: [door.pid!], worker: [worker.pid!], redis: [redis] },
      };
    },
  });
}

if (process.argv[2] === 'door') door(process.argv[3]!);
else if (process.argv[2] === 'worker') worker(process.argv[3]!, process.argv[4]!, process.argv[5]!);
else void main();
