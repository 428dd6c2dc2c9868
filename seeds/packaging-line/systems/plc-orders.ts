/**
 * POST /orders: what the PLC gateway takes from the hub for every ProductionOrder revision, the
 * scada-order-download mapping's JSON (mappings/scada/order-download.yaml) plus the order's `state`,
 * which tells the line whether to run it.
 */
import type { OrderDownload } from './plc-store';

export type Parsed = { ok: true; download: OrderDownload } | { ok: false; path: string; reason: string };

const text = (value: unknown): string | null => (typeof value === 'string' && value !== '' ? value : null);

/**
 * Reads an order download: `{orderId, line, product, targetCount, unit, release, state}`, where
 * `targetCount` is the planned quantity in cases (a string or a number) and `state` the ISA-95 state
 * (`Released`, `Running`, `Completed` …). `revision` is the x-handover-object-revision header.
 *
 * @example parseOrderDownload({ orderId: '4711001', targetCount: '1728', unit: 'CS', release: true, state: 'Running' }, '3')
 */
export function parseOrderDownload(body: unknown, revision: string | undefined): Parsed {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    return { ok: false, path: '/', reason: 'a JSON object is required (content-type: application/json)' };
  const fields = body as Record<string, unknown>;
  const orderId = text(fields['orderId']);
  if (!orderId) return { ok: false, path: '/orderId', reason: 'required, a non-empty string' };
  let quantity: number | null = null;
  const target = fields['targetCount'];
  if (target !== undefined && target !== null) {
    quantity = typeof target === 'number' ? target : typeof target === 'string' ? Number(target) : Number.NaN;
    if (!Number.isFinite(quantity) || quantity < 0)
      return {
        ok: false,
        path: '/targetCount',
        reason: `a quantity of cases is required, got ${JSON.stringify(target)}`,
      };
    quantity = Math.floor(quantity);
  }
  const state = text(fields['state']);
  const release = typeof fields['release'] === 'boolean' ? fields['release'] : null;
  if (!state && release === null)
    return { ok: false, path: '/state', reason: 'required: the order state (Released, Running, Completed …)' };
  let hubRevision: number | null = null;
  if (revision !== undefined && revision !== '') {
    hubRevision = Number(revision);
    if (!Number.isInteger(hubRevision))
      return { ok: false, path: 'x-handover-object-revision', reason: `an integer, got ${JSON.stringify(revision)}` };
  }
  return {
    ok: true,
    download: {
      orderId,
      // Without a state, `release` alone cannot tell Released from Running: such an order is not run.
      state: state ?? (release ? 'Released' : 'NotReleased'),
      quantity,
      unit: text(fields['unit']),
      line: text(fields['line']),
      product: text(fields['product']),
      release,
      revision: hubRevision,
    },
  };
}
