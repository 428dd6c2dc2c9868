/** The data each queue's jobs carry. */
import type { CanonicalEnvelope } from '../../schemas/index';

export interface IngestJob {
  messageId: string;
  system: string;
  contentType: 'json' | 'xml';
  body: string;
  receivedAt: string;
  receivedSeq: number;
  idempotencyKey?: string;
  /** For JSON bodies holding bare documents: their canonical type. */
  type?: string;
  /** Set on a replay of an ingest dead letter: the replay request (and job id) it fulfils. */
  replayRequest?: string;
}

export interface ApplyJob {
  messageId: string;
  docIndex: number;
  envelope: CanonicalEnvelope;
  receivedSeq: number;
  idempotencyKey?: string;
}

export interface DeliverJob {
  deliveryId: string;
}
