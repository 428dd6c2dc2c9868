/** The data each queue's jobs carry. */
import type { MappingPin } from '../store/replay-requests';

/** One payload as the door or a connector accepted it. */
export interface InboundMessage {
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
  /**
   * Set on a replay with the original mapping: the kept version (hub/store/mapping-versions.ts) it
   * is translated with, or the codec's name (`canonical-json`, `b2mml…`: no mapping at all).
   */
  mapping?: MappingPin;
}

/**
 * An ingest job: the payloads accepted together (one at the door's quietest, up to
 * BATCH_LIMIT when busy), decided and stored in one transaction.
 */
export interface IngestJob {
  messages: InboundMessage[];
}

/**
 * A delivery job wakes its target's partition up: the worker delivers every pending delivery of
 * that partition, oldest first. `deliveryId` names the delivery a replay queued it for.
 */
export interface DeliverJob {
  deliveryId?: string;
}

/** The payloads of an ingest job, also of one queued by a release that carried one payload per job. */
export function messagesOf(job: IngestJob | InboundMessage): InboundMessage[] {
  return 'messages' in job ? job.messages : [job];
}
