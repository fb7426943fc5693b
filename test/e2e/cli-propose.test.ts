/**
 * End to end: the BUILT CLI's `propose` as a scheduled CI job runs it, with an explicit environment
 * (HOME empty, no git config, a fake GitHub API, a real registry and real git): `--dry-run` prints
 * the title and body with the lock diff and pushes nothing; a real run prints `opened #1 <url>`, the
 * next `updated #1 <url>`; `--label` is repeatable; a spec outside a git repository and a missing
 * remote are exit 2; an API failure is exit 3 and the token is never printed.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli, STACK } from '../helpers/cli.js';
import { startFakeGitHub, type FakeGitHub } from '../helpers/fake-github.js';
import { gitRepos, type GitRepos } from '../helpers/git-repo.js';
import { pushMultiArch, type MultiArchResult } from '../helpers/push.js';
import { emptyDockerConfigDir, useRegistry, workspace, type SpecInput } from '../helpers/workspace.js';

const PLATFORMS = [
  { os: 'linux', architecture: 'amd64' },
  { os: 'linux', architecture: 'arm', variant: 'v7' },
];
const ctx = useRegistry();
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

let seq = 0;

interface Setup {
  repos: GitRepos;
  gh: FakeGitHub;
  token: string;
  /** TMPDIR of the CLI: propose must leave nothing behind in it. */
  tmp: string;
  v2: MultiArchResult;
  cli(args: string[], extraEnv?: NodeJS.ProcessEnv): ReturnType<typeof runCli>;
}

const spec = (repo: string): SpecInput => ({
  images: { agent: { ref: `${ctx.reg.host}/${repo}`, track: '^1.0.0', notes: { 'linux/arm/v7': 'no eBPF' } } },
  fleet: { datacenter: { arch: 'x86_64', hosts: ['web-01', 'web-02'] }, edge: { arch: 'armv7l', hosts: ['gw-01'] } },
});

/**
 * The environment of the CLI, exactly: `env`, and every other variable of the test runner removed
 * (runCli lays its env over process.env; undefined drops a variable).
 */
function exactly(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = { ...env };
  for (const k of Object.keys(process.env)) if (!(k in out)) out[k] = undefined;
  return out;
}

/** A remote whose main holds the spec and its lock at v1.0.0, a user's clone, v1.1.0 released. */
async function setup(): Promise<Setup> {
  const repo = `e2e${++seq}/agent`;
  await pushMultiArch({ url: ctx.reg.url }, repo, 'v1.0.0', PLATFORMS, { salt: `${repo} v1` });
  const dockerConfig = emptyDockerConfigDir();
  const ws = workspace(spec(repo));
  const locked = await runCli(['lock'], ws.dir, { DOCKER_CONFIG: dockerConfig });
  expect(locked.code).toBe(0);
  const repos = gitRepos({ 'lg-pins.yaml': readFileSync(ws.specFile, 'utf8'), 'lg-pins.lock.yaml': ws.lockText() });
  cleanups.push(() => repos.cleanup());
  const token = `ghp_${randomBytes(18).toString('hex')}`;
  const gh = await startFakeGitHub({ repository: 'owner/repo', token, hasBranch: (b) => b in repos.remoteBranches() });
  cleanups.push(() => gh.close());
  const tmp = mkdtempSync(join(repos.root, 'tmp-'));
  const v2 = await pushMultiArch({ url: ctx.reg.url }, repo, 'v1.1.0', PLATFORMS, { salt: `${repo} v2` });
  const base = {
    ...repos.env,
    DOCKER_CONFIG: dockerConfig,
    TMPDIR: tmp,
    GITHUB_REPOSITORY: 'owner/repo',
    GITHUB_TOKEN: token,
    GITHUB_API_URL: gh.url,
  };
  return { repos, gh, token, tmp, v2, cli: (args, extraEnv = {}) => runCli(args, repos.checkout, exactly({ ...base, ...extraEnv })) };
}

describe('lg-pins propose (built CLI)', () => {
  it('--dry-run prints the title and the body with the lock diff, exits 0, pushes and calls nothing', async () => {
    const s = await setup();
    const branches = s.repos.remoteBranches();
    const before = s.repos.snapshot();

    const r = await s.cli(['propose', '--dry-run']);

    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout.startsWith('Title: lg-pins: agent v1.0.0 → v1.1.0\n\n')).toBe(true);
    expect(r.stdout).toContain(`| after | \`v1.1.0\` | \`${s.v2.digest}\` |`);
    expect(r.stdout).toContain('no eBPF');
    expect(r.stdout).toContain('<details><summary>Changes to <code>lg-pins.lock.yaml</code></summary>');
    expect(r.stdout).toContain('```diff\nIndex: lg-pins.lock.yaml\n');
    expect(r.stdout).toContain(`+    digest: ${s.v2.digest}`);
    expect(s.gh.calls).toEqual([]);
    expect(s.repos.remoteBranches()).toEqual(branches);
    expect(s.repos.snapshot()).toEqual(before);
    expect(readdirSync(s.tmp)).toEqual([]);
  });

  it('opens the pull request (`opened #1 <url>`), then updates it (`updated #1 <url>`); --label is repeatable; the token is never printed', async () => {
    const s = await setup();
    const before = s.repos.snapshot();

    const first = await s.cli(['propose', '--label', 'a', '--label', 'b']);

    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toBe(`opened #1 ${s.gh.origin}/owner/repo/pull/1: lg-pins: agent v1.0.0 → v1.1.0\n`);
    expect(s.gh.pulls).toHaveLength(1);
    expect(s.gh.pulls[0]).toMatchObject({ state: 'open', head: 'lg-pins/repin', base: 'main', labels: ['a', 'b'] });
    expect(s.gh.calls.find((c) => c.pathname.endsWith('/issues/1/labels'))?.body).toEqual({ labels: ['a', 'b'] });
    const commit = s.repos.remoteBranches()['lg-pins/repin'];
    expect(commit).toMatch(/^[0-9a-f]{40}$/);
    expect(s.repos.remoteCommit('lg-pins/repin').author).toBe('lg-pins <lg-pins@users.noreply.github.com>');

    const second = await s.cli(['propose', '--label', 'a', '--label', 'b']);

    expect(second.code).toBe(0);
    expect(second.stdout).toBe(`updated #1 ${s.gh.origin}/owner/repo/pull/1: lg-pins: agent v1.0.0 → v1.1.0\n`);
    expect(s.gh.pulls).toHaveLength(1);
    expect(s.repos.remoteBranches()['lg-pins/repin']).toBe(commit);

    const json = await s.cli(['propose', '--json']);
    expect(json.code).toBe(0);
    const doc = JSON.parse(json.stdout) as { action: string; commit: string; pullRequest: { number: number; url: string } };
    expect(doc).toMatchObject({ action: 'updated', commit, pullRequest: { number: 1, url: `${s.gh.origin}/owner/repo/pull/1` } });

    for (const out of [first, second, json]) expect(out.stdout + out.stderr).not.toContain(s.token);
    for (const c of s.gh.calls) expect(c.headers.authorization).toBe(`Bearer ${s.token}`);
    expect(s.repos.snapshot()).toEqual(before);
    expect(readdirSync(s.tmp)).toEqual([]);
  });

  it('an API failure is exit 3 with what to fix on stderr, never the token', async () => {
    const s = await setup();
    s.gh.fail({ method: 'POST', path: /\/pulls$/, status: 403, body: { message: `Resource not accessible by integration (${s.token})` } });
    const r = await s.cli(['propose']);
    expect(r.code).toBe(3);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^error: GitHub POST \/repos\/owner\/repo\/pulls answered HTTP 403/);
    expect(r.stderr).toContain('contents: write, pull-requests: write');
    expect(r.stderr).not.toContain(s.token);
    expect(r.stderr).not.toMatch(STACK);
  });

  it('a spec that is not in a git repository: exit 2 with a clear message', async () => {
    const ws = workspace(spec('e2e-none/agent'));
    const home = mkdtempSync(join(tmpdir(), 'lg-pins-home-'));
    cleanups.push(() => rmSync(home, { recursive: true, force: true }));
    const r = await runCli(
      ['propose'],
      ws.dir,
      exactly({
        PATH: process.env.PATH,
        HOME: home,
        GIT_CONFIG_NOSYSTEM: '1',
        GIT_CEILING_DIRECTORIES: tmpdir(),
        DOCKER_CONFIG: emptyDockerConfigDir(),
      }),
    );
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`error: ${ws.specFile} is not inside a git repository; propose commits the lock on a branch of its repository\n`);
  });

  it('a missing remote: exit 2 naming it and --remote', async () => {
    const s = await setup();
    const wrong = await s.cli(['propose', '--remote', 'upstream']);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toBe('error: git remote "upstream" does not exist (pass --remote NAME)\n');

    s.repos.git(['remote', 'remove', 'origin']);
    const none = await s.cli(['propose']);
    expect(none.code).toBe(2);
    expect(none.stderr).toBe('error: git remote "origin" does not exist (pass --remote NAME)\n');
    expect(s.gh.calls).toEqual([]);
    expect(Object.keys(s.repos.remoteBranches())).toEqual(['main']);
  });
});
