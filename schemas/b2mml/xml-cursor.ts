/**
 * Reading helpers over a parsed element that remember where they are, so every problem a
 * reader finds is reported with its exact path (`/DataArea/OperationsSchedule/OperationsRequest[1]/ID`).
 */
import { isDecimal, type HierarchyScope, type Quantity } from '../common';
import type { Problem } from '../problem';
import type { XmlElement } from './xml-parse';

const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/** A position in a document: the element, its path, and the problem list of the whole read. */
export class XmlCursor {
  constructor(
    readonly element: XmlElement,
    readonly path: string,
    readonly problems: Problem[],
  ) {}

  /** A cursor on the document root; problems found below it collect in `problems`. */
  static root(element: XmlElement): XmlCursor {
    return new XmlCursor(element, `/${element.name}`, []);
  }

  /** Every child element called `name`; paths carry a 0-based index when there are several. */
  all(name: string): XmlCursor[] {
    const children = this.element.children.filter((child) => child.name === name);
    return children.map((child, index) => {
      const step = children.length === 1 ? name : `${name}[${index}]`;
      return new XmlCursor(child, `${this.path}/${step}`, this.problems);
    });
  }

  /** The first child called `name`, if there is one. */
  one(name: string): XmlCursor | undefined {
    const child = this.element.children.find((candidate) => candidate.name === name);
    return child && new XmlCursor(child, `${this.path}/${name}`, this.problems);
  }

  /** The first child called `name`; reports `required` when missing. */
  required(name: string): XmlCursor | undefined {
    const found = this.one(name);
    if (!found) this.report(`${this.path}/${name}`, 'required');
    return found;
  }

  /** Trimmed text of the child `name`, or undefined when absent or empty. */
  text(name: string): string | undefined {
    const text = this.one(name)?.element.text.trim();
    return text ? text : undefined;
  }

  /** Texts of every child called `name`. */
  texts(name: string): string[] {
    return this.all(name)
      .map((child) => child.element.text.trim())
      .filter((text) => text !== '');
  }

  /** Text of the child `name`; reports `required` when absent or empty. */
  requiredText(name: string): string {
    const text = this.text(name);
    if (text === undefined) this.report(`${this.path}/${name}`, 'required');
    return text ?? '';
  }

  /** Text of the child `name` when it is one of `allowed`; reports anything else. */
  code<T extends string>(name: string, allowed: readonly T[]): T | undefined {
    const text = this.text(name);
    if (text === undefined) return undefined;
    if (!(allowed as readonly string[]).includes(text)) {
      this.report(`${this.path}/${name}`, `"${text}" is not one of ${allowed.join(', ')}`);
      return undefined;
    }
    return text as T;
  }

  /** An RFC 3339 date-time with a zone from the child `name`. */
  dateTime(name: string): string | undefined {
    const text = this.text(name);
    if (text !== undefined && !DATE_TIME.test(text)) {
      this.report(`${this.path}/${name}`, `"${text}" is not a date-time with time zone (e.g. 2024-05-02T06:00:00Z)`);
      return undefined;
    }
    return text;
  }

  /** An integer from the child `name`. */
  integer(name: string): number | undefined {
    const text = this.text(name);
    if (text === undefined) return undefined;
    if (!/^[+-]?\d+$/.test(text)) {
      this.report(`${this.path}/${name}`, `"${text}" is not an integer`);
      return undefined;
    }
    return Number(text);
  }

  /** The first B2MML Quantity child, kept as an exact decimal string with its unit. */
  quantity(name = 'Quantity'): Quantity | undefined {
    const quantity = this.one(name);
    if (!quantity) return undefined;
    const value = quantity.requiredText('QuantityString');
    if (value && !isDecimal(value)) {
      quantity.report(`${quantity.path}/QuantityString`, `"${value}" is not a decimal number`);
      return undefined;
    }
    const unit = quantity.text('UnitOfMeasure');
    return unit === undefined ? { value } : { value, unit };
  }

  /** The HierarchyScope child, if present. */
  hierarchyScope(levels: readonly HierarchyScope['equipmentLevel'][]): HierarchyScope | undefined {
    const scope = this.one('HierarchyScope');
    if (!scope) return undefined;
    const equipmentId = scope.requiredText('EquipmentID');
    const level = scope.one('EquipmentLevel') ? 'EquipmentLevel' : 'EquipmentElementLevel';
    const equipmentLevel = scope.code(level, levels);
    if (!scope.text(level)) scope.report(`${scope.path}/EquipmentLevel`, 'required');
    return { equipmentId, equipmentLevel: equipmentLevel ?? 'Other' };
  }

  /** Records a problem at `path`. */
  report(path: string, reason: string): void {
    this.problems.push({ path, reason });
  }
}

/** Copies only the entries whose value is defined, so optional fields stay absent. */
export function compact<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
