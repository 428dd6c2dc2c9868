/** XML payloads as mappings see them: element names (prefixes dropped) to text, objects or arrays of repeats. */
import type { XmlElement } from '../../schemas/b2mml/xml-parse';

export type XmlJson = string | { [name: string]: XmlJson | XmlJson[] };

/**
 * Leaves become their text; an element repeated under one parent becomes an array; attributes
 * become `@name` keys.
 * @example toJson(parseXml('<a><b>1</b><b>2</b><c>x</c></a>')) // { b: ['1', '2'], c: 'x' }
 */
export function toJson(element: XmlElement): XmlJson {
  if (element.children.length === 0 && Object.keys(element.attributes).length === 0) return element.text;
  const result: { [name: string]: XmlJson | XmlJson[] } = {};
  for (const [name, value] of Object.entries(element.attributes)) result[`@${name}`] = value;
  for (const child of element.children) {
    const value = toJson(child);
    const existing = result[child.name];
    if (existing === undefined) result[child.name] = value;
    else if (Array.isArray(existing)) existing.push(value);
    else result[child.name] = [existing, value];
  }
  if (element.text) result['#text'] = element.text;
  return result;
}
