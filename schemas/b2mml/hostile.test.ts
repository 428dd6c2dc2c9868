import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { b2mmlDir } from '../../test/support/paths';
import { B2mmlError, readB2mml } from './index';

const schedule = readFileSync(join(b2mmlDir, 'V0700', 'skeletons', 'ProcessOperationsSchedule.xml'), 'utf8');

function failure(xml: string, options: Parameters<typeof readB2mml>[1] = {}): B2mmlError {
  try {
    readB2mml(xml, options);
  } catch (error) {
    if (error instanceof B2mmlError) return error;
    throw error;
  }
  throw new Error('the document was accepted');
}

describe('hostile documents are refused before anything is expanded', () => {
  it('refuses an external entity (XXE file read) with XML_DOCTYPE_FORBIDDEN', () => {
    const xxe = `<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>
      <ProcessOperationsSchedule xmlns="http://www.mesa.org/xml/B2MML"><ApplicationArea>&x;</ApplicationArea></ProcessOperationsSchedule>`;
    const error = failure(xxe);
    expect(error.code).toBe('XML_DOCTYPE_FORBIDDEN');
    expect(error.problems[0]!.reason).toContain('DOCTYPE');
    expect(JSON.stringify(error)).not.toContain('root:');
  });

  it('refuses "billion laughs" entity expansion quickly', () => {
    const levels = Array.from({ length: 10 }, (_, i) => `<!ENTITY l${i + 1} "${`&l${i};`.repeat(10)}">`).join('');
    const bomb = `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY l0 "lol">${levels}]><lolz>&l10;</lolz>`;
    const started = process.hrtime.bigint();
    expect(failure(bomb).code).toBe('XML_DOCTYPE_FORBIDDEN');
    // Not a speed test: a bound so loose that only actual expansion (10^10 strings) could break it.
    expect(Number(process.hrtime.bigint() - started) / 1e6).toBeLessThan(1000);
  });

  it('refuses an external DTD and a harmless-looking internal subset alike', () => {
    expect(failure('<!DOCTYPE a SYSTEM "http://attacker.example/x.dtd"><a/>').code).toBe('XML_DOCTYPE_FORBIDDEN');
    expect(failure('<!DOCTYPE a [<!ELEMENT a ANY>]><a/>').code).toBe('XML_DOCTYPE_FORBIDDEN');
  });

  it('refuses an undeclared entity reference as not well-formed', () => {
    const error = failure(schedule.replace('<ID>PO-1000123</ID>', '<ID>&secret;</ID>'));
    expect(error.code).toBe('XML_NOT_WELL_FORMED');
    expect(error.problems[0]!.reason).toMatch(/entity.*line \d+, column \d+/i);
  });

  it('refuses documents over the size, depth or element limits', () => {
    expect(failure(schedule, { limits: { maxBytes: 1000, maxDepth: 64, maxElements: 1e5 } }).code).toBe(
      'XML_TOO_LARGE',
    );
    expect(failure(`${'<a>'.repeat(100)}${'</a>'.repeat(100)}`).code).toBe('XML_TOO_DEEP');
    expect(
      failure(`<a>${'<b/>'.repeat(50)}</a>`, { limits: { maxBytes: 1e6, maxDepth: 64, maxElements: 20 } }).code,
    ).toBe('XML_TOO_MANY_ELEMENTS');
    expect(failure('   ').code).toBe('XML_EMPTY');
  });
});

describe('broken documents get a stable code and the exact place', () => {
  it('not well-formed: says what and where', () => {
    const error = failure(schedule.replace('</ID>', '</Id>'));
    expect(error.code).toBe('XML_NOT_WELL_FORMED');
    expect(error.problems[0]!.reason).toMatch(/close tag.*line \d+, column \d+/i);
  });

  it('wrong root, unknown verb and wrong namespace', () => {
    expect(failure('<Invoice xmlns="http://www.mesa.org/xml/B2MML"/>').code).toBe('B2MML_UNKNOWN_ROOT');
    const verb = failure(schedule.replace(/ProcessOperationsSchedule/g, 'FrobnicateOperationsSchedule'));
    expect(verb.code).toBe('B2MML_UNKNOWN_VERB');
    expect(verb.problems[0]).toEqual({
      path: '/FrobnicateOperationsSchedule',
      reason: expect.stringContaining('"Frobnicate" is not one of'),
    });
    const namespace = failure(schedule.replace('http://www.mesa.org/xml/B2MML', 'urn:not-b2mml'));
    expect(namespace.code).toBe('B2MML_WRONG_NAMESPACE');
    expect(failure(schedule.replace(' xmlns="http://www.mesa.org/xml/B2MML"', '')).code).toBe('B2MML_WRONG_NAMESPACE');
  });

  it('schema violations: every problem with its path, in one answer', () => {
    const second = schedule.replace(
      '</OperationsRequest>',
      `</OperationsRequest><OperationsRequest><RequestState>Sleeping</RequestState><StartTime>tomorrow</StartTime>
        <SegmentRequirement><ID>1</ID><ProcessSegmentID>P</ProcessSegmentID><OperationsDefinitionID>D</OperationsDefinitionID>
        <OperationsSegmentID>S</OperationsSegmentID><MaterialRequirement><ID>M</ID><MaterialDefinitionID>X</MaterialDefinitionID>
        <MaterialUse>Consumed</MaterialUse><Quantity><QuantityString>12,5</QuantityString></Quantity></MaterialRequirement>
        </SegmentRequirement></OperationsRequest>`,
    );
    const error = failure(second);
    expect(error.code).toBe('B2MML_INVALID');
    const request = '/ProcessOperationsSchedule/DataArea/OperationsSchedule/OperationsRequest[1]';
    expect(error.problems).toEqual(
      expect.arrayContaining([
        { path: `${request}/ID`, reason: 'required' },
        { path: `${request}/RequestState`, reason: expect.stringContaining('"Sleeping" is not one of Forecast') },
        { path: `${request}/StartTime`, reason: expect.stringContaining('"tomorrow" is not a date-time') },
        {
          path: `${request}/SegmentRequirement/MaterialRequirement/Quantity/QuantityString`,
          reason: '"12,5" is not a decimal number',
        },
      ]),
    );
  });

  it('missing ApplicationArea and DataArea are reported, not crashed on', () => {
    const error = failure('<SyncOperationsPerformance xmlns="http://www.mesa.org/xml/B2MML"/>');
    expect(error.problems).toEqual([
      { path: '/SyncOperationsPerformance/ApplicationArea', reason: 'required' },
      { path: '/SyncOperationsPerformance/DataArea', reason: 'required' },
    ]);
  });

  it('a refused document never includes a stack trace in its problems', () => {
    const error = failure('<a><b></a>');
    expect(JSON.stringify(error.problems)).not.toMatch(/at .*\.(ts|js):\d+/);
  });
});
