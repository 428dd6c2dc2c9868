/**
 * Safe XML parsing for untrusted payloads: refuses DOCTYPE and entity declarations before
 * anything could be expanded, and enforces size, depth and element-count limits while parsing.
 */
import { Parser } from 'xml2js';
import { B2mmlError } from './errors';

/** Limits applied to every parsed document. */
export interface XmlLimits {
  maxBytes: number;
  maxDepth: number;
  maxElements: number;
}

export const DEFAULT_XML_LIMITS: XmlLimits = { maxBytes: 10 * 1024 * 1024, maxDepth: 64, maxElements: 200_000 };

/** A parsed element: local name, namespace URI, attributes by local name, text, children in order. */
export interface XmlElement {
  name: string;
  uri: string;
  attributes: Record<string, string>;
  text: string;
  children: XmlElement[];
}

interface RawNode {
  $?: Record<string, { name: string; prefix: string; local: string; value: string }>;
  $ns: { uri: string; local: string };
  _?: string;
  $$?: RawNode[];
}

/**
 * Parses `xml` into an element tree, or throws a {@link B2mmlError} with a stable code.
 * @example parseXml('<a xmlns="urn:x"><b>1</b></a>').children[0].text // '1'
 */
export function parseXml(xml: string | Buffer, limits: XmlLimits = DEFAULT_XML_LIMITS): XmlElement {
  const size = typeof xml === 'string' ? Buffer.byteLength(xml) : xml.length;
  if (size > limits.maxBytes) {
    throw new B2mmlError('XML_TOO_LARGE', [{ path: '/', reason: `${size} bytes, the limit is ${limits.maxBytes}` }]);
  }
  const text = typeof xml === 'string' ? xml : xml.toString('utf8');
  if (text.trim() === '') throw new B2mmlError('XML_EMPTY', [{ path: '/', reason: 'no root element' }]);

  const parser = new Parser({
    xmlns: true,
    explicitChildren: true,
    preserveChildrenOrder: true,
    charsAsChildren: false,
    explicitArray: true,
    trim: true,
  });
  guard(parser as unknown as { saxParser: SaxHooks }, limits);

  let result: unknown;
  let failure: unknown;
  parser.parseString(text, (error: unknown, value: unknown) => {
    failure = error;
    result = value;
  });
  if (failure) throw failure instanceof B2mmlError ? failure : notWellFormed(failure);
  const root = result && typeof result === 'object' ? Object.values(result as Record<string, RawNode>)[0] : undefined;
  if (!root) throw new B2mmlError('XML_EMPTY', [{ path: '/', reason: 'no root element' }]);
  return toElement(root);
}

interface SaxHooks {
  ondoctype: ((doctype: string) => void) | null;
  onopentag: (node: unknown) => void;
  onclosetag: (name: string) => void;
  line: number;
  column: number;
}

function guard(parser: { saxParser: SaxHooks }, limits: XmlLimits): void {
  const sax = parser.saxParser;
  let depth = 0;
  let elements = 0;
  const open = sax.onopentag;
  const close = sax.onclosetag;
  sax.ondoctype = () => {
    throw new B2mmlError('XML_DOCTYPE_FORBIDDEN', [
      { path: '/', reason: `DOCTYPE at line ${sax.line + 1}: DTDs and entity declarations are not accepted` },
    ]);
  };
  sax.onopentag = (node) => {
    depth += 1;
    elements += 1;
    if (depth > limits.maxDepth) {
      throw new B2mmlError('XML_TOO_DEEP', [
        { path: '/', reason: `depth ${depth} at line ${sax.line + 1}, the limit is ${limits.maxDepth}` },
      ]);
    }
    if (elements > limits.maxElements) {
      throw new B2mmlError('XML_TOO_MANY_ELEMENTS', [
        { path: '/', reason: `more than ${limits.maxElements} elements` },
      ]);
    }
    open(node);
  };
  sax.onclosetag = (name) => {
    depth -= 1;
    close(name);
  };
}

function notWellFormed(error: unknown): B2mmlError {
  const message = error instanceof Error ? error.message : String(error);
  const [what = 'parse error', ...where] = message.split('\n');
  // sax counts lines and columns from 0; editors count from 1.
  const position = where
    .map((line) => /^(Line|Column): (\d+)/.exec(line))
    .filter((match) => match !== null)
    .map((match) => `${match[1]!.toLowerCase()} ${Number(match[2]) + 1}`)
    .join(', ');
  return new B2mmlError('XML_NOT_WELL_FORMED', [{ path: '/', reason: position ? `${what} (${position})` : what }]);
}

function toElement(node: RawNode): XmlElement {
  const attributes: Record<string, string> = {};
  for (const attribute of Object.values(node.$ ?? {})) {
    if (attribute.name !== 'xmlns' && attribute.prefix !== 'xmlns') attributes[attribute.local] = attribute.value;
  }
  return {
    name: node.$ns.local,
    uri: node.$ns.uri,
    attributes,
    text: node._ ?? '',
    children: (node.$$ ?? []).map(toElement),
  };
}
