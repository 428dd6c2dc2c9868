/**
 * Start-up does not wait for a connector's peer: a hub whose MQTT broker accepts TCP but never
 * answers CONNECT listens anyway, holds the connector's lease (a lone process receives as soon as
 * it started) and reports the connector down until the broker answers.
 */
import { mkdtempSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { parseConfig } from '../hub/config/load';
import { startHub, type RunningHub } from '../hub/hub';
import { waitFor } from './support/http-target';

let silent: Server;
const sockets: Socket[] = [];
let hub: RunningHub | undefined;

beforeAll(async () => {
  // A broker that takes the connection and says nothing: no CONNACK, no SUBACK.
  silent = createServer((socket) => sockets.push(socket)).listen(0, '127.0.0.1');
  await new Promise((resolve) => silent.once('listening', resolve));
});

afterAll(async () => {
  await hub?.stop();
  for (const socket of sockets) socket.destroy();
  await new Promise((resolve) => silent.close(resolve));
});

it('listens and leads while its MQTT broker does not answer', async () => {
  const { port } = silent.address() as { port: number };
  const config = parseConfig(`
systems:
  - { id: line, name: Line, processOwner: Production, technicalOwner: Automation }
ownership:
  DowntimeEvent: { owner: line }
connectors:
  - id: line-broker
    kind: mqtt
    config:
      url: mqtt://127.0.0.1:${port}
      clientId: handover-start-test
      system: line
      connectTimeoutMs: 120000
      subscriptions: [{ topic: "line/#", format: json }]
`);
  hub = await startHub({
    config,
    dataDir: join(mkdtempSync(join(tmpdir(), 'handover-connectors-start-')), 'hub'),
    env: { HANDOVER_ADMIN_TOKEN: 'admin-token' },
    logger: pino({ level: 'silent' }),
  });
  // Both the outbound instance and the inbound side are connecting.
  await waitFor(() => sockets.length === 2, 5000, 'two connections at the silent broker');
  expect((await fetch(`${hub.url}/readyz`)).status).toBe(200);
  const answer = await fetch(`${hub.url}/api/v1/connectors`, { headers: { authorization: 'Bearer admin-token' } });
  expect(await answer.json()).toEqual({
    connectors: [
      {
        id: 'line-broker',
        kind: 'mqtt',
        health: { status: 'down', detail: expect.stringContaining('not connected') },
        inbound: { role: 'leader', leader: expect.any(String) },
      },
    ],
  });
}, 60000);
