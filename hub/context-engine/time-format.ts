/** Instants as the engine writes them: ISO 8601 UTC, and compact for ids (`20261201T060000Z`). */
export const iso = (ms: number) => new Date(ms).toISOString();
export const compact = (ms: number) => iso(ms).replace(/[-:]|\.\d+/g, '');
