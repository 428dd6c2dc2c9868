/** Configuration error codes; start-up stops with the file, the path and the reason. */

export const CONFIG_ERRORS = {
  CONFIG_NOT_FOUND: 'The configuration file cannot be read',
  CONFIG_SYNTAX: 'The configuration file is not valid YAML',
  CONFIG_INVALID: 'The configuration breaks its schema or names something undeclared',
  REDIS_CLUSTER_NODES_INVALID: 'REDIS_CLUSTER_NODES is not a host:port list, or is set together with REDIS_URL',
} as const;
export type ConfigErrorCode = keyof typeof CONFIG_ERRORS;

export interface ConfigProblem {
  path: string;
  reason: string;
  line?: number;
}

/** A configuration that cannot be used, with every problem found. */
export class ConfigError extends Error {
  constructor(
    readonly code: ConfigErrorCode,
    readonly file: string,
    readonly problems: ConfigProblem[],
  ) {
    super(
      `${code}: ${file}\n` +
        problems.map((p) => `  ${file}${p.line === undefined ? '' : `:${p.line}`} ${p.path}: ${p.reason}`).join('\n'),
    );
    this.name = 'ConfigError';
  }
}
