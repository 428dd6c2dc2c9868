/**
 * What the context engine's end-to-end tests share: the seed line's production order as ERP and MES
 * post it, and a post that waits until the hub has recorded the message.
 */
import request from 'supertest';
import { waitFor } from './http-target';

/**
 * A canonical ProductionOrder envelope scoped to the seed's packaging line PACK-L1 (so it runs on
 * all four work units), producing FG-500. ERP sends it Released; MES (or `sourceSystem`) changes its state.
 */
export function lineOrder(options: {
  id?: string;
  state: string;
  occurredAt: string;
  receivedAt?: string;
  sourceSystem?: string;
  quantity?: string;
  processSegmentId?: string;
}): Record<string, unknown> {
  const id = options.id ?? 'PO-1';
  return {
    messageId: 'set-by-the-hub',
    sourceSystem: options.sourceSystem ?? (options.state === 'Released' ? 'erp' : 'mes'),
    receivedAt: options.receivedAt ?? options.occurredAt,
    type: 'ProductionOrder',
    objectKey: id,
    occurredAt: options.occurredAt,
    document: {
      id,
      state: options.state,
      hierarchyScope: { equipmentId: 'PACK-L1', equipmentLevel: 'WorkCenter' },
      segments: [
        {
          id: '0010',
          processSegmentId: options.processSegmentId ?? 'FILL-CAP-LABEL',
          operationsDefinitionId: 'PACK',
          operationsSegmentId: '0010',
          equipment: [],
          materials: [
            {
              id: 'out',
              materialDefinitionId: 'FG-500',
              use: 'Produced',
              ...(options.quantity ? { quantity: { value: options.quantity, unit: 'EA' } } : {}),
            },
          ],
        },
      ],
    },
  };
}

/**
 * POSTs `body` as `system` (token `<system>-token`) to the hub at `url`, expects 202, and waits until
 * the hub has recorded the message; resolves with its trace.
 */
export async function sendRecorded(url: string, system: string, body: unknown) {
  const posted = await request(url)
    .post(`/api/v1/inbound/${system}`)
    .set('authorization', `Bearer ${system}-token`)
    .set('content-type', 'application/json')
    .send(JSON.stringify(body));
  expect(posted.status).toBe(202);
  return waitFor(async () => {
    const trace = await request(url)
      .get(`/api/v1/messages/${posted.body.messageId}`)
      .set('authorization', 'Bearer admin-token');
    return trace.status === 200 && trace.body.status !== 'queued' ? trace.body : undefined;
  });
}
