import { join } from 'node:path';
import { repoRoot } from '../../test/support/paths';
import { ConfigError } from './errors';
import { loadConfigFile, parseConfig } from './load';
import { readCredentials, tokenMatches, tokenVariable } from './secrets';

function problemsOf(text: string) {
  try {
    parseConfig(text, 'hub.yaml');
  } catch (error) {
    if (error instanceof ConfigError) return { code: error.code, problems: error.problems, message: error.message };
    throw error;
  }
  throw new Error('accepted');
}

const minimal = `
systems:
  - { id: erp, name: ERP, processOwner: Planning, technicalOwner: IT }
ownership:
  ProductionOrder: { owner: erp }
`;

describe('hub configuration', () => {
  it('loads the seed plant with its seven systems, the context engine, and applies defaults', () => {
    const config = loadConfigFile(join(repoRoot, 'seeds', 'packaging-line', 'handover.yaml'));
    expect(config.systems.map((system) => system.id)).toEqual([
      'erp',
      'mes',
      'scada',
      'cmms',
      'qms',
      'wms',
      'bi',
      'line-context',
    ]);
    expect(config.context).toMatchObject({ system: 'line-context', ignoreBelowSeconds: 0, countEverySeconds: 60 });
    expect(config.context!.lines[0]!.workUnits.map((unit) => [unit.id, unit.stateMap])).toEqual([
      ['FILLER-01', 'packml'],
      ['CAPPER-01', 'packml'],
      ['LABELER-01', 'packml'],
      ['CASEPACKER-01', 'packml'],
    ]);
    expect(config.ownership.ProductionOrder).toEqual({ owner: 'erp', fields: { state: 'mes' }, scopes: [] });
    expect(config.ownership.onNonOwnerWrite).toBe('reject');
    expect(config.routes[0]).toMatchObject({ timeoutMs: 10000, retry: { attempts: 8, backoffMs: 500 } });
    expect(config.partitions).toBe(16);
    expect(config.limits.maxBodyBytes).toBe(10485760);
    expect(config.limits.maxJsonDepth).toBe(64);
    expect(config.limits.mappingTimeoutMs).toBe(1000);
    expect(config.retention).toEqual({ payloadDays: 30, deliveryDays: 30, intervalMinutes: 10, batchSize: 500 });
  });

  it('applies retention defaults without a retention section, and refuses a negative period', () => {
    expect(parseConfig(minimal).retention).toEqual({
      payloadDays: 30,
      deliveryDays: 30,
      intervalMinutes: 10,
      batchSize: 500,
    });
    expect(parseConfig(`${minimal}retention: { payloadDays: 0 }\n`).retention).toMatchObject({
      payloadDays: 0,
      deliveryDays: 30,
    });
    expect(problemsOf(`${minimal}retention:\n  deliveryDays: -1\n`).problems).toEqual([
      expect.objectContaining({ path: '/retention/deliveryDays', line: 7 }),
    ]);
  });

  it('reports a bad value with file, line, path and reason', () => {
    const result = problemsOf(
      `${minimal}routes:\n  - id: r1\n    target: erp\n    types: [ProductionOrder]\n    format: pdf\n    url: http://127.0.0.1:1/x\n`,
    );
    expect(result.code).toBe('CONFIG_INVALID');
    expect(result.problems).toContainEqual(expect.objectContaining({ path: '/routes/0/format', line: 10 }));
    expect(result.message).toContain('hub.yaml:10 /routes/0/format');
  });

  it('refuses unknown settings, unknown types and owners that are not declared systems', () => {
    const result = problemsOf(
      minimal.replace(
        'ProductionOrder: { owner: erp }',
        'ProductionOrder: { owner: mes, colour: red }\n  Invoice: { owner: erp }',
      ),
    );
    expect(result.problems).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ path: '/ownership/ProductionOrder/colour', reason: 'unknown setting' }),
        expect.objectContaining({ path: '/ownership/Invoice', reason: 'unknown setting' }),
      ]),
    );
    const owner = problemsOf(minimal.replace('owner: erp', 'owner: mes'));
    expect(owner.problems).toEqual([
      { path: '/ownership/ProductionOrder/owner', reason: '"mes" is not a system declared under systems', line: 5 },
    ]);
  });

  it('refuses a context section with undeclared systems, an unknown time zone, overlapping shifts or equipment twice', () => {
    const result = problemsOf(`${minimal}context:
  system: line-context
  sources: [scada]
  timeZone: Europe/Atlantis
  shifts:
    - { id: early, start: '06:00', hours: 9 }
    - { id: late, start: '14:00', hours: 8 }
  lines:
    - id: L1
      workUnits:
        - { id: U1, idealCycleSeconds: 1, signals: { state: state, mode: state } }
        - { id: U1, idealCycleSeconds: 1, signals: {} }
`);
    expect(result.problems.map((p) => [p.path, p.reason])).toEqual([
      ['/context/system', '"line-context" is not a system declared under systems'],
      ['/context/sources/0', '"scada" is not a system declared under systems'],
      ['/context/timeZone', '"Europe/Atlantis" is not an IANA time zone'],
      ['/context/shifts', 'shifts "early" and "late" overlap'],
      ['/context/lines/0/workUnits/0/signals', 'signal "state" is bound twice'],
      ['/context/lines/0/workUnits/1/id', 'equipment "U1" is declared twice'],
    ]);
  });

  it('reports YAML syntax errors with their line', () => {
    const result = problemsOf('systems:\n  - id: erp\n   name: x\n');
    expect(result.code).toBe('CONFIG_SYNTAX');
    expect(result.problems[0]!.line).toBeGreaterThan(0);
  });

  it('names a missing file', () => {
    expect(() => loadConfigFile('/nonexistent/hub.yaml')).toThrow(
      expect.objectContaining({ code: 'CONFIG_NOT_FOUND' }),
    );
  });
});

describe('credentials come from the environment only', () => {
  it('maps system ids to HANDOVER_TOKEN_* variables', () => {
    expect(tokenVariable('erp')).toBe('HANDOVER_TOKEN_ERP');
    expect(tokenVariable('mes-2')).toBe('HANDOVER_TOKEN_MES_2');
    const credentials = readCredentials(
      [
        { id: 'erp', name: 'ERP', processOwner: 'p', technicalOwner: 't' },
        { id: 'qms', name: 'QMS', processOwner: 'p', technicalOwner: 't' },
      ],
      { HANDOVER_TOKEN_ERP: 'erp-secret', HANDOVER_ADMIN_TOKEN: 'admin' },
    );
    expect(credentials.systemTokens.get('erp')).toBe('erp-secret');
    expect(credentials.systemTokens.has('qms')).toBe(false);
    expect(credentials.adminToken).toBe('admin');
  });

  it('refuses a token shared by two systems, or by a system and the operators, naming the variables only', () => {
    const systems = ['erp', 'mes', 'qms'].map((id) => ({ id, name: id, processOwner: 'p', technicalOwner: 't' }));
    const shared = () =>
      readCredentials(systems, { HANDOVER_TOKEN_ERP: 'same-secret', HANDOVER_TOKEN_QMS: 'same-secret' });
    expect(shared).toThrow(ConfigError);
    expect(shared).toThrow(/HANDOVER_TOKEN_ERP and HANDOVER_TOKEN_QMS/);
    expect(shared).not.toThrow(/same-secret/);
    const admin = () =>
      readCredentials(systems, { HANDOVER_TOKEN_MES: 'admin-secret', HANDOVER_ADMIN_TOKEN: 'admin-secret' });
    expect(admin).toThrow(/HANDOVER_TOKEN_MES and HANDOVER_ADMIN_TOKEN/);
    expect(admin).not.toThrow(/admin-secret/);
    expect(() =>
      readCredentials(systems, { HANDOVER_TOKEN_ERP: 'a', HANDOVER_TOKEN_MES: 'b', HANDOVER_ADMIN_TOKEN: 'c' }),
    ).not.toThrow();
  });

  it('compares tokens exactly', () => {
    expect(tokenMatches('erp-secret', 'erp-secret')).toBe(true);
    expect(tokenMatches('erp-secre', 'erp-secret')).toBe(false);
    expect(tokenMatches(undefined, 'erp-secret')).toBe(false);
  });
});
