/**
 * The `b2mml` connector: B2MML V0700 to an ERP or MES over HTTP, reading the ConfirmBOD it may
 * answer with: a rejection there is final. Inbound B2MML arrives on the hub's own API, which
 * answers ConfirmBOD to senders that accept XML.
 */
import { Type } from '@sinclair/typebox';
import { readConfirmBod } from '../../schemas/b2mml/index';
import { HttpConfig } from '../http/index';
import { HttpDeliveryError, httpOutbound } from '../http/outbound';
import { defineConnector, type OutboundDocument } from '../types';

export const B2mmlConfig = Type.Object(
  {
    url: HttpConfig.properties.url,
    auth: HttpConfig.properties.auth,
    timeoutMs: HttpConfig.properties.timeoutMs,
  },
  { additionalProperties: false },
);

export const b2mmlConnector = defineConnector({
  kind: 'b2mml',
  description: 'Send B2MML V0700 documents over HTTP and honour the ConfirmBOD the receiver answers',
  configSchema: B2mmlConfig,
  create: (config) => {
    const http = httpOutbound({
      url: config.url,
      method: 'POST',
      headers: { accept: 'application/xml' },
      timeoutMs: config.timeoutMs ?? 10000,
      ...(config.auth ? { auth: config.auth } : {}),
    });
    return {
      ...http,
      async send(document: OutboundDocument, signal: AbortSignal) {
        const result = await http.send!(document, signal);
        const answer = result.body ?? '';
        if (!answer.includes('ConfirmBOD')) return result;
        const confirmation = readConfirmBod(answer);
        const description = confirmation.descriptions.join(' ');
        if (/^Rejected/i.test(description))
          throw new HttpDeliveryError(`ConfirmBOD rejected the document: ${description}`, true, result.status);
        return { ...result, detail: description };
      },
    };
  },
});
