/** Reloading the mapping files: a file removed is no longer used; one that breaks keeps its working version. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MappingRegistry } from './registry';

const mapping = (id: string, version: number) => `id: ${id}
version: ${version}
system: qms
direction: inbound
contentType: json
types: [QualityResult]
expression: '{ "id": resultId, "measurements": [] }'
`;

it('drops a removed file at the next reload, and keeps the working version of a file that breaks', () => {
  const dir = mkdtempSync(join(tmpdir(), 'handover-registry-'));
  mkdirSync(join(dir, 'qms'));
  writeFileSync(join(dir, 'qms', 'a.yaml'), mapping('result-a', 1));
  writeFileSync(join(dir, 'qms', 'b.yaml'), mapping('result-b', 1));
  const registry = new MappingRegistry(dir);
  expect(
    registry
      .all()
      .map((m) => m.name)
      .sort(),
  ).toEqual(['result-a@1', 'result-b@1']);
  // A replaces its file by a new one, B's edit is broken.
  rmSync(join(dir, 'qms', 'a.yaml'));
  writeFileSync(join(dir, 'qms', 'a-v2.yaml'), mapping('result-a', 2));
  writeFileSync(join(dir, 'qms', 'b.yaml'), 'id: [');
  const { failed } = registry.reload();
  expect(failed.map((failure) => failure.file)).toEqual([join(dir, 'qms', 'b.yaml')]);
  expect(
    registry
      .all()
      .map((m) => m.name)
      .sort(),
  ).toEqual(['result-a@2', 'result-b@1']);
});
