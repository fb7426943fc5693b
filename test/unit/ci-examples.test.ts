import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const read = (p: string) => parse(readFileSync(new URL(`../../examples/ci/${p}`, import.meta.url), 'utf8')) as Record<string, unknown>;
type Job = {
  steps?: Array<{ run?: string; uses?: string; env?: Record<string, string> }>;
  rules?: Array<{ if?: string }>;
  script?: string[];
};

describe('the CI examples', () => {
  it('GitHub: nightly schedule and manual dispatch, the permissions propose needs, Node, npx lg-pins propose with the job token', () => {
    const wf = read('github/lg-pins-propose.yml');
    const on = wf.on as Record<string, unknown>;
    expect(on.schedule).toEqual([{ cron: expect.stringMatching(/^\S+ \S+ \* \* \*$/) }]);
    expect(on).toHaveProperty('workflow_dispatch');
    expect(wf.permissions).toEqual({ contents: 'write', 'pull-requests': 'write' });
    const steps = (wf.jobs as Record<string, Job>).propose!.steps!;
    expect(steps.some((s) => s.uses?.startsWith('actions/setup-node@'))).toBe(true);
    const run = steps.find((s) => s.run?.includes('lg-pins propose'))!;
    // verify runs first: drift fails the job before anything is proposed.
    expect(steps.findIndex((s) => s.run === 'npx --yes lg-pins verify')).toBeGreaterThan(-1);
    expect(steps.findIndex((s) => s.run === 'npx --yes lg-pins verify')).toBeLessThan(steps.indexOf(run));
    expect(run.run).toMatch(/^npx --yes lg-pins propose/);
    expect(run.env?.GITHUB_TOKEN).toBe('${{ secrets.GITHUB_TOKEN }}');
  });

  it('GitHub: the pull-request check runs lg-pins check with read-only permissions', () => {
    const wf = read('github/lg-pins-check.yml');
    expect(wf.on).toHaveProperty('pull_request');
    expect(wf.permissions).toEqual({ contents: 'read' });
    expect((wf.jobs as Record<string, Job>).check!.steps!.some((s) => s.run === 'npx --yes lg-pins check')).toBe(true);
  });

  it('GitLab: propose only in scheduled pipelines, check on merge requests', () => {
    const ci = read('gitlab/.gitlab-ci.yml') as Record<string, Job>;
    expect(ci['lg-pins:propose']!.rules).toEqual([{ if: '$CI_PIPELINE_SOURCE == "schedule"' }]);
    expect(ci['lg-pins:propose']!.script!.some((l) => l.startsWith('npx --yes lg-pins propose'))).toBe(true);
    expect(ci['lg-pins:propose']!.script![0]).toBe('npx --yes lg-pins verify');
    expect(ci['lg-pins:check']!.rules![0]!.if).toBe('$CI_PIPELINE_SOURCE == "merge_request_event"');
    expect(ci['lg-pins:check']!.script).toEqual(['npx --yes lg-pins check']);
  });
});
