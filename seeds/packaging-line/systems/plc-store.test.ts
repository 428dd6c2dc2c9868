/**
 * The PLC's store and its order download: a revision delivered twice or late changes nothing, a
 * revision without a quantity keeps the order's, and the figures list counts and stops as the hub names them.
 */
import Database from 'better-sqlite3';
import { parseOrderDownload } from './plc-orders';
import { PlcStore, type OrderDownload } from './plc-store';

const parsed = (body: unknown, revision?: string): OrderDownload => {
  const result = parseOrderDownload(body, revision);
  if (!result.ok) throw new Error(`${result.path}: ${result.reason}`);
  return result.download;
};

const order = (state: string, targetCount?: string) => ({
  orderId: '4711001',
  line: 'PACK-L1',
  product: 'FG-500',
  ...(targetCount === undefined ? {} : { targetCount }),
  unit: 'CS',
  release: state === 'Released' || state === 'Running',
  state,
});

describe('order downloads', () => {
  it('reads the mapping’s JSON with its state, and says what is wrong with a bad one', () => {
    expect(parsed(order('Running', '1728'), '3')).toEqual({
      orderId: '4711001',
      state: 'Running',
      quantity: 1728,
      unit: 'CS',
      line: 'PACK-L1',
      product: 'FG-500',
      release: true,
      revision: 3,
    });
    // Without a state, release cannot tell Released from Running: the order is not run.
    expect(parsed({ orderId: 'A', targetCount: 5, release: true }).state).toBe('Released');
    expect(parseOrderDownload({ targetCount: '5', state: 'Running' }, undefined)).toMatchObject({ path: '/orderId' });
    expect(parseOrderDownload({ orderId: 'A', targetCount: 'x', state: 'Running' }, undefined)).toMatchObject({
      path: '/targetCount',
    });
    expect(parseOrderDownload({ orderId: 'A' }, undefined)).toMatchObject({ path: '/state' });
    expect(parseOrderDownload('text', undefined)).toMatchObject({ path: '/' });
  });

  it('keeps each revision once, ignores a late one, and keeps the quantity a revision leaves out', () => {
    const store = new PlcStore(new Database(':memory:'));
    expect(store.saveOrder(parsed(order('Released', '180'), '1'), 1000)).toMatchObject({ applied: true });
    expect(store.saveOrder(parsed(order('Running', '180'), '2'), 2000)).toMatchObject({ applied: true });
    expect(store.saveOrder(parsed(order('Running', '180'), '2'), 3000)).toEqual({
      applied: false,
      reason: 'the same revision again',
      order: { orderId: '4711001', state: 'Running', quantity: 180, at: 2000 },
    });
    expect(store.saveOrder(parsed(order('Released', '180'), '1'), 4000)).toMatchObject({
      applied: false,
      reason: 'older than revision 2',
    });
    expect(store.saveOrder(parsed(order('Running'), '3'), 5000)).toMatchObject({
      applied: true,
      order: { state: 'Running', quantity: 180 },
    });
    // Without the hub's revision: the same state and quantity again is a duplicate.
    expect(store.saveOrder(parsed(order('Running', '180')), 6000)).toMatchObject({ applied: false });
    expect(store.orders()).toEqual([{ orderId: '4711001', state: 'Running', quantity: 180, at: 5000 }]);
  });

  it('lists counts and stops per unit, and corrupts the first order’s case count on purpose', () => {
    const store = new PlcStore(new Database(':memory:'));
    expect(store.corrupt()).toBeUndefined();
    store.saveOrder(parsed(order('Running', '10'), '1'), 0);
    store.batch(() => {
      store.addCounts('CASEPACKER-01', '4711001', 6, 1);
      store.addCounts('CASEPACKER-01', '4711001', 4, 0);
      store.stopStarted({
        unit: 'CAPPER-01',
        orderId: '4711001',
        kind: 'stop',
        cause: 'cap-feed-jam',
        reasonCode: 17,
        start: Date.parse('2026-12-01T06:00:00Z'),
      });
      store.stopEnded('CAPPER-01', Date.parse('2026-12-01T06:01:30Z'));
      store.stopStarted({
        unit: 'LABELER-01',
        orderId: '4711001',
        kind: 'external',
        cause: 'upstream',
        reasonCode: null,
        start: Date.parse('2026-12-01T06:00:01Z'),
      });
      store.stopStarted({
        unit: 'FILLER-01',
        orderId: '4711001',
        kind: 'stop',
        cause: 'micro-stop',
        reasonCode: null,
        start: Date.parse('2026-12-01T06:10:00Z'),
      });
      store.stopEnded('FILLER-01', Date.parse('2026-12-01T06:11:15Z'));
    });
    const figures = store.figures('scada');
    expect(figures.units['CASEPACKER-01']!.byOrder).toEqual({ '4711001': { good: 10, reject: 1 } });
    expect(figures.units['CAPPER-01']!.stops).toEqual([
      {
        start: '2026-12-01T06:00:00.000Z',
        end: '2026-12-01T06:01:30.000Z',
        kind: 'stop',
        reasonCode: '17',
        micro: false,
        cause: 'cap-feed-jam',
        orderId: '4711001',
      },
    ]);
    expect(figures.units['LABELER-01']!.stops[0]).toMatchObject({
      kind: 'external',
      reasonCode: 'STARVED_BLOCKED',
      end: null,
    });
    expect(figures.units['FILLER-01']!.stops[0]).toMatchObject({ reasonCode: null, micro: true });
    expect(store.corrupt()).toEqual({
      unit: 'CASEPACKER-01',
      orderId: '4711001',
      good: { before: 10, after: 11 },
    });
    expect(store.figures('scada').units['CASEPACKER-01']!.byOrder['4711001']!.good).toBe(11);
  });
});
