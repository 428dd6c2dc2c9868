/**
 * OperationsTestInformation/TestResult ⇄ QualityResult. Each measured property is a
 * PropertyMeasurement; its limits are PropertyMeasurements `<property>#LowerLimit`,
 * `#UpperLimit`, `#Target`; the tested lot and order are `#MaterialLotID` and `#OrderID`.
 */
import { EQUIPMENT_LEVELS } from '../common';
import type { QualityResult } from '../index';
import type { Measurement } from '../quality-result';
import { hierarchyScopeXml } from './common-elements';
import { readDocument, type ReadDocument } from './read-result';
import { compact, XmlCursor } from './xml-cursor';
import { element, type XmlBody } from './xml-build';

const LIMITS = { LowerLimit: 'lowerLimit', UpperLimit: 'upperLimit', Target: 'target' } as const;
const CONTEXT = { MaterialLotID: 'materialLotId', OrderID: 'orderId' } as const;

/** Reads every TestResult of every OperationsTestInformation in a DataArea. */
export function readOperationsTestInformation(dataArea: XmlCursor): ReadDocument[] {
  return dataArea
    .all('OperationsTestInformation')
    .flatMap((information) => information.all('TestResult').map(readTestResult));
}

function readTestResult(result: XmlCursor): ReadDocument<'QualityResult'> {
  const measurements = new Map<string, Measurement>();
  const context: Partial<Record<(typeof CONTEXT)[keyof typeof CONTEXT], string>> = {};
  const limits: Array<{ property: string; field: (typeof LIMITS)[keyof typeof LIMITS]; value: string; path: string }> =
    [];
  for (const measurement of result.all('PropertyMeasurement')) {
    const id = measurement.requiredText('ID');
    const value = measurement.one('Value');
    const valueString = value?.one('ValueString')?.element.text ?? '';
    const [property = '', qualifier] = id.split('#', 2);
    if (qualifier === undefined) {
      measurements.set(
        property,
        compact({
          property,
          value: valueString,
          unit: value?.text('UnitOfMeasure'),
          measuredAt: measurement.dateTime('MeasurementDate'),
        }),
      );
    } else if (property === '' && qualifier in CONTEXT) {
      context[CONTEXT[qualifier as keyof typeof CONTEXT]] = valueString;
    } else if (qualifier in LIMITS) {
      limits.push({
        property,
        field: LIMITS[qualifier as keyof typeof LIMITS],
        value: valueString,
        path: measurement.path,
      });
    } else {
      measurement.report(
        `${measurement.path}/ID`,
        `"${id}": after # only ${[...Object.keys(LIMITS), ...Object.keys(CONTEXT)].join(', ')} are known`,
      );
    }
  }
  for (const limit of limits) {
    const target = measurements.get(limit.property);
    if (target) target[limit.field] = limit.value;
    else result.report(`${limit.path}/ID`, `limit for "${limit.property}", which has no measurement`);
  }
  const document: QualityResult = compact({
    id: result.requiredText('ID'),
    description: result.text('Description'),
    sampleId: result.text('TestableObjectID'),
    testSpecificationId: result.text('OperationsTestRequirementID'),
    materialLotId: context.materialLotId,
    orderId: context.orderId,
    evaluatedAt: result.dateTime('EvaluationDate'),
    disposition: result.text('EvaluatedCriterionResult'),
    hierarchyScope: result.hierarchyScope(EQUIPMENT_LEVELS),
    measurements: [...measurements.values()],
  });
  return readDocument('QualityResult', document, result.path, { occurredAt: document.evaluatedAt });
}

/** OperationsTestInformation holding one TestResult per quality result. */
export function operationsTestInformationXml(id: string, results: QualityResult[]): XmlBody {
  return element({ ID: id, TestResult: results.map(testResultXml) });
}

function testResultXml(result: QualityResult): XmlBody {
  const measured = result.measurements.flatMap((measurement) => [
    measurementXml(
      measurement.property,
      measurement.property,
      measurement.value,
      measurement.unit,
      measurement.measuredAt,
    ),
    ...Object.entries(LIMITS).flatMap(([qualifier, field]) => {
      const value = measurement[field];
      return value === undefined
        ? []
        : [measurementXml(`${measurement.property}#${qualifier}`, measurement.property, value, measurement.unit)];
    }),
  ]);
  const context = Object.entries(CONTEXT).flatMap(([qualifier, field]) => {
    const value = result[field];
    return value === undefined ? [] : [measurementXml(`#${qualifier}`, undefined, value, undefined)];
  });
  return element({
    ID: result.id,
    Description: result.description,
    EvaluationDate: result.evaluatedAt,
    HierarchyScope: hierarchyScopeXml(result.hierarchyScope),
    TestableObjectID: result.sampleId,
    OperationsTestRequirementID: result.testSpecificationId,
    EvaluatedCriterionResult: result.disposition,
    PropertyMeasurement: [...measured, ...context],
  });
}

function measurementXml(
  id: string,
  property: string | undefined,
  value: string,
  unit: string | undefined,
  measuredAt?: string,
): XmlBody {
  return element({
    ID: id,
    TestableObjectPropertyID: property,
    MeasurementDate: measuredAt,
    Value: element({ ValueString: value, UnitOfMeasure: unit }),
  });
}
