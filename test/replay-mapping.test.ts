/**
 * Replaying an ingest dead letter with the original mapping version or the current one, on a real
 * hub (its own Redis, real SQLite) restarted on the same store after the mapping file changed: the
 * original runs the text the hub kept, the current one the file loaded now, and both replays are
 * the original message (its id), audited with the choice. A hub started from the command line
 * loads its mapping files again on SIGHUP, so a fix is replayed without a restart.
 */
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import request from 'supertest';
import { parseConfig } from '../hub/config/load';
import { startHub, type RunningHub } from '../hub/hub';
import { listDeadLetters, queryAudit, type DeadLetter } from '../hub/store/index';
import { waitFor } from './support/http-target';
import { freePort, hubReady, spawnHandover } from './support/hub-process';

const config = parseConfig(`
systems:
  - { id: qms, name: QMS, processOwner: Quality, technicalOwner: IT }
ownership:
  QualityResult: { owner: qms }
routes: []
`);
const dataDir = mkdtempSync(join(tmpdir(), 'handover-replay-mapping-'));
const mappingsDir = mkdtempSync(join(tmpdir(), 'handover-replay-mapping-files-'));
const file = join(mappingsDir, 'qms', 'lims-mini.yaml');
const admin = { authorization: 'Bearer admin-token' };

/** A small LIMS mapping; version 1 takes the measured value as it is, so a number makes an invalid document. */
const mapping = (version: number, value: string) => `id: lims-mini
version: ${version}
system: qms
direction: inbound
contentType: json
match: '$exists(resultId)'
types: [QualityResult]
expression: |
  { "id": resultId, "measurements": [{ "property": "Appearance", "value": ${value} }] }
`;

let hub: RunningHub | undefined;
const start = async () => {
  hub = await startHub({
    config,
    dataDir,
    mappingsDir,
    env: { HANDOVER_TOKEN_QMS: 'qms-token', HANDOVER_ADMIN_TOKEN: 'admin-token' },
    logger: pino({ level: 'silent' }),
  });
  return request(hub.url!);
};

afterAll(async () => {
  await hub?.stop();
});

async function openLetter(messageId: string, after: string[] = []): Promise<DeadLetter> {
  return waitFor(
    async () =>
      (await listDeadLetters(hub!.context.db)).find(
        (letter) => letter.messageId === messageId && !after.includes(letter.id),
      ),
    20000,
    `a dead letter of ${messageId}`,
  );
}

it('replays with the original mapping after its file changed, and with the current one, as the same message', async () => {
  mkdirSync(join(mappingsDir, 'qms'), { recursive: true });
  writeFileSync(file, mapping(1, 'value'));
  let api = await start();
  const posted = await api
    .post('/api/v1/inbound/qms')
    .set('authorization', 'Bearer qms-token')
    .set('content-type', 'application/json')
    .send(JSON.stringify({ resultId: 'QR-MAP-1', value: 42 }));
  expect(posted.status).toBe(202);
  const messageId = posted.body.messageId as string;
  const first = await openLetter(messageId);
  expect(first).toMatchObject({ stage: 'ingest', code: 'MAPPING_OUTPUT_INVALID' });
  const recorded = (await api.get(`/api/v1/messages/${messageId}`).set(admin)).body.mapping;
  expect(recorded).toMatchObject({ name: 'lims-mini@1', digest: expect.stringMatching(/^[0-9a-f]{16}$/) });

  // The integrator fixes the mapping (version 2 makes the value a string); the hub restarts on it.
  await hub!.stop();
  writeFileSync(file, mapping(2, '$string(value)'));
  api = await start();

  // With the original: version 1 runs again, from the store (no file holds it now), and fails as before.
  const original = await api.post(`/api/v1/dead-letters/${first.id}/replay`).set(admin).send({ mapping: 'original' });
  expect(original.status).toBe(202);
  expect(original.body).toMatchObject({
    deadLetter: first.id,
    messageId,
    mapping: { original: { name: 'lims-mini@1', digest: recorded.digest } },
  });
  const again = await openLetter(messageId, [first.id]);
  expect(again).toMatchObject({ code: 'MAPPING_OUTPUT_INVALID' });
  expect(again.reason).toContain(`as kept (${recorded.digest})`);

  // With the current one: version 2, from the file loaded now, and the result is accepted.
  const current = await api
    .post(`/api/v1/dead-letters/${again.id}/replay`)
    .set(admin)
    .send({ mapping: 'current', reason: 'lims-mini@2 takes numbers' });
  expect(current.status).toBe(202);
  expect(current.body).toMatchObject({ messageId, mapping: 'current' });
  const object = await waitFor(async () => {
    const answer = await api.get('/api/v1/objects/QualityResult/QR-MAP-1').set(admin);
    return answer.status === 200 ? answer.body : undefined;
  });
  expect(object).toMatchObject({ messageId, data: { measurements: [{ value: '42' }] } });
  expect((await api.get(`/api/v1/messages/${messageId}`).set(admin)).body.mapping).toMatchObject({
    name: 'lims-mini@2',
  });

  const replays = (await queryAudit(hub!.context.db, { messageId })).filter((record) => record.kind === 'replay');
  expect(replays.map((record) => record.details['mapping'])).toEqual([
    { original: { name: 'lims-mini@1', digest: recorded.digest } },
    'current',
  ]);
  expect(replays[1]!.details).toMatchObject({ by: 'admin', reason: 'lims-mini@2 takes numbers' });
}, 60000);

it('answers 409 REPLAY_MAPPING_UNKNOWN when the store no longer keeps the original version, and replays nothing', async () => {
  const api = request(hub!.url!);
  const posted = await api
    .post('/api/v1/inbound/qms')
    .set('authorization', 'Bearer qms-token')
    .set('content-type', 'application/json')
    .send(JSON.stringify({ resultId: '', value: 'clear' }));
  const letter = await openLetter(posted.body.messageId);
  await hub!.context.db.execute("DELETE FROM mapping_versions WHERE id = 'lims-mini' AND version = 2");
  const refused = await api.post(`/api/v1/dead-letters/${letter.id}/replay`).set(admin).send({ mapping: 'original' });
  expect(refused.status).toBe(409);
  expect(refused.body.error).toMatchObject({
    code: 'REPLAY_MAPPING_UNKNOWN',
    details: { name: 'lims-mini@2', deadLetter: letter.id },
  });
  expect((await listDeadLetters(hub!.context.db)).map((open) => open.id)).toContain(letter.id);
  // A message no mapping translated first (canonical JSON that fails its schema) has no original to run.
  const canonical = await api
    .post('/api/v1/inbound/qms')
    .set('authorization', 'Bearer qms-token')
    .set('content-type', 'application/json')
    .send(JSON.stringify({ type: 'QualityResult', id: 'QR-CANON-1' }));
  const canonicalLetter = await openLetter(canonical.body.messageId);
  const noOriginal = await api
    .post(`/api/v1/dead-letters/${canonicalLetter.id}/replay`)
    .set(admin)
    .send({ mapping: 'original' });
  expect(noOriginal.status).toBe(409);
  expect(noOriginal.body.error).toMatchObject({ code: 'REPLAY_MAPPING_UNKNOWN', details: { name: 'canonical-json' } });
  const bad = await api.post(`/api/v1/dead-letters/${letter.id}/replay`).set(admin).send({ mapping: 'newest' });
  expect(bad.status).toBe(400);
  expect(bad.body.error.details).toEqual([{ path: '/mapping', reason: 'must be one of "original", "current"' }]);
}, 60000);

it('loads the mapping files again on SIGHUP: the fixed version translates the replay, without a restart', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'handover-sighup-'));
  mkdirSync(join(dir, 'mappings', 'qms'), { recursive: true });
  writeFileSync(join(dir, 'mappings', 'qms', 'lims-mini.yaml'), mapping(1, 'value'));
  writeFileSync(
    join(dir, 'hub.yaml'),
    'systems:\n  - { id: qms, name: QMS, processOwner: Quality, technicalOwner: IT }\nownership:\n  QualityResult: { owner: qms }\nroutes: []\n',
  );
  const port = await freePort();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HANDOVER_DATA_DIR: join(dir, 'data'),
    HANDOVER_MAPPINGS_DIR: join(dir, 'mappings'),
    HANDOVER_TOKEN_QMS: 'qms-token',
    HANDOVER_ADMIN_TOKEN: 'admin-token',
    LOG_LEVEL: 'warn',
  };
  delete env.REDIS_URL;
  delete env.DATABASE_URL;
  const cliHub = spawnHandover(['start', '--config', join(dir, 'hub.yaml'), '--port', String(port)], { env });
  try {
    const url = `http://127.0.0.1:${port}`;
    await hubReady(url);
    const api = request(url);
    const posted = await api
      .post('/api/v1/inbound/qms')
      .set('authorization', 'Bearer qms-token')
      .set('content-type', 'application/json')
      .send(JSON.stringify({ resultId: 'QR-HUP-1', value: 7 }));
    const letter = await waitFor(async () => {
      const open = (await api.get('/api/v1/dead-letters').set(admin)).body.deadLetters as DeadLetter[];
      return open.find((candidate) => candidate.messageId === posted.body.messageId);
    });
    writeFileSync(join(dir, 'mappings', 'qms', 'lims-mini.yaml'), mapping(2, '$string(value)'));
    cliHub.kill('SIGHUP');
    // The reload is logged once done; the mappings listing shows the new version in use.
    await waitFor(async () => {
      const listed = (await api.get('/api/v1/mappings').set(admin)).body.mappings as Array<{
        id: string;
        version: number;
      }>;
      return listed.some((entry) => entry.id === 'lims-mini' && entry.version === 2) || undefined;
    });
    expect((await api.post(`/api/v1/dead-letters/${letter.id}/replay`).set(admin).send({})).status).toBe(202);
    const result = await waitFor(async () => {
      const answer = await api.get('/api/v1/objects/QualityResult/QR-HUP-1').set(admin);
      return answer.status === 200 ? answer.body : undefined;
    });
    expect(result.data.measurements).toEqual([{ property: 'Appearance', value: '7' }]);
  } finally {
    cliHub.kill('SIGTERM');
    await once(cliHub, 'exit');
  }
}, 90000);
