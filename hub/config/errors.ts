/** Configuration error codes; start-up stops with the file, the path and the reason. */

export type ConfigErrorCode = 'CONFIG_NOT_FOUND' | 'CONFIG_SYNTAX' | 'CONFIG_INVALID' | 'CONFIG_SECRET_MISSING';

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
