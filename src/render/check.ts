import type { CheckResult } from '../run/check.js';

/** `check --json`. */
export function checkJson(r: CheckResult): object {
  return { lockFile: r.lockFile, ok: r.exitCode === 0, stale: r.stale };
}

/** `check`: agreement, or each stale entry and what to run. `lockFile` and `specFile` as the user names them. */
export function checkText(r: CheckResult, lockFile: string, specFile: string): string {
  if (r.stale.length === 0) return `${lockFile} agrees with ${specFile}\n`;
  return `${lockFile} is stale:\n${r.stale.map((s) => `  - ${s.message}`).join('\n')}\nRun \`lg-pins lock\` (or \`lg-pins diff\` to see the changes first).\n`;
}
