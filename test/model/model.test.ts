/**
 * The model-based test: seeded histories posted concurrently to a real hub — one process on its
 * own Redis and SQLite, and one api plus two worker processes on a shared Redis and PostgreSQL —
 * must end exactly where the sequential model of docs/ownership.md says. A failure names its seed:
 * `HANDOVER_MODEL_SEEDS=<seed> [HANDOVER_MODEL_OBJECTS=<n>] npx jest test/model` replays it; `bench/model-soak.ts` runs thousands.
 */
import { history, MODEL_RULES, random, shuffle } from './histories';
import { Model, equal } from './rules';
import { runHistories } from './run';
import { startTopology, type RunningTopology, type TopologyKind } from './topology';

const seeds = (process.env.HANDOVER_MODEL_SEEDS ?? '101,202').split(',').map(Number);
/** Histories per seed (the soak runs 50 per seed; set this to replay one of its batches exactly). */
const objects = Number(process.env.HANDOVER_MODEL_OBJECTS ?? 8);

describe('the model', () => {
  it('ends A(v3), A(v5), late B(v4) on plan A, and ignores a non-owner', () => {
    const model = new Model(MODEL_RULES);
    const order = (description: string) => ({ id: 'PO', description, state: 'Released' });
    const write = (system: string, description: string, version: number, seq: number) => ({
      type: 'ProductionOrder',
      key: 'PO',
      system,
      document: order(description),
      version,
      occurredAt: '2024-05-02T06:00:00Z',
      seq,
    });
    expect(model.apply(write('erp', 'A', 3, 1))).toBe('accepted');
    expect(model.apply(write('erp', 'A', 5, 2))).toBe('duplicate');
    expect(model.apply(write('erp', 'B', 4, 3))).toBe('stale');
    expect(model.apply(write('qms', 'C', 9, 4))).toBe('rejected');
    expect(model.get('ProductionOrder', 'PO')?.description).toBe('A');
  });

  it('gives the same final objects whatever order the concurrent writes arrive in', () => {
    for (let seed = 1; seed <= 200; seed += 1) {
      const item = history(seed, 0);
      const writes = item.rest.filter((post) => !post.invalid && post.write);
      const finals = [0, 1, 2].map((round) => {
        const model = new Model(MODEL_RULES);
        const order = round === 0 ? writes : shuffle(writes, random(seed * 31 + round));
        [item.create, ...order].forEach((post, seq) =>
          model.apply({ type: post.type, key: post.key, system: post.system, seq, ...post.write! }),
        );
        return model.get('ProductionOrder', item.key);
      });
      expect(equal(finals[0], finals[1]) && equal(finals[0], finals[2])).toBe(true);
    }
  });
});

describe.each<TopologyKind>(['single', 'api+2 workers'])('the hub as %s agrees with the model', (kind) => {
  let topology: RunningTopology;
  beforeAll(async () => {
    topology = await startTopology(kind);
  }, 120_000);
  afterAll(async () => {
    await topology?.stop();
  }, 60_000);

  it.each(seeds)(
    'concurrent histories, seed %i',
    async (seed) => {
      topology.setFaulty(true);
      const result = await runHistories(topology, { seed, objects, concurrency: 24 });
      expect(result.problems).toEqual([]);
    },
    180_000,
  );

  it('sequential histories with scope moves: every decision as the model makes it', async () => {
    topology.setFaulty(true);
    const result = await runHistories(topology, { seed: seeds[0]! + 1, objects: 3, concurrency: 1, sequential: true });
    expect(result.problems).toEqual([]);
  }, 180_000);
});
