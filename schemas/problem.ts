/** A located problem: where in a document something is wrong, and why. */

/** One problem, rendered as `path: reason`. */
export interface Problem {
  /** Slash path into the document: `/DataArea/OperationsSchedule/OperationsRequest[0]/ID` or `/segments/0/id`. */
  path: string;
  reason: string;
}

/** Renders problems one per line as `path: reason`. */
export function formatProblems(problems: readonly Problem[]): string {
  return problems.map((p) => `${p.path || '/'}: ${p.reason}`).join('\n');
}
