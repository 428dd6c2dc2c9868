/**
 * The engine as the hub runs it, on each store: the signals behind a count period's booking are kept
 * beside the work unit's state, not in it, and the booking lists every one of them in order however
 * many batches they came in.
 *
 * Why it can fail: kept in the state, a minute of counter signals grows it by a provenance entry per
 * signal, read and written again by every batch (65 KB a unit at the OPC UA bench's rates, the hub
 * falling behind); lost from it, a ProductionConfirmation's trace would miss the signals of earlier
 * batches.
 */
import { join } from 'node:path';
import { loadConfigFile } from '../config/load';
import type { Db } from '../store/db';
import { storeBackends } from '../store/test-backends';
import { repoRoot } from '../../test/support/paths';
import type { Signal } from './engine';
import { ContextEngine } from './stage';

const seed = loadConfigFile(join(repoRoot, 'seeds', 'packaging-line', 'handover.yaml'));
const START = Date.parse('2026-12-01T06:00:00Z');
const BATCHES = 200;

const counter = (index: number, value: number): Signal => ({
  messageId: `m${index}`,
  equipmentId: 'CAPPER-01',
  signal: 'goodCount',
  value,
  quality: 'good',
  // One reading every 0.2 s, within the minute from 06:00 (the seed books counts every 60 s).
  sourceTimestamp: new Date(START + index * 200).toISOString(),
  receivedAt: new Date(START + index * 200).toISOString(),
});

async function stateBytes(db: Db): Promise<number> {
  const [row] = await db.query<{ state: string }>("SELECT state FROM context_units WHERE equipment_id = 'CAPPER-01'");
  return row!.state.length;
}

describe.each(storeBackends)('the counts’ trace on %s', (_name, open) => {
  let db: Db;
  let drop: () => Promise<void>;
  const engine = new ContextEngine(seed.context!);

  beforeEach(async () => {
    ({ db, drop } = await open());
    await db.transaction((tx) =>
      engine.applyOrder(
        tx,
        { id: 'PO-9', state: 'Running', hierarchyScope: { equipmentId: 'CAPPER-01' } },
        new Date(START).toISOString(),
        {
          messageId: 'order',
          signal: 'ProductionOrder',
          sourceTimestamp: new Date(START).toISOString(),
        },
      ),
    );
  });

  afterEach(async () => {
    await db.close();
    await drop();
  });

  it('keeps the unit’s state small over a period of many batches and books every signal in order', async () => {
    // The first reading sets the baseline; each later one counts one unit.
    await db.transaction((tx) => engine.applySignals(tx, [counter(0, 1000)]));
    const sizes: number[] = [];
    for (let index = 1; index <= BATCHES; index += 1) {
      const result = await db.transaction((tx) => engine.applySignals(tx, [counter(index, 1000 + index)]));
      expect(result.derived).toEqual([]);
      sizes.push(await stateBytes(db));
    }
    // The state does not grow with the signals counted (on the old code it ended near 20 KB).
    expect(Math.max(...sizes)).toBeLessThan(sizes[0]! + 50);

    // A reading after the minute books it: the trace is every counting signal, in the order counted.
    const booked = await db.transaction((tx) =>
      engine.applySignals(tx, [{ ...counter(400, 1300), sourceTimestamp: '2026-12-01T06:01:20.000Z' }]),
    );
    const confirmation = booked.derived.find((document) => document.type === 'ProductionConfirmation')!;
    expect(confirmation.objectKey).toBe('PC-PO-9-CAPPER-01-20261201T060000Z');
    expect(confirmation.derivedFrom.map((entry) => entry.messageId)).toEqual(
      Array.from({ length: BATCHES }, (_, index) => `m${index + 1}`),
    );
    expect(confirmation.derivedFrom[0]).toEqual({
      messageId: 'm1',
      signal: 'goodCount',
      sourceTimestamp: '2026-12-01T06:00:00.200Z',
    });
    // Booked, the chunks are gone; the next period's first signal is the one that booked this one.
    const left = await db.query<{ counts_id: string }>('SELECT counts_id FROM context_count_signals');
    expect(left.map((row) => row.counts_id)).toEqual(['PC-PO-9-CAPPER-01-20261201T060120Z']);
  });

  it('books the signals a state of schema 6 still holds, before those counted after the upgrade', async () => {
    await db.transaction((tx) => engine.applySignals(tx, [counter(0, 1000), counter(1, 1001)]));
    // A store written by schema 6 kept the counted signals in the unit's state.
    const [row] = await db.query<{ state: string }>("SELECT state FROM context_units WHERE equipment_id = 'CAPPER-01'");
    const state = JSON.parse(row!.state) as { counts: Record<string, unknown> };
    const legacy = [{ messageId: 'old', signal: 'goodCount', sourceTimestamp: '2026-12-01T06:00:00.100Z' }];
    state.counts = { ...state.counts, signals: legacy, chunks: undefined };
    await db.execute("UPDATE context_units SET state = $1 WHERE equipment_id = 'CAPPER-01'", [JSON.stringify(state)]);
    await db.execute('DELETE FROM context_count_signals');

    await db.transaction((tx) => engine.applySignals(tx, [counter(2, 1002)]));
    const booked = await db.transaction((tx) =>
      engine.applySignals(tx, [{ ...counter(3, 1003), sourceTimestamp: '2026-12-01T06:01:00.000Z' }]),
    );
    const confirmation = booked.derived.find((document) => document.type === 'ProductionConfirmation')!;
    expect(confirmation.derivedFrom.map((entry) => entry.messageId)).toEqual(['old', 'm2']);
  });
});
