/**
 * The model-based test at scale: thousands of seeded histories, in batches of concurrent histories
 * on disjoint keys, against one long-lived topology; prints progress and every difference found
 * with its seed. Run: npm run build && npx tsx bench/model-soak.ts [histories] [single|multi|cluster] [batch] [first seed]
 */
import { runHistories } from '../test/model/run';
import { startTopology } from '../test/model/topology';

const histories = Number(process.argv[2] ?? 10000);
const kinds = { single: 'single', multi: 'api+2 workers', cluster: 'api+2 workers on a Redis Cluster' } as const;
const kind = kinds[(process.argv[3] ?? 'single') as keyof typeof kinds] ?? 'single';
const batch = Number(process.argv[4] ?? 50);
const firstSeed = Number(process.argv[5] ?? 1_000_000);

async function main(): Promise<number> {
  const topology = await startTopology(kind);
  const started = Date.now();
  let done = 0;
  let posts = 0;
  const problems: string[] = [];
  try {
    for (let seed = firstSeed; done < histories; seed += 1) {
      const objects = Math.min(batch, histories - done);
      topology.setFaulty(true);
      const result = await runHistories(topology, { seed, objects, concurrency: 32, timeoutMs: 300_000 });
      // What the targets received for this batch is checked; the next batch starts with an empty record.
      topology.received.length = 0;
      done += objects;
      posts += result.posts;
      problems.push(...result.problems);
      const seconds = (Date.now() - started) / 1000;
      process.stdout.write(
        `\r${kind}: ${done}/${histories} histories, ${posts} posts (${(posts / seconds).toFixed(0)}/s), ` +
          `${problems.length} problems, ${seconds.toFixed(0)} s`,
      );
      for (const problem of result.problems) process.stdout.write(`\n${problem}`);
    }
  } finally {
    process.stdout.write('\n');
    await topology.stop();
  }
  console.log(
    problems.length === 0
      ? `no differences from the model in ${done} histories (${posts} posts, seeds ${firstSeed}…)`
      : `${problems.length} differences; replay a batch: HANDOVER_MODEL_SEEDS=<seed> HANDOVER_MODEL_OBJECTS=${batch} npx jest test/model`,
  );
  return problems.length === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(2);
  },
);
