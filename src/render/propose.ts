import type { ProposeResult } from '../run/propose.js';
import { failureJson } from './failure.js';

/** `propose --json`. */
export function proposeJson(r: ProposeResult): object {
  return {
    action: r.action,
    changed: r.changed,
    title: r.title,
    body: r.body,
    patch: r.patch,
    branch: r.branch,
    base: r.base,
    commit: r.commit,
    pullRequest: r.pr,
    failures: r.diff.failures.map(failureJson),
  };
}

/** `propose`: what it did, in one line (or the title and body of a dry run). */
export function proposeText(r: ProposeResult): string {
  if (r.action === 'dry-run')
    return r.changed ? `Title: ${r.title}\n\n${r.body}\n` : `Nothing to change against ${r.base}; no pull request would be opened.\n`;
  const where = r.pr ? `#${r.pr.number} ${r.pr.url}` : '';
  const line: Record<Exclude<ProposeResult['action'], 'dry-run'>, string> = {
    created: `opened ${where}: ${r.title}`,
    updated: `updated ${where}: ${r.title}`,
    closed: `closed ${where}: nothing left to change against ${r.base}`,
    nothing: r.diff.failures.length
      ? `nothing proposed: no image could be re-pinned (errors below)`
      : `nothing to change against ${r.base}`,
    pushed: `pushed ${r.branch} to ${r.remote} (${r.commit?.slice(0, 12)}); no GITHUB_REPOSITORY or CI_PROJECT_ID, so no pull request was opened`,
  };
  return `${line[r.action]}\n`;
}
