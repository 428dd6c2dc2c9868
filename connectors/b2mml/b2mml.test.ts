import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { examples } from '../../schemas/examples';
import { wrap } from '../../schemas/canonical-json';
import { writeB2mml, writeConfirmBod } from '../../schemas/b2mml/index';
import { sapIdocConnector } from '../sap-idoc/index';
import { b2mmlConnector } from './index';

let reply = '';
let seen: { url: string; headers: Record<string, unknown>; body: string } | undefined;
const server = createServer((req, res) => {
  let body = '';
  req.on('data', (chunk: Buffer) => (body += chunk.toString()));
  req.on('end', () => {
    seen = { url: req.url!, headers: req.headers, body };
    res.writeHead(200, { 'content-type': 'application/xml' }).end(reply);
  });
});
let url: string;
beforeAll(async () => {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/b2mml`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const context = { logger: undefined as never, emit: async () => '', dataDir: '/tmp' };
const xml = writeB2mml([wrap('ProductionOrder', examples.ProductionOrder)], { bodId: 'd-1' });
const document = { idempotencyKey: 'd-1', contentType: 'application/xml' as const, body: xml, type: 'ProductionOrder' };
const original = { sender: 'HANDOVER', creationDateTime: '2024-05-02T06:00:00Z', bodId: 'd-1' };

describe('b2mml connector', () => {
  it('delivers, asking for XML, and reads an accepting ConfirmBOD', async () => {
    reply = writeConfirmBod(original, { description: 'Accepted' });
    const connector = b2mmlConnector.create({ url, timeoutMs: 2000 }, context);
    await expect(connector.send!(document, new AbortController().signal)).resolves.toMatchObject({
      status: 200,
      detail: 'Accepted',
    });
    expect(seen!.headers.accept).toBe('application/xml');
  });

  it('treats a rejecting ConfirmBOD as final', async () => {
    reply = writeConfirmBod(original, { problems: [{ path: '/X', reason: 'unknown work centre' }] });
    const connector = b2mmlConnector.create({ url, timeoutMs: 2000 }, context);
    await expect(connector.send!(document, new AbortController().signal)).rejects.toMatchObject({
      permanent: true,
      message: expect.stringContaining('unknown work centre'),
    });
  });
});

describe('sap-idoc connector', () => {
  it('posts to the IDoc service with sap-client and basic authentication from the environment', async () => {
    process.env.TEST_SAP_USER = 'HANDOVER';
    process.env.TEST_SAP_PASSWORD = 'pw';
    reply = '';
    const connector = sapIdocConnector.create(
      { url, client: '100', usernameEnv: 'TEST_SAP_USER', passwordEnv: 'TEST_SAP_PASSWORD', timeoutMs: 2000 },
      context,
    );
    await connector.send!({ ...document, body: '<WMMBID02/>' }, new AbortController().signal);
    expect(seen!.url).toBe('/b2mml?sap-client=100');
    expect(seen!.headers.authorization).toBe(`Basic ${Buffer.from('HANDOVER:pw').toString('base64')}`);
  });
});
