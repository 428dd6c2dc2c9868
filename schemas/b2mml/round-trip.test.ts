import { examples } from '../examples';
import { CANONICAL_TYPES, type CanonicalEnvelope, type CanonicalType } from '../index';
import { validateDocument } from '../validate';
import { wrap } from '../canonical-json';
import { readB2mml, readConfirmBod, writeB2mml, writeConfirmBod } from './index';
import { xsdErrors } from '../../test/support/xsd';

function envelopeOf<T extends CanonicalType>(type: T, version?: number): CanonicalEnvelope {
  const envelope = wrap(type, examples[type], 'mes');
  if (version !== undefined) envelope.version = version;
  return envelope;
}

describe('canonical → B2MML V0700 → canonical', () => {
  it.each(CANONICAL_TYPES)('the example %s is itself valid canonical JSON', (type) => {
    expect(validateDocument(type, examples[type])).toEqual([]);
  });

  it.each(CANONICAL_TYPES)('%s comes back identical and the XML is valid against MESA’s XSD', (type) => {
    const xml = writeB2mml([envelopeOf(type)], { sender: 'HANDOVER', bodId: 'bod-rt-1' });
    expect(xsdErrors(xml)).toBe('');
    const read = readB2mml(xml, { sourceSystem: 'mes' });
    const same = read.envelopes.filter((envelope) => envelope.type === type);
    expect(same).toHaveLength(1);
    expect(same[0]!.document).toEqual(examples[type]);
    expect(read.applicationArea).toMatchObject({ sender: 'HANDOVER', bodId: 'bod-rt-1' });
  });

  it('keeps decimal quantities exactly as written, digits and trailing zeros included', () => {
    const order = structuredClone(examples.ProductionOrder);
    order.segments[0]!.materials[0]!.quantity = { value: '0.1000000000000000055511151231257827', unit: 'KG' };
    const xml = writeB2mml([wrap('ProductionOrder', order)]);
    expect(xml).toContain('<QuantityString>0.1000000000000000055511151231257827</QuantityString>');
    const back = readB2mml(xml).envelopes[0]!.document as typeof order;
    expect(back.segments[0]!.materials[0]!.quantity).toEqual({
      value: '0.1000000000000000055511151231257827',
      unit: 'KG',
    });
  });

  it('carries the object version where B2MML has a Version element', () => {
    for (const type of [
      'ProductionOrder',
      'ProductionConfirmation',
      'MaintenanceWorkOrder',
      'DowntimeEvent',
    ] as const) {
      const read = readB2mml(writeB2mml([envelopeOf(type, 7)]));
      expect(read.envelopes.find((envelope) => envelope.type === type)!.version).toBe(7);
    }
  });

  it('writes the verb the caller chooses, and several documents of one noun in one document', () => {
    const xml = writeB2mml([envelopeOf('ProductionOrder'), envelopeOf('MaintenanceRequest')], { verb: 'Change' });
    expect(xml).toMatch(/<ChangeOperationsSchedule xmlns="http:\/\/www.mesa.org\/xml\/B2MML" releaseID="V0700">/);
    expect(xml).toContain('<Change/>');
    expect(xsdErrors(xml)).toBe('');
    const read = readB2mml(xml);
    expect(read.verb).toBe('Change');
    expect(read.envelopes.map((envelope) => envelope.type)).toEqual(['ProductionOrder', 'MaintenanceRequest']);
  });

  it('refuses to mix documents that need different nouns', () => {
    expect(() => writeB2mml([envelopeOf('ProductionOrder'), envelopeOf('QualityResult')])).toThrow(
      expect.objectContaining({ code: 'B2MML_MIXED_NOUNS' }),
    );
  });

  it('writes ConfirmBOD acknowledgements that are XSD-valid and read back', () => {
    const original = { sender: 'ERP', creationDateTime: '2024-05-01T08:00:00Z', bodId: 'bod-0001' };
    const accepted = writeConfirmBod(original, { creationDateTime: '2024-05-01T08:00:01Z' });
    const rejected = writeConfirmBod(original, { problems: [{ path: '/X/ID', reason: 'required' }] });
    expect(xsdErrors(accepted)).toBe('');
    expect(xsdErrors(rejected)).toBe('');
    expect(readConfirmBod(accepted)).toMatchObject({ original, descriptions: ['Accepted'] });
    expect(readConfirmBod(rejected).descriptions[0]).toBe('Rejected:\n/X/ID: required');
  });
});
