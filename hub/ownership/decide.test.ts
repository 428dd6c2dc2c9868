import type { OwnershipConfig } from '../config/schema';
import { MAIN_GROUP, decide, type Incoming, type StoredObject, type Watermark } from './decide';

const ownership: OwnershipConfig = {
  onNonOwnerWrite: 'reject',
  ProductionOrder: { owner: 'erp', fields: { state: 'mes' } },
  QualityResult: { owner: 'qms' },
  DowntimeEvent: { owner: 'mes', scopes: [{ equipment: 'LINE-2', owner: 'scada' }] },
  MaintenanceRequest: { owner: 'mes', onNonOwnerWrite: 'propose' },
};

const order = { id: 'PO-1', state: 'Released', startTime: '2024-05-02T06:00:00Z', segments: [] };

function incoming(sourceSystem: string, document: Record<string, unknown>, extra: Partial<Incoming> = {}): Incoming {
  return {
    type: 'ProductionOrder',
    document,
    sourceSystem,
    occurredAt: '2024-05-02T05:00:00Z',
    receivedSeq: 10,
    ...extra,
  };
}

/** A stored object whose main group ERP last wrote at `main` (and whose other groups nobody wrote yet). */
function stored(
  data: Record<string, unknown>,
  main: Partial<Watermark> = {},
  others: Record<string, Watermark> = {},
): StoredObject {
  return {
    data,
    watermarks: {
      [MAIN_GROUP]: { occurredAt: '2024-05-02T04:00:00Z', receivedSeq: 5, system: 'erp', ...main },
      ...others,
    },
  };
}

describe('ownership decisions', () => {
  it('accepts a new object from its system of record, naming the rule', () => {
    expect(decide(ownership, incoming('erp', order), undefined)).toMatchObject({
      decision: 'accepted',
      rule: 'ownership.ProductionOrder.owner = erp',
      apply: order,
    });
  });

  it('rejects a system that owns nothing of the type, naming the rule and the owner', () => {
    const result = decide(ownership, incoming('qms', { ...order, state: 'Held' }), stored(order));
    expect(result).toMatchObject({ decision: 'rejected', rule: 'ownership.ProductionOrder.owner = erp' });
    expect(result.reason).toBe('qms is not the system of record for ProductionOrder (erp is)');
    expect(result.apply).toBeUndefined();
  });

  it('lets a field-group owner change only its fields: the other groups’ values it sent are ignored', () => {
    const running = decide(ownership, incoming('mes', { ...order, state: 'Running' }), stored(order));
    expect(running).toMatchObject({ decision: 'accepted', rule: 'ownership.ProductionOrder.fields.state = mes' });
    expect(running.apply).toEqual({ ...order, state: 'Running' });
    expect(running.watermarks?.state).toMatchObject({ system: 'mes', receivedSeq: 10 });
    expect(running.watermarks?.[MAIN_GROUP]).toMatchObject({ system: 'erp', receivedSeq: 5 });

    const replan = decide(
      ownership,
      incoming('mes', { ...order, state: 'Running', startTime: '2024-05-03T06:00:00Z' }),
      stored(order),
    );
    expect(replan).toMatchObject({ decision: 'accepted', ignoredFields: ['startTime'] });
    expect(replan.apply).toEqual({ ...order, state: 'Running' });
    expect(replan.reason).toContain('startTime kept as stored');
    expect(decide(ownership, incoming('mes', order), undefined).reason).toContain('only erp may create');
  });

  it('judges each group against its own watermark', () => {
    const held = stored(
      { ...order, state: 'Running' },
      { version: 40 },
      {
        state: { version: 3, occurredAt: '2024-05-02T05:00:00Z', receivedSeq: 7, system: 'mes' },
      },
    );
    expect(decide(ownership, incoming('mes', { ...order, state: 'Held' }, { version: 4 }), held).decision).toBe(
      'accepted',
    );
    expect(decide(ownership, incoming('mes', { ...order, state: 'Held' }, { version: 2 }), held)).toMatchObject({
      decision: 'stale',
      rule: 'ordering.version',
    });
    expect(decide(ownership, incoming('erp', { ...order, priority: 9 }, { version: 41 }), held).decision).toBe(
      'accepted',
    );
  });

  it('moves the watermark on identical content, so a late older version stays stale', () => {
    const held = stored(order, { version: 3 });
    const again = decide(ownership, incoming('erp', order, { version: 5 }), held);
    expect(again).toMatchObject({ decision: 'duplicate', rule: 'identical-content' });
    expect(again.watermarks?.[MAIN_GROUP]).toMatchObject({ version: 5 });
    const late = decide(ownership, incoming('erp', { ...order, priority: 1 }, { version: 4 }), {
      ...held,
      watermarks: again.watermarks!,
    });
    expect(late.decision).toBe('stale');
  });

  it('decides ownership first: a non-owner’s unchanged copy is rejected, not a duplicate', () => {
    expect(decide(ownership, incoming('qms', order), stored(order))).toMatchObject({ decision: 'rejected' });
    expect(decide(ownership, incoming('qms', order, { duplicateKey: true }), stored(order)).decision).toBe('rejected');
  });

  it('resolves the owner from the stored object’s scope', () => {
    const event = {
      id: 'DT-9',
      equipmentId: 'LINE-1',
      equipmentLevel: 'ProductionLine',
      startTime: '2024-05-02T06:00:00Z',
    };
    const onLine1: StoredObject = { data: event, watermarks: {} };
    const moved = { ...event, equipmentId: 'LINE-2' };
    expect(decide(ownership, { ...incoming('scada', moved), type: 'DowntimeEvent' }, onLine1).decision).toBe(
      'rejected',
    );
    expect(decide(ownership, { ...incoming('mes', moved), type: 'DowntimeEvent' }, onLine1).decision).toBe('accepted');
  });

  it('keeps field-group values when the object owner re-sends the object', () => {
    const current = { ...order, state: 'Running' };
    const result = decide(ownership, incoming('erp', { ...order, startTime: '2024-05-02T07:00:00Z' }), stored(current));
    expect(result.decision).toBe('accepted');
    expect(result.apply).toEqual({ ...order, startTime: '2024-05-02T07:00:00Z', state: 'Running' });
    expect(result.ignoredFields).toEqual(['state']);
  });

  it('marks older versions stale and never returns something to apply', () => {
    const newer = stored({ ...order, state: 'Running' }, { version: 5 });
    const result = decide(ownership, incoming('erp', order, { version: 4 }), newer);
    expect(result).toMatchObject({ decision: 'stale', rule: 'ordering.version' });
    expect(result.apply).toBeUndefined();
    const earlier = decide(
      ownership,
      incoming('erp', { ...order, priority: 7 }, { occurredAt: '2024-05-02T03:00:00Z' }),
      stored(order),
    );
    expect(earlier).toMatchObject({ decision: 'stale', rule: 'ordering.occurredAt' });
  });

  it('breaks a tie in version and time by arrival order', () => {
    const same = { occurredAt: '2024-05-02T04:00:00Z' };
    expect(
      decide(ownership, incoming('erp', order, { ...same, receivedSeq: 3 }), stored({ ...order, id: 'x' }, same))
        .decision,
    ).toBe('stale');
    expect(
      decide(ownership, incoming('erp', order, { ...same, receivedSeq: 9 }), stored({ ...order, id: 'x' }, same))
        .decision,
    ).toBe('accepted');
  });

  it('reports duplicates by idempotency key and by identical content', () => {
    expect(decide(ownership, incoming('erp', order, { duplicateKey: true }), undefined)).toMatchObject({
      decision: 'duplicate',
      rule: 'idempotency-key',
    });
    expect(decide(ownership, incoming('erp', order), stored(order))).toMatchObject({
      decision: 'duplicate',
      rule: 'identical-content',
    });
  });

  it('applies scope overrides to documents of that equipment', () => {
    const event = {
      id: 'DT-1',
      equipmentId: 'LINE-2',
      equipmentLevel: 'ProductionLine',
      startTime: '2024-05-02T06:00:00Z',
    };
    const scada = decide(ownership, { ...incoming('scada', event), type: 'DowntimeEvent' }, undefined);
    expect(scada).toMatchObject({ decision: 'accepted', rule: 'ownership.DowntimeEvent.scopes[0] (LINE-2) = scada' });
    const mes = decide(ownership, { ...incoming('mes', event), type: 'DowntimeEvent' }, undefined);
    expect(mes).toMatchObject({ decision: 'rejected', owner: 'scada' });
  });

  it('forwards a non-owner write as a change request under the propose policy', () => {
    const request = { id: 'MR-1', equipmentId: 'MIXER-01', equipmentLevel: 'WorkUnit' };
    expect(decide(ownership, { ...incoming('cmms', request), type: 'MaintenanceRequest' }, undefined)).toMatchObject({
      decision: 'proposed',
      proposeTo: 'mes',
    });
  });

  it('rejects types that have no system of record', () => {
    expect(decide(ownership, { ...incoming('erp', { id: 'X' }), type: 'Equipment' }, undefined)).toMatchObject({
      decision: 'rejected',
      rule: 'ownership.Equipment: none',
    });
  });
});
