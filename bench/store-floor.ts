/**
 * The store's share of a document, alone: what the SQLite store (synchronous = FULL) costs per
 * document for the work bench/hub-throughput.ts makes it do — each batch of `batch` messages
 * recorded, decided, stored, planned and audited in one transaction (recordBatch, as ingest does),
 * then every delivery claimed and marked delivered in group commits of `batch` (as a drain does) —
 * in one process, with no queue, no HTTP and no translation. CPU µs per document and documents/s.
 * Run: npx tsx bench/store-floor.ts [documents] [batch]
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CanonicalEnvelope } from '../schemas/index';
import { parseConfig } from '../hub/config/load';
import { newMessageId } from '../hub/pipeline/enqueue';
import { partitionOf } from '../hub/queue/queue-keys';
import { routesFor } from '../hub/pipeline/route';
import { openStore, pendingPage, recordBatch, recordDeliveredMany, type IntakeItem } from '../hub/store/index';
import { ordersConfigYaml } from '../test/support/hub-process';
import { payload } from './support';

const documents = Number(process.argv[2] ?? 20000);
const batch = Number(process.argv[3] ?? 64);

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'handover-store-floor-'));
  const db = await openStore({ dataDir });
  const config = parseConfig(ordersConfigYaml('http://127.0.0.1:9'));
  const documentInput = (envelope: CanonicalEnvelope) => ({
    ownership: config.ownership,
    partition: partitionOf(envelope.type, envelope.objectKey, config.partitions),
    plan: () => routesFor(config.routes, envelope.type, envelope.document as Record<string, unknown>, 'erp'),
  });
  const items: IntakeItem[] = Array.from({ length: documents }, (_, index) => {
    const body = payload(index);
    // Ids as one door makes them: in the order of their arrival there.
    const id = newMessageId();
    const envelope = { ...(JSON.parse(body) as CanonicalEnvelope), messageId: id };
    return {
      ok: true,
      envelopes: [envelope],
      message: {
        id,
        system: 'erp',
        receivedAt: new Date().toISOString(),
        receivedSeq: index + 1,
        contentType: 'json',
        body,
        mapping: { name: 'canonical-json', documents: 1 },
      },
    };
  });

  const cpu = process.cpuUsage();
  let started = performance.now();
  for (let first = 0; first < documents; first += batch)
    await recordBatch(db, items.slice(first, first + batch), documentInput);
  const ingestMs = performance.now() - started;
  const ingestCpu = process.cpuUsage(cpu);

  const deliverCpu = process.cpuUsage();
  started = performance.now();
  let delivered = 0;
  for (let partition = 0; partition < config.partitions; partition += 1) {
    for (;;) {
      const { chains } = await pendingPage(db, 'mes', partition, 256);
      if (chains.length === 0) break;
      const page = chains.flat();
      for (let first = 0; first < page.length; first += batch) {
        const group = page.slice(first, first + batch);
        // Taken up (written down as in flight), then settled, as a drain does.
        const inFlight = { target: 'mes', partition, ids: group.map((delivery) => delivery.id) };
        await recordDeliveredMany(db, [], inFlight);
        await recordDeliveredMany(
          db,
          group.map((delivery) => ({ delivery, attempts: 1, status: 200, latencyMs: 1 })),
          { ...inFlight, ids: [] },
        );
        delivered += group.length;
      }
    }
  }
  const deliverMs = performance.now() - started;
  const deliverUsed = process.cpuUsage(deliverCpu);
  const micros = (usage: NodeJS.CpuUsage) => (usage.user + usage.system) / documents;
  console.log(
    `${documents} ProductionOrder documents, batches of ${batch}, SQLite synchronous = FULL, node ${process.version}`,
  );
  console.log(
    `store: record a batch (ingest)     ${(documents / (ingestMs / 1000)).toFixed(0).padStart(7)} docs/s   CPU ${micros(ingestCpu).toFixed(0)} µs per document`,
  );
  console.log(
    `store: claim + mark delivered      ${(delivered / (deliverMs / 1000)).toFixed(0).padStart(7)} docs/s   CPU ${micros(deliverUsed).toFixed(0)} µs per document`,
  );
  await db.close();
}

void main();
