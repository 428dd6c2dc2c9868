/** `handover validate` on XML that is well-formed but not B2MML: it names the root instead of calling the file empty. */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from './main';

async function validate(content: string) {
  const file = join(mkdtempSync(join(tmpdir(), 'handover-validate-')), 'input.xml');
  writeFileSync(file, content);
  let stdout = '';
  let stderr = '';
  const code = await run(['validate', file], {
    out: (text) => (stdout += text),
    err: (text) => (stderr += text),
    readFile: (path) => readFileSync(path),
  });
  return { code, stdout, stderr };
}

describe('handover validate, a root that is not B2MML', () => {
  it.each(['<hello/>', '<?xml version="1.0"?>\n<hello></hello>', '<hello>text</hello>'])(
    'says %j is not a B2MML document and names its root',
    async (xml) => {
      const result = await validate(xml);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('invalid (B2MML_UNKNOWN_ROOT)');
      expect(result.stdout).toMatch(/^\/hello: <hello> is not a B2MML document/);
    },
  );
});
