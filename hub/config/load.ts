/**
 * Loads the hub configuration: YAML parsed once, validated by its JSON Schema (defaults
 * applied), cross-references checked; every problem reported with file, line and path.
 */
import { readFileSync } from 'node:fs';
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { LineCounter, parseDocument, type Document } from 'yaml';
import { connectors } from '../../connectors/index';
import { CANONICAL_TYPES } from '../../schemas/types';
import { contextProblems } from '../context-engine/config';
import { ConfigError, type ConfigProblem } from './errors';
import { DEFAULT_RETENTION, HubConfigSchema, type HubConfig } from './schema';

// Unoptimised code compiles about twice as fast, and a configuration is validated once per start.
const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: false, code: { optimize: false } });
addFormats(ajv);
const validate = ajv.compile(HubConfigSchema);
const connectorValidators = new Map<string, ValidateFunction>();

/** Each connector kind's schema, compiled once; it fills the kind's defaults into the config. */
function connectorValidator(kind: string, schema: object): ValidateFunction {
  let compiled = connectorValidators.get(kind);
  if (!compiled) {
    compiled = ajv.compile(schema);
    connectorValidators.set(kind, compiled);
  }
  return compiled;
}

/** Reads and validates the configuration file at `file`. */
export function loadConfigFile(file: string): HubConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError('CONFIG_NOT_FOUND', file, [
      { path: '/', reason: (error as NodeJS.ErrnoException).code ?? String(error) },
    ]);
  }
  return parseConfig(text, file);
}

/** Parses and validates configuration text; `file` names it in errors. */
export function parseConfig(text: string, file = '<config>'): HubConfig {
  const lines = new LineCounter();
  const document = parseDocument(text, { lineCounter: lines, prettyErrors: true });
  if (document.errors.length > 0) {
    throw new ConfigError(
      'CONFIG_SYNTAX',
      file,
      document.errors.map((error) => ({
        path: '/',
        reason: error.message.split('\n')[0]!,
        line: error.linePos?.[0]?.line,
      })),
    );
  }
  const config = document.toJS() as Record<string, unknown>;
  if (!validate(config)) {
    throw new ConfigError(
      'CONFIG_INVALID',
      file,
      (validate.errors ?? []).map((error) => problem(error, document, lines)),
    );
  }
  const hub = config as unknown as HubConfig;
  // ajv fills defaults inside objects that are present; absent optional objects get them here.
  hub.limits ??= { maxBodyBytes: 10 * 1024 * 1024, maxJsonDepth: 64, mappingTimeoutMs: 1000 };
  hub.retention ??= { ...DEFAULT_RETENTION };
  for (const route of hub.routes) route.retry ??= { attempts: 8, backoffMs: 500, maxBackoffMs: 60000 };
  const problems = crossReferences(hub);
  if (problems.length > 0) {
    throw new ConfigError(
      'CONFIG_INVALID',
      file,
      problems.map((p) => ({ ...p, line: lineOf(p.path, document, lines) })),
    );
  }
  return hub;
}

function crossReferences(config: HubConfig): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const ids = new Set<string>();
  config.systems.forEach((system, index) => {
    if (ids.has(system.id)) problems.push({ path: `/systems/${index}/id`, reason: `"${system.id}" is declared twice` });
    ids.add(system.id);
  });
  const known = (id: string, path: string) => {
    if (!ids.has(id)) problems.push({ path, reason: `"${id}" is not a system declared under systems` });
  };
  for (const type of CANONICAL_TYPES) {
    const rule = config.ownership[type];
    if (!rule) continue;
    known(rule.owner, `/ownership/${type}/owner`);
    for (const [field, owner] of Object.entries(rule.fields ?? {})) known(owner, `/ownership/${type}/fields/${field}`);
    (rule.scopes ?? []).forEach((scope, index) => known(scope.owner, `/ownership/${type}/scopes/${index}/owner`));
  }
  const connectorIds = new Set<string>();
  config.connectors.forEach((instance, index) => {
    if (connectorIds.has(instance.id))
      problems.push({ path: `/connectors/${index}/id`, reason: `"${instance.id}" is declared twice` });
    connectorIds.add(instance.id);
    const definition = connectors[instance.kind];
    if (!definition) {
      problems.push({
        path: `/connectors/${index}/kind`,
        reason: `"${instance.kind}" is not one of ${Object.keys(connectors).join(', ')}`,
      });
      return;
    }
    const validate = connectorValidator(instance.kind, definition.configSchema);
    if (!validate(instance.config)) {
      for (const error of validate.errors ?? []) {
        const path =
          error.keyword === 'required'
            ? `${error.instancePath}/${String(error.params.missingProperty)}`
            : error.instancePath;
        problems.push({
          path: `/connectors/${index}/config${path}`,
          reason: error.keyword === 'required' ? 'required' : (error.message ?? error.keyword),
        });
      }
    } else {
      for (const found of definition.problems?.(instance.config as never) ?? [])
        problems.push({ path: `/connectors/${index}/config${found.path}`, reason: found.reason });
    }
    const system = instance.config.system;
    if (typeof system === 'string') known(system, `/connectors/${index}/config/system`);
  });
  const routeIds = new Set<string>();
  config.routes.forEach((route, index) => {
    known(route.target, `/routes/${index}/target`);
    if ((route.url === undefined) === (route.connector === undefined)) {
      problems.push({ path: `/routes/${index}`, reason: 'give either url or connector' });
    } else if (route.connector !== undefined && !connectorIds.has(route.connector)) {
      problems.push({
        path: `/routes/${index}/connector`,
        reason: `"${route.connector}" is not a connector declared under connectors`,
      });
    }
    if (routeIds.has(route.id))
      problems.push({ path: `/routes/${index}/id`, reason: `"${route.id}" is declared twice` });
    routeIds.add(route.id);
  });
  if (config.context) problems.push(...contextProblems(config.context, known));
  return problems;
}

function problem(error: ErrorObject, document: Document, lines: LineCounter): ConfigProblem {
  const path =
    error.keyword === 'additionalProperties'
      ? `${error.instancePath}/${String(error.params.additionalProperty)}`
      : error.keyword === 'required'
        ? `${error.instancePath}/${String(error.params.missingProperty)}`
        : error.instancePath;
  const reason =
    error.keyword === 'additionalProperties'
      ? 'unknown setting'
      : error.keyword === 'required'
        ? 'required'
        : error.keyword === 'enum'
          ? `must be one of ${(error.params.allowedValues as unknown[]).join(', ')}`
          : (error.message ?? error.keyword);
  return { path: path || '/', reason, line: lineOf(path, document, lines) };
}

/** The 1-based line of the YAML node at a JSON path (or of its nearest existing parent). */
function lineOf(path: string, document: Document, lines: LineCounter): number | undefined {
  const segments = path
    .split('/')
    .slice(1)
    .map((segment) => (/^\d+$/.test(segment) ? Number(segment) : segment));
  for (let length = segments.length; length >= 0; length -= 1) {
    const node = document.getIn(segments.slice(0, length), true) as { range?: [number, number, number] } | undefined;
    if (node?.range) return lines.linePos(node.range[0]).line;
  }
  return undefined;
}
