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

/** xml2js's shape: attributes under `$`, text under `_`, children as arrays keyed by qualified name. */
interface RawNode {
  $?: Record<string, string>;
  _?: string;
  [child: string]: RawNode[] | Record<string, string> | string | undefined;
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

  // Namespace resolution (sax's xmlns mode) halves parsing speed; only the root's namespace
  // matters to B2MML readers, so it is resolved from the root's own declarations instead.
  const parser = new Parser({ explicitArray: true, explicitCharkey: true, trim: true });
  guard(parser as unknown as { saxParser: SaxHooks }, limits);

  let result: unknown;
  let failure: unknown;
  parser.parseString(text, (error: unknown, value: unknown) => {
    failure = error;
    result = value;
  });
  if (failure) throw failure instanceof B2mmlError ? failure : notWellFormed(failure);
  const [rootName, value] = Object.entries((result ?? {}) as Record<string, RawNode | string>)[0] ?? [];
  if (!rootName) throw new B2mmlError('XML_EMPTY', [{ path: '/', reason: 'no root element' }]);
  // xml2js gives an empty root without attributes (`<hello/>`) as its emptyTag value, '', not a node.
  const root: RawNode = typeof value === 'object' ? value : {};
  const element = toElement(rootName, root);
  const prefix = rootName.includes(':') ? rootName.slice(0, rootName.indexOf(':')) : '';
  element.uri = root.$?.[prefix ? `xmlns:${prefix}` : 'xmlns'] ?? '';
  return element;
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

function toElement(qualifiedName: string, node: RawNode): XmlElement {
  const attributes: Record<string, string> = {};
  const children: XmlElement[] = [];
  for (const [key, value] of Object.entries(node)) {
    if (key === '$') {
      for (const [name, attribute] of Object.entries(value as Record<string, string>)) {
        if (name !== 'xmlns' && !name.startsWith('xmlns:')) attributes[localName(name)] = attribute;
      }
    } else if (key !== '_') {
      for (const child of value as RawNode[]) children.push(toElement(key, child));
    }
  }
  return { name: localName(qualifiedName), uri: '', attributes, text: node._ ?? '', children };
}

function localName(qualifiedName: string): string {
  return qualifiedName.slice(qualifiedName.indexOf(':') + 1);
}
