/** Counters become quantities of the running order. */
import { applyOrder } from './engine';
import { CAPPER, SETTINGS, feed, running } from './test-fixtures';

describe('counts from counters', () => {
  it('books rises (and a rollover) as ProductionConfirmation increments of the running order at each period end', () => {
    const state = running();
    const { documents, outcomes } = feed(state, [
      ['2026-12-02T07:00:10Z', 'goodCount', 65500],
      ['2026-12-02T07:00:10Z', 'rejectCount', 7],
      ['2026-12-02T07:00:30Z', 'goodCount', 65530],
      ['2026-12-02T07:00:50Z', 'goodCount', 4],
      ['2026-12-02T07:00:50Z', 'rejectCount', 9],
      ['2026-12-02T07:01:05Z', 'goodCount', 10],
    ]);
    expect(outcomes).toEqual([undefined, undefined, undefined, undefined, undefined, undefined]);
    expect(documents).toHaveLength(1);
    const confirmation = documents[0]!;
    expect(confirmation.type).toBe('ProductionConfirmation');
    expect(confirmation.document).toMatchObject({ orderId: '1000123', endTime: '2026-12-02T07:01:00.000Z' });
    const materials = (confirmation.document['segments'] as Array<{ materials: unknown[] }>)[0]!.materials;
    expect(materials).toEqual([
      expect.objectContaining({
        disposition: 'Good',
        quantity: { value: '40', unit: 'EA' },
        materialDefinitionId: 'FG-500',
      }),
      expect.objectContaining({ disposition: 'Scrap', quantity: { value: '2', unit: 'EA' } }),
    ]);
    expect(state.counts).toMatchObject({ good: 6 });
  });

  it('takes a drop without rollover as a reset and an implausible rise as no production', () => {
    const state = running();
    const { outcomes } = feed(state, [
      ['2026-12-02T07:00:10Z', 'rejectCount', 50],
      ['2026-12-02T07:00:20Z', 'rejectCount', 3],
      ['2026-12-02T07:00:20Z', 'goodCount', 100],
      ['2026-12-02T07:00:21Z', 'goodCount', 5000],
      ['2026-12-02T07:00:22Z', 'goodCount', 5010],
    ]);
    expect(outcomes).toEqual([undefined, 'COUNTER_RESET', undefined, 'COUNTER_IMPLAUSIBLE', undefined]);
    expect(state.counts).toMatchObject({ good: 10, reject: 0 });
  });

  it('books the counts of an order when it stops running, and later counts to no order (flagged)', () => {
    const state = running();
    feed(state, [
      ['2026-12-02T07:00:10Z', 'goodCount', 0],
      ['2026-12-02T07:00:20Z', 'goodCount', 20],
    ]);
    const ended = applyOrder(SETTINGS, CAPPER, state, undefined, Date.parse('2026-12-02T07:00:30Z'), {
      messageId: 'order-2',
      signal: 'ProductionOrder',
      sourceTimestamp: '2026-12-02T07:00:30Z',
    });
    expect(ended.map((d) => [d.type, d.document['endTime']])).toEqual([
      ['ProductionConfirmation', '2026-12-02T07:00:30.000Z'],
    ]);
    feed(state, [['2026-12-02T07:00:40Z', 'goodCount', 25]]);
    expect(state.unassigned.good).toBe(5);
  });
});
