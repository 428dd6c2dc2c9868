import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { b2mmlDir, repoRoot } from '../../test/support/paths';
import { xsdErrors } from '../../test/support/xsd';
import { run } from './main';

const seeds = join(repoRoot, 'seeds', 'packaging-line', 'b2mml');
const work = mkdtempSync(join(tmpdir(), 'handover-cli-'));

async function cli(...argv: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await run(argv, {
    out: (text) => (stdout += text),
    err: (text) => (stderr += text),
    readFile: (path) => readFileSync(path),
  });
  return { code, stdout, stderr };
}

function file(name: string, content: string): string {
  const path = join(work, name);
  writeFileSync(path, content);
  return path;
}

describe('handover validate', () => {
  it('exits 0 on a valid B2MML document and names what it holds', async () => {
    const result = await cli('validate', join(seeds, 'process-operations-schedule.xml'));
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(
      'valid ProcessOperationsSchedule (V0700), 2 documents: ProductionOrder 000001000123, ProductionOrder 000001000124',
    );
  });

  it('exits 1 with exactly one "path: reason" line per problem', async () => {
    const broken = readFileSync(join(seeds, 'process-operations-schedule.xml'), 'utf8')
      .replace('<ID>000001000124</ID>', '')
      .replace('<RequestState>Released</RequestState>', '<RequestState>Done</RequestState>');
    const result = await cli('validate', file('broken.xml', broken));
    expect(result.code).toBe(1);
    expect(result.stdout.trim().split('\n')).toEqual([
      '/ProcessOperationsSchedule/DataArea/OperationsSchedule/OperationsRequest[0]/RequestState: "Done" is not one of Forecast, Released, Waiting, Cancelled, Ready, Running, Completed, Aborted, Held, Suspended, Closed, Other',
      '/ProcessOperationsSchedule/DataArea/OperationsSchedule/OperationsRequest[1]/ID: required',
    ]);
    expect(result.stderr).toContain('invalid (B2MML_INVALID), 2 problems');
  });

  it('validates canonical JSON: a bare document with --type, and reports schema problems by JSON path', async () => {
    expect((await cli('validate', join(seeds, 'quality-result.json'), '--type', 'QualityResult')).code).toBe(0);
    const bad = JSON.parse(readFileSync(join(seeds, 'quality-result.json'), 'utf8'));
    bad.measurements[0].value = 12.375;
    delete bad.id;
    const result = await cli('validate', file('bad.json', JSON.stringify(bad)), '--type', 'QualityResult');
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('/id: required');
    expect(result.stdout).toContain('/measurements/0/value: must be string');
  });

  it('refuses hostile XML with its code', async () => {
    const result = await cli(
      'validate',
      file('xxe.xml', '<!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><a>&x;</a>'),
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('XML_DOCTYPE_FORBIDDEN');
    expect(result.stdout).not.toContain('root:');
  });

  it('exits 2 on usage errors and unreadable files', async () => {
    expect((await cli('validate')).code).toBe(2);
    expect((await cli('validate', join(work, 'missing.xml'))).stderr).toContain('cannot read');
    expect((await cli('frobnicate', 'x')).code).toBe(2);
    expect((await cli('convert', join(seeds, 'quality-result.json'), '--to', 'pdf')).code).toBe(2);
  });
});

describe('handover convert', () => {
  it('B2MML → a JSON array of canonical envelopes', async () => {
    const result = await cli('convert', join(seeds, 'process-operations-schedule.xml'), '--to', 'json');
    expect(result.code).toBe(0);
    const envelopes = JSON.parse(result.stdout);
    expect(envelopes).toHaveLength(2);
    expect(envelopes[0]).toMatchObject({
      type: 'ProductionOrder',
      objectKey: '000001000123',
      sourceSystem: 'ERP',
      verb: 'Process',
      correlationId: 'erp-sched-2024-05-02-early',
    });
    expect(envelopes[0].document.segments[0].materials[0].quantity).toEqual({ value: '12.375', unit: 'KG' });
  });

  it('canonical JSON → XSD-valid B2MML V0700, and back to the same document', async () => {
    const xml = await cli(
      'convert',
      join(seeds, 'quality-result.json'),
      '--type',
      'QualityResult',
      '--to',
      'b2mml',
      '--sender',
      'QMS',
    );
    expect(xml.code).toBe(0);
    expect(xml.stdout).toContain('<SyncOperationsTestInformation');
    expect(xsdErrors(xml.stdout)).toBe('');
    const back = await cli('convert', file('qr.xml', xml.stdout), '--to', 'json');
    expect(JSON.parse(back.stdout)[0].document).toEqual(
      JSON.parse(readFileSync(join(seeds, 'quality-result.json'), 'utf8')),
    );
  });

  it('converts every V0700 skeleton and the V0600 skeleton', async () => {
    for (const path of [
      join(b2mmlDir, 'V0700', 'skeletons', 'ProcessOperationsSchedule.xml'),
      join(b2mmlDir, 'V0700', 'skeletons', 'SyncOperationsPerformance.xml'),
      join(b2mmlDir, 'V0700', 'skeletons', 'NotifyOperationsEvent.xml'),
      join(b2mmlDir, 'V0700', 'skeletons', 'ConfirmBOD.xml'),
      join(b2mmlDir, 'V0600', 'skeletons', 'ProcessProductionSchedule.xml'),
    ]) {
      const result = await cli('convert', path, '--to', 'json');
      expect({ path, code: result.code, stderr: result.stderr }).toEqual({ path, code: 0, stderr: '' });
    }
  });

  it('the installed command runs as a separate process with the same exit codes', () => {
    const main = join(repoRoot, 'hub', 'cli', 'main.ts');
    const ok = spawnSync(
      process.execPath,
      ['--import', 'tsx', main, 'validate', join(seeds, 'process-operations-schedule.xml')],
      {
        encoding: 'utf8',
      },
    );
    expect(ok.status).toBe(0);
    const bad = spawnSync(
      process.execPath,
      ['--import', 'tsx', main, 'convert', file('bad.xml', '<a><b></a>'), '--to', 'json'],
      {
        encoding: 'utf8',
      },
    );
    expect(bad.status).toBe(1);
    expect(bad.stdout).toMatch(/^\/: Unexpected close tag \(line 1, column \d+\)\n$/);
  });
});
