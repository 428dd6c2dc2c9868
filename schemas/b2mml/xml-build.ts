/** Serialising element trees to XML text with xml2js, leaving out absent optional elements. */
import { Builder } from 'xml2js';

/** An element body for xml2js's builder: children by name, in schema order. */
export type XmlBody = { [name: string]: XmlValue };
export type XmlValue = string | XmlBody | XmlBody[] | string[] | undefined;

const builder = new Builder({
  xmldec: { version: '1.0', encoding: 'UTF-8' },
  renderOpts: { pretty: true, indent: '  ', newline: '\n' },
});

/**
 * Builds an element body in the given (schema) order, dropping undefined values and empty lists.
 * @example element({ ID: 'A', Description: undefined }) // { ID: 'A' }
 */
export function element(children: Record<string, XmlValue>): XmlBody {
  const body: XmlBody = {};
  for (const [name, value] of Object.entries(children)) {
    if (value === undefined || (Array.isArray(value) && value.length === 0)) continue;
    body[name] = value;
  }
  return body;
}

/** Renders a document whose root element is `rootName`. */
export function renderXml(rootName: string, body: XmlBody): string {
  return builder.buildObject({ [rootName]: body });
}
