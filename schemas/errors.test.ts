import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../test/support/paths';
import { MQTT_ERRORS } from '../connectors/mqtt/errors';
import { OPCUA_ERRORS } from '../connectors/opcua/errors';
import { MAPPING_ERRORS } from '../mappings/engine/errors';
import { API_ERRORS } from '../hub/api/errors';
import { CONFIG_ERRORS } from '../hub/config/errors';
import { CONTEXT_ERRORS } from '../hub/context-engine/errors';
import { PIPELINE_ERRORS, REPLAY_ERRORS } from '../hub/pipeline/errors';
import { QUEUE_ERRORS } from '../hub/queue/errors';
import { B2MML_ERRORS } from './b2mml/errors';

describe('docs/errors.md', () => {
  const doc = readFileSync(join(repoRoot, 'docs', 'errors.md'), 'utf8');
  const rows = doc
    .split('\n')
    .filter((line) => line.startsWith('|'))
    .map((line) =>
      line
        .split('|')
        .slice(1, -1)
        .map((cell) => cell.trim()),
    );
  const row = (code: string) => rows.find((cells) => cells[0] === `\`${code}\``);

  const withStatus = { ...B2MML_ERRORS, ...API_ERRORS, ...QUEUE_ERRORS, ...REPLAY_ERRORS };
  it.each(Object.keys(withStatus))('documents %s with its HTTP status', (code) => {
    expect(row(code)).toBeDefined();
    expect(row(code)![1]).toBe(String(withStatus[code as keyof typeof withStatus].status));
  });

  it.each([
    ...Object.keys(CONFIG_ERRORS),
    ...Object.keys(PIPELINE_ERRORS),
    ...Object.keys(OPCUA_ERRORS),
    ...Object.keys(MQTT_ERRORS),
    ...Object.keys(MAPPING_ERRORS),
    ...Object.keys(CONTEXT_ERRORS),
  ])('documents %s', (code) => {
    expect(row(code)).toBeDefined();
  });
});
