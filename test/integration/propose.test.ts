/**
 * `propose` with GitHub, for real: a real registry, real git (a bare remote, a clone as the user's
 * checkout, HOME empty so no identity or config leaks in) and a fake GitHub API that records every
 * call. One pull request is created, then updated (same commit when nothing moved, force-pushed on a
 * newer release), never duplicated, and closed when it has become empty; the change is computed from
 * the base branch and the user's checkout is left exactly as found; dry runs change nothing; API and
 * push failures are exit 3 with a message that says what to fix; the token goes only in the
 * Authorization header and never appears in a body, a message or the result. Over an HTTP remote
 * (git http-backend, GitHub-like): credentials persisted by actions/checkout are used as they are
 * (never a second Authorization header), and a remote without any gets the job token for fetch and push.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { GitHostError, UsageError } from '../../src/errors.js';
import { lock } from '../../src/run/lock.js';
import { DEFAULT_BRANCH, propose, type ProposeOptions, type ProposeResult } from '../../src/run/propose.js';
import { startFakeGitHub, type FakeGitHub } from '../helpers/fake-github.js';
import { gitRepos, type GitRepos } from '../helpers/git-repo.js';
import { deleteManifest, pushMultiArch, type MultiArchResult, type Platform } from '../helpers/push.js';
import { lockSection, useRegistry, workspace, type SpecInput } from '../helpers/workspace.js';

const P = {
  amd64: { os: 'linux', architecture: 'amd64' },
  armv7: { os: 'linux', architecture: 'arm', variant: 'v7' },
  riscv64: { os: 'linux', architecture: 'riscv64' },
};
const NOTE = 'no eBPF probe: the agent runs in DegradedNoEBPFArch mode';
const DEFAULT_AUTHOR = 'lg-pins <lg-pins@users.noreply.github.com>';

const ctx = useRegistry();
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

let seq = 0;

interface Scenario {
  repos: GitRepos;
  gh: FakeGitHub;
  token: string;
  env: NodeJS.ProcessEnv;
  /** Registry repository of the agent. */
  repo: string;
  v1: MultiArchResult;
  /** Push a release of the agent. */
  release(tag: string, platforms?: Platform[]): Promise<MultiArchResult>;
  run(o?: Partial<ProposeOptions>): Promise<ProposeResult>;
  /** What `lock` makes of the remote base branch's spec and lock right now. */
  expectedLock(): Promise<string>;
  /** "Merge" the pull request: fast-forward the remote's main to the branch. */
  merge(): void;
}

/**
 * The remote's main holds a spec (agent tracking ^1.0.0 with a note on arm/v7; groups datacenter,
 * edge, and riscv-lab held on missing) and its lock at v1.0.0 (amd64, arm/v7, riscv64).
 */
async function scenario(
  opts: { ref?: (repo: string) => string; extra?: (prefix: string) => Promise<SpecInput['images']>; outputs?: SpecInput['outputs'] } = {},
): Promise<Scenario> {
  const prefix = `s${++seq}`;
  const repo = `${prefix}/agent`;
  const v1 = await pushMultiArch({ url: ctx.reg.url }, repo, 'v1.0.0', [P.amd64, P.armv7, P.riscv64], { salt: `${repo} v1.0.0` });
  const spec: SpecInput = {
    images: {
      agent: { ref: opts.ref?.(repo) ?? `${ctx.reg.host}/${repo}`, track: '^1.0.0', notes: { 'linux/arm/v7': NOTE } },
      ...(await opts.extra?.(prefix)),
    },
    fleet: {
      datacenter: { arch: 'x86_64', hosts: ['web-01', 'web-02'] },
      edge: { arch: 'armv7l', hosts: ['gw-berlin', 'gw-lyon', 'gw-oslo'] },
      'riscv-lab': { arch: 'riscv64', hosts: ['lab-rv-01'], onMissing: 'hold' },
    },
    ...(opts.outputs ? { outputs: opts.outputs } : {}),
  };
  const ws = workspace(spec);
  const first = await lock({ cwd: ws.dir, client: { credentials: ctx.anonymous } });
  expect(first.failures).toEqual([]);
  const repos = gitRepos({
    'lg-pins.yaml': readFileSync(ws.specFile, 'utf8'),
    'lg-pins.lock.yaml': ws.lockText(),
    'README.md': '# fleet\n',
    // The deploy outputs the first lock wrote, committed with it.
    ...Object.fromEntries(Object.keys(first.lock.outputs ?? {}).map((p) => [p, readFileSync(join(ws.dir, p), 'utf8')])),
  });
  cleanups.push(() => repos.cleanup());
  const token = `ghs_${randomBytes(18).toString('hex')}`;
  const gh = await startFakeGitHub({ repository: 'owner/repo', token, hasBranch: (b) => b in repos.remoteBranches() });
  cleanups.push(() => gh.close());
  const env = { ...repos.env, GITHUB_REPOSITORY: 'owner/repo', GITHUB_TOKEN: token, GITHUB_API_URL: gh.url };
  return {
    repos,
    gh,
    token,
    env,
    repo,
    v1,
    release: (tag, platforms = [P.amd64, P.armv7]) => pushMultiArch({ url: ctx.reg.url }, repo, tag, platforms, { salt: `${repo} ${tag}` }),
    run: (o = {}) => propose({ cwd: repos.checkout, env, client: { credentials: ctx.anonymous }, ...o }),
    async expectedLock() {
      const w = workspace({ images: {} });
      writeFileSync(w.specFile, repos.remoteShow('main', 'lg-pins.yaml')!);
      writeFileSync(w.lockFile, repos.remoteShow('main', 'lg-pins.lock.yaml')!);
      await lock({ cwd: w.dir, client: { credentials: ctx.anonymous } });
      return w.lockText();
    },
    merge() {
      repos.remoteGit(['update-ref', 'refs/heads/main', `refs/heads/${DEFAULT_BRANCH}`]);
    },
  };
}

/** The rejection of `p` (fails the test if it resolves). */
async function rejection(p: Promise<unknown>): Promise<Error> {
  return p.then(
    () => {
      throw new Error('expected propose to fail, but it succeeded');
    },
    (e: unknown) => e as Error,
  );
}

const calls = (gh: FakeGitHub, from = 0) => gh.calls.slice(from).map((c) => `${c.method} ${c.pathname}`);
const API = '/api/v3/repos/owner/repo';

/** The token only ever travels as `authorization: Bearer <token>`, and nothing else shows it. */
function expectTokenOnlyInHeader(s: Scenario, ...texts: unknown[]): void {
  expect(s.gh.calls.length).toBeGreaterThan(0);
  for (const c of s.gh.calls) {
    expect(c.headers.authorization).toBe(`Bearer ${s.token}`);
    const { authorization: _auth, ...others } = c.headers;
    expect(JSON.stringify(others)).not.toContain(s.token);
    expect(c.path).not.toContain(s.token);
    expect(c.text).not.toContain(s.token);
  }
  for (const t of texts)
    expect(typeof t === 'string' ? t : JSON.stringify(t, (_k, v: unknown) => (v instanceof Error ? v.message : v))).not.toContain(s.token);
}

describe('propose with GitHub: the pull request', () => {
  it('opens one pull request: title, a body made for review, labels, branch pushed with the new lock on the base head', async () => {
    const s = await scenario();
    const v2 = await s.release('v1.1.0');
    const baseHead = s.repos.remoteBranches().main!;
    const before = s.repos.snapshot();

    const r = await s.run({ labels: ['dependencies', 'fleet'] });

    expect(r.action).toBe('created');
    expect(r.exitCode).toBe(0);
    expect(r.title).toBe('lg-pins: agent v1.0.0 → v1.1.0');
    expect(r.branch).toBe('lg-pins/repin');
    expect(r.base).toBe('main');
    expect(r.pr).toEqual({ number: 1, url: `${s.gh.origin}/owner/repo/pull/1`, title: r.title });

    // Exactly one pull request, with what was rendered.
    expect(s.gh.pulls).toHaveLength(1);
    const pr = s.gh.pulls[0]!;
    expect(pr).toMatchObject({
      number: 1,
      state: 'open',
      head: 'lg-pins/repin',
      base: 'main',
      title: r.title,
      body: r.body,
      labels: ['dependencies', 'fleet'],
    });
    expect(calls(s.gh)).toEqual([`GET ${API}/pulls`, `POST ${API}/pulls`, `POST ${API}/issues/1/labels`]);
    expect(s.gh.calls[0]!.query).toMatchObject({ state: 'open', head: 'owner:lg-pins/repin', base: 'main' });
    expect(s.gh.calls[1]!.body).toMatchObject({ head: 'lg-pins/repin', base: 'main', title: r.title, body: r.body });
    expect(s.gh.calls[2]!.body).toEqual({ labels: ['dependencies', 'fleet'] });

    // The body: tag and index digest before/after, every platform's full digests, the note, the
    // groups and host counts that move, the held group with its reason, the lock diff collapsed.
    const [amd1, arm1, rv1] = s.v1.images.map((d) => d.digest);
    const [amd2, arm2] = v2.images.map((d) => d.digest);
    const lines = r.body.split('\n');
    expect(lines).toContain(`| before | \`v1.0.0\` | \`${s.v1.digest}\` |`);
    expect(lines).toContain(`| after | \`v1.1.0\` | \`${v2.digest}\` |`);
    expect(lines).toContain(`| \`linux/amd64\` | changed | \`${amd1}\` | \`${amd2}\` |  |`);
    expect(lines).toContain(`| \`linux/arm/v7\` | changed | \`${arm1}\` | \`${arm2}\` | ${NOTE} |`);
    expect(lines).toContain(`| \`linux/riscv64\` | removed | \`${rv1}\` | — |  |`);
    expect(lines).toContain(`| \`datacenter\` | 2 | \`linux/amd64\` \`${amd1}\` | \`linux/amd64\` \`${amd2}\` |`);
    expect(lines).toContain(`| \`edge\` | 3 | \`linux/arm/v7\` \`${arm1}\` | \`linux/arm/v7\` \`${arm2}\` |`);
    expect(lines).toContain('2 groups and 5 hosts move.');
    expect(lines).toContain('- **Held back:** `riscv-lab` (1 host) stays on `v1.0.0`: linux/riscv64 is not in v1.1.0');
    expect(r.body).toContain('<details><summary>Changes to <code>lg-pins.lock.yaml</code></summary>');
    expect(r.body).toContain(`\`\`\`diff\n${r.patch.trimEnd()}\n\`\`\``);
    expect(r.patch).toContain(`-    tag: v1.0.0`);
    expect(r.patch).toContain(`+    tag: v1.1.0`);
    expect(r.patch).toContain(`+    digest: ${v2.digest}`);

    // The branch: one commit on the base head that changes only the lock, to what `lock` makes of the base.
    const branches = s.repos.remoteBranches();
    expect(branches).toEqual({ main: baseHead, 'lg-pins/repin': r.commit });
    expect(s.repos.remoteShow('lg-pins/repin', 'lg-pins.lock.yaml')).toBe(await s.expectedLock());
    expect(s.repos.remoteShow('lg-pins/repin', 'lg-pins.lock.yaml')).toContain('held: linux/riscv64 is not in v1.1.0');
    expect(s.repos.remoteShow('lg-pins/repin', 'lg-pins.yaml')).toBe(s.repos.remoteShow('main', 'lg-pins.yaml'));
    const commit = s.repos.remoteCommit('lg-pins/repin');
    expect(commit).toMatchObject({
      parents: [baseHead],
      files: ['lg-pins.lock.yaml'],
      subject: r.title,
      author: DEFAULT_AUTHOR,
      committer: DEFAULT_AUTHOR,
    });
    expect(commit.message).toContain('- agent v1.0.0 → v1.1.0 (datacenter, edge)');

    // The user's checkout is exactly as it was; the token went only in the Authorization header.
    expect(s.repos.snapshot()).toEqual(before);
    expectTokenOnlyInHeader(s, r, commit.message);
  });

  it('a second run with the same state makes no new commit and updates the same pull request', async () => {
    const s = await scenario();
    await s.release('v1.1.0');
    const first = await s.run({ labels: ['dependencies'] });
    expect(first.action).toBe('created');
    const mark = s.gh.calls.length;

    const again = await s.run({ labels: ['dependencies'] });

    expect(again.action).toBe('updated');
    expect(again.exitCode).toBe(0);
    expect(again.commit).toBe(first.commit);
    expect(again.pr).toEqual(first.pr);
    expect(s.repos.remoteBranches()['lg-pins/repin']).toBe(first.commit);
    expect(s.gh.pulls).toHaveLength(1);
    expect(calls(s.gh, mark)).toEqual([`GET ${API}/pulls`, `PATCH ${API}/pulls/1`, `POST ${API}/issues/1/labels`]);
    expect(s.gh.calls[mark + 1]!.body).toEqual({ title: first.title, body: first.body });
    expect(s.gh.pulls[0]).toMatchObject({ state: 'open', title: first.title, body: first.body, labels: ['dependencies'] });
    expectTokenOnlyInHeader(s, first, again);
  });

  it('a newer release (and a moved base) updates the same pull request and force-pushes the branch onto the new base head', async () => {
    const s = await scenario();
    await s.release('v1.1.0');
    const first = await s.run();
    expect(first.action).toBe('created');
    const newBase = s.repos.pushToBase({ 'README.md': '# fleet\n\nMeanwhile, on main.\n' }, 'docs: meanwhile');
    const v3 = await s.release('v1.2.0');
    const mark = s.gh.calls.length;

    const r = await s.run();

    expect(r.action).toBe('updated');
    expect(r.title).toBe('lg-pins: agent v1.0.0 → v1.2.0');
    expect(r.pr).toEqual({ number: 1, url: first.pr!.url, title: r.title });
    expect(r.commit).not.toBe(first.commit);
    expect(s.gh.pulls).toHaveLength(1);
    expect(s.gh.open()).toHaveLength(1);
    expect(s.gh.pulls[0]).toMatchObject({ title: r.title, body: r.body });
    expect(r.body).toContain(`| after | \`v1.2.0\` | \`${v3.digest}\` |`);
    expect(calls(s.gh, mark)).toEqual([`GET ${API}/pulls`, `PATCH ${API}/pulls/1`]);
    // Force-pushed: the new commit sits on the new base head, and the old one is not its ancestor.
    expect(s.repos.remoteBranches()).toEqual({ main: newBase, 'lg-pins/repin': r.commit });
    expect(s.repos.remoteCommit('lg-pins/repin').parents).toEqual([newBase]);
    expect(() => s.repos.remoteGit(['merge-base', '--is-ancestor', first.commit!, r.commit!])).toThrow();
    expect(s.repos.remoteShow('lg-pins/repin', 'README.md')).toContain('Meanwhile, on main.');
    expect(s.repos.remoteShow('lg-pins/repin', 'lg-pins.lock.yaml')).toBe(await s.expectedLock());
    expect(s.repos.remoteShow('lg-pins/repin', 'lg-pins.lock.yaml')).toContain(`digest: ${v3.digest}`);
  });

  it('nothing to change opens nothing; a pull request that has become empty is closed with a comment', async () => {
    const s = await scenario();
    const quiet = await s.run();
    expect(quiet.action).toBe('nothing');
    expect(quiet.exitCode).toBe(0);
    expect(quiet.commit).toBeUndefined();
    expect(s.gh.writes()).toEqual([]);
    expect(calls(s.gh)).toEqual([`GET ${API}/pulls`]);
    expect(s.gh.pulls).toEqual([]);
    expect(Object.keys(s.repos.remoteBranches())).toEqual(['main']);

    await s.release('v1.1.0');
    const opened = await s.run();
    expect(opened.action).toBe('created');
    s.merge();
    const mark = s.gh.calls.length;

    const closed = await s.run();

    expect(closed.action).toBe('closed');
    expect(closed.exitCode).toBe(0);
    expect(closed.pr).toEqual(opened.pr);
    expect(calls(s.gh, mark)).toEqual([`GET ${API}/pulls`, `POST ${API}/issues/1/comments`, `PATCH ${API}/pulls/1`]);
    expect(s.gh.calls.at(-1)!.body).toEqual({ state: 'closed' });
    expect(s.gh.pulls).toHaveLength(1);
    expect(s.gh.pulls[0]!.state).toBe('closed');
    expect(s.gh.pulls[0]!.comments).toHaveLength(1);
    expect(s.gh.pulls[0]!.comments[0]).toMatch(/main already has everything/);
    // The branch served only that pull request: it is deleted from the remote.
    expect(Object.keys(s.repos.remoteBranches())).toEqual(['main']);

    // And the run after that finds no open pull request and does nothing.
    const after = s.gh.calls.length;
    expect((await s.run()).action).toBe('nothing');
    expect(calls(s.gh, after)).toEqual([`GET ${API}/pulls`]);
    expectTokenOnlyInHeader(s, quiet, opened, closed);
  });
});

describe('propose with GitHub: deploy outputs', () => {
  it('commits the changed outputs with the lock, and the body lists them', async () => {
    const s = await scenario({ outputs: [{ format: 'dotenv', path: 'deploy/{group}.env' }] });
    const v2 = await s.release('v1.1.0');
    const heldBefore = s.repos.remoteShow('main', 'deploy/riscv-lab.env');
    const r = await s.run();
    expect(r.action).toBe('created');
    const commit = s.repos.remoteCommit('lg-pins/repin');
    // riscv-lab is held on v1.0.0: its file does not change, so it is not in the commit.
    expect(commit.files).toEqual(['deploy/datacenter.env', 'deploy/edge.env', 'lg-pins.lock.yaml']);
    expect(s.repos.remoteShow('lg-pins/repin', 'deploy/edge.env')).toContain(
      `AGENT_IMAGE=${ctx.reg.host}/${s.repo}@${v2.images[1]!.digest}\n`,
    );
    expect(s.repos.remoteShow('lg-pins/repin', 'deploy/riscv-lab.env')).toBe(heldBefore);
    expect(r.body).toContain('updates `lg-pins.lock.yaml` and 2 deploy outputs from what the registries serve now');
    expect(r.body.split('\n')).toContain('| `deploy/edge.env` | update |');
    expect(r.body).toContain('<details><summary>Changes to the deploy outputs</summary>');
  });
});

describe('propose with GitHub: the base branch, not the checkout', () => {
  it("computes the change from the base branch and leaves the user's tree, index, branch, HEAD and stash exactly as found", async () => {
    const s = await scenario();
    const { repos } = s;
    // A stash entry, then a feature branch whose committed spec would hold the agent at 1.0.x ...
    repos.write({ 'README.md': '# fleet\n\nstashed edit\n' });
    repos.git(['-c', 'user.name=U', '-c', 'user.email=u@example.invalid', 'stash', 'push', '--quiet']);
    repos.git(['checkout', '--quiet', '-b', 'feature/wip']);
    repos.write({ 'lg-pins.yaml': repos.read('lg-pins.yaml').replace('track: ^1.0.0', 'track: ~1.0.0') });
    repos.commitAll('feature: hold the agent at 1.0.x');
    expect(repos.git(['show', 'feature/wip:lg-pins.yaml'])).toContain('track: ~1.0.0');
    // ... and uncommitted edits that would make an image fail: a spec edit, a broken lock, a staged
    // file, an untracked one.
    repos.write({
      'lg-pins.yaml': `${repos.read('lg-pins.yaml')}\n# local edit\n`.replace(
        'images:\n',
        `images:\n  ghost:\n    ref: ${ctx.reg.host}/nowhere/ghost\n    tag: v9\n`,
      ),
    });
    repos.write({ 'lg-pins.lock.yaml': 'not: [a lock\n', 'staged.txt': 'staged\n', 'scratch.txt': 'untracked\n' });
    repos.git(['add', 'staged.txt']);
    expect(repos.read('lg-pins.yaml')).toContain('ghost');
    const v2 = await s.release('v1.1.0');
    const before = repos.snapshot();
    expect(before.branch).toBe('refs/heads/feature/wip');
    expect(before.stash).toContain('stash@{0}');
    expect(before.status).toContain('M lg-pins.yaml');
    expect(before.status).toContain('A  staged.txt');

    const r = await s.run();

    expect(r.exitCode).toBe(0);
    expect(r.diff.failures).toEqual([]);
    expect(r.action).toBe('created');
    expect(r.base).toBe('main');
    expect(r.title).toBe('lg-pins: agent v1.0.0 → v1.1.0');
    expect(r.body).not.toContain('ghost');
    const branchLock = repos.remoteShow('lg-pins/repin', 'lg-pins.lock.yaml')!;
    expect(branchLock).toContain(`digest: ${v2.digest}`);
    expect(branchLock).toBe(await s.expectedLock());
    expect(repos.remoteShow('lg-pins/repin', 'lg-pins.yaml')).toBe(repos.remoteShow('main', 'lg-pins.yaml'));
    expect(repos.remoteCommit('lg-pins/repin').parents).toEqual([repos.remoteBranches().main]);
    // Nothing of the user's changed: not a file, not the index, not a ref, no worktree left behind.
    expect(repos.snapshot()).toEqual(before);
    expect(before.worktrees.match(/^worktree /gm)).toHaveLength(1);
  });

  it('commits as lg-pins with no identity configured; git config and --author are honoured', async () => {
    const s = await scenario();
    await s.release('v1.1.0');
    const byDefault = await s.run();
    expect(s.repos.remoteCommit('lg-pins/repin')).toMatchObject({ author: DEFAULT_AUTHOR, committer: DEFAULT_AUTHOR });

    const byFlag = await s.run({ author: 'Jane Doe <jane@example.com>' });
    expect(byFlag.action).toBe('updated');
    expect(byFlag.commit).not.toBe(byDefault.commit);
    expect(s.repos.remoteCommit('lg-pins/repin')).toMatchObject({
      author: 'Jane Doe <jane@example.com>',
      committer: 'Jane Doe <jane@example.com>',
    });

    s.repos.git(['config', 'user.name', 'Fleet Bot']);
    s.repos.git(['config', 'user.email', 'fleet-bot@example.com']);
    await s.run();
    expect(s.repos.remoteCommit('lg-pins/repin')).toMatchObject({
      author: 'Fleet Bot <fleet-bot@example.com>',
      committer: 'Fleet Bot <fleet-bot@example.com>',
    });
    await s.run({ author: 'Jane Doe <jane@example.com>' });
    expect(s.repos.remoteCommit('lg-pins/repin').author).toBe('Jane Doe <jane@example.com>');

    const bad = await rejection(s.run({ author: 'just a name' }));
    expect(bad).toBeInstanceOf(UsageError);
    expect(bad.message).toMatch(/--author must look like "Name <email>"/);
    expect(s.gh.pulls).toHaveLength(1);
  });

  it('the branch cannot be the base branch (exit 2)', async () => {
    const s = await scenario();
    const e = await rejection(s.run({ branch: 'main' }));
    expect(e).toBeInstanceOf(UsageError);
    expect((e as UsageError).exitCode).toBe(2);
    expect(e.message).toMatch(/--branch main is the base branch/);
    expect(s.gh.calls).toEqual([]);
  });
});

/** A TCP forwarder to the test registry, to take "the registry" down mid-test. */
async function forwarder(targetPort: number): Promise<{ host: string; stop(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = createConnection(targetPort, '127.0.0.1');
    sockets.add(client).add(upstream);
    for (const sock of [client, upstream]) {
      sock.on('error', () => {});
      sock.on('close', () => sockets.delete(sock));
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    host: `127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const sock of sockets) sock.destroy();
        server.close(() => resolve());
      }),
  };
}

describe('propose with GitHub: images that fail', () => {
  it("some images failing: the others are still proposed, the failed ones keep their pins, and the exit code is the failures' (3)", async () => {
    let helper: MultiArchResult | undefined;
    const s = await scenario({
      extra: async (prefix) => {
        helper = await pushMultiArch({ url: ctx.reg.url }, `${prefix}/helper`, 'stable', [P.amd64, P.armv7, P.riscv64], {
          salt: `${prefix} helper`,
        });
        return { helper: { ref: `${ctx.reg.host}/${prefix}/helper`, tag: 'stable' } };
      },
    });
    const baseLock = s.repos.remoteShow('main', 'lg-pins.lock.yaml')!;
    expect(baseLock).toContain(`digest: ${helper!.digest}`);
    // The helper's tag disappears from the registry; the agent has a new release.
    await deleteManifest({ url: ctx.reg.url }, s.repo.replace('/agent', '/helper'), helper!.digest);
    const v2 = await s.release('v1.1.0');

    const r = await s.run();

    expect(r.exitCode).toBe(3);
    expect(r.action).toBe('created');
    expect(r.diff.failures.map((f) => f.image)).toEqual(['helper']);
    expect(r.title).toBe('lg-pins: agent v1.0.0 → v1.1.0');
    expect(r.body).toContain('### Not re-pinned');
    expect(r.body).toMatch(/^- `helper`: .*stable/m);
    expect(s.gh.pulls).toHaveLength(1);
    expect(s.gh.pulls[0]!.body).toBe(r.body);
    const branchLock = s.repos.remoteShow('lg-pins/repin', 'lg-pins.lock.yaml')!;
    expect(branchLock).toContain(`digest: ${v2.digest}`);
    expect(lockSection(branchLock, 'helper')).toBe(lockSection(baseLock, 'helper'));
    expect(lockSection(branchLock, 'helper')).toContain(helper!.digest);
  });

  it('every image failing (the registry is down) closes nothing: the open pull request stays, exit 3', async () => {
    const fwd = await forwarder(Number(ctx.reg.host.split(':')[1]));
    cleanups.push(() => fwd.stop());
    const s = await scenario({ ref: (repo) => `${fwd.host}/${repo}` });
    await s.release('v1.1.0');
    const opened = await s.run();
    expect(opened.action).toBe('created');
    await fwd.stop();
    const mark = s.gh.calls.length;
    const branch = s.repos.remoteBranches()['lg-pins/repin'];

    const r = await s.run({ client: { credentials: ctx.anonymous, policy: { attempts: 1, timeoutMs: 2000 } } });

    expect(r.exitCode).toBe(3);
    expect(r.diff.failures.map((f) => f.image)).toEqual(['agent']);
    expect(r.action).toBe('nothing');
    expect(s.gh.calls.slice(mark).filter((c) => c.method !== 'GET')).toEqual([]);
    expect(s.gh.open()).toHaveLength(1);
    expect(s.repos.remoteBranches()['lg-pins/repin']).toBe(branch);
  });
});

describe('propose with GitHub: dry run', () => {
  it('prints what it would propose and pushes, writes and calls nothing that changes anything', async () => {
    const s = await scenario();
    const v2 = await s.release('v1.1.0');
    const branches = s.repos.remoteBranches();
    const before = s.repos.snapshot();

    const r = await s.run({ dryRun: true, labels: ['dependencies'] });

    expect(r.action).toBe('dry-run');
    expect(r.exitCode).toBe(0);
    expect(r.title).toBe('lg-pins: agent v1.0.0 → v1.1.0');
    expect(r.body).toContain(`| after | \`v1.1.0\` | \`${v2.digest}\` |`);
    expect(r.body).toContain('```diff');
    expect(r.patch).toContain(`+    digest: ${v2.digest}`);
    expect(r.changed).toBe(true);
    // A dry run writes no git object, so it makes no commit.
    expect(r.commit).toBeUndefined();
    expect(r.pr).toBeUndefined();
    expect(s.gh.calls.filter((c) => c.method !== 'GET')).toEqual([]);
    expect(s.repos.remoteBranches()).toEqual(branches);
    expect(s.repos.snapshot()).toEqual(before);

    // The real run then proposes exactly what the dry run announced.
    const real = await s.run({ labels: ['dependencies'] });
    expect(real.action).toBe('created');
    expect(real.commit).toMatch(/^[0-9a-f]{40}$/);
    expect(real.body).toBe(r.body);
    expect(real.patch).toBe(r.patch);
  });

  it('with an open pull request that has become empty, a dry run closes nothing', async () => {
    const s = await scenario();
    await s.release('v1.1.0');
    expect((await s.run()).action).toBe('created');
    s.merge();
    const mark = s.gh.calls.length;
    const branches = s.repos.remoteBranches();

    const r = await s.run({ dryRun: true });

    expect(r.action).toBe('dry-run');
    expect(r.changed).toBe(false);
    expect(r.commit).toBeUndefined();
    expect(r.title).toBe('lg-pins: nothing to re-pin');
    expect(s.gh.calls.slice(mark).filter((c) => c.method !== 'GET')).toEqual([]);
    expect(s.gh.open()).toHaveLength(1);
    expect(s.repos.remoteBranches()).toEqual(branches);
  });
});

describe('propose with GitHub: API and push failures', () => {
  const future = Math.floor(Date.UTC(2031, 0, 2, 3, 4, 5) / 1000);
  const cases: Array<{ name: string; method: string; path: RegExp; status: number; headers?: Record<string, string>; fix: RegExp[] }> = [
    {
      name: '401 on the lookup',
      method: 'GET',
      path: /\/pulls$/,
      status: 401,
      fix: [/HTTP 401/, /the token was rejected: check GITHUB_TOKEN/],
    },
    { name: '403 on create', method: 'POST', path: /\/pulls$/, status: 403, fix: [/HTTP 403/, /contents: write/, /pull-requests: write/] },
    {
      name: '404 on the lookup',
      method: 'GET',
      path: /\/pulls$/,
      status: 404,
      fix: [/HTTP 404/, /repository owner\/repo not found/, /GITHUB_REPOSITORY/],
    },
    {
      name: '429 on create',
      method: 'POST',
      path: /\/pulls$/,
      status: 429,
      headers: { 'x-ratelimit-limit': '5000', 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(future) },
      fix: [/HTTP 429/, /rate limited until 2031-01-02T03:04:05\.000Z/, /run again later/],
    },
    {
      name: '403 with the rate limit spent',
      method: 'GET',
      path: /\/pulls$/,
      status: 403,
      headers: { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(future) },
      fix: [/HTTP 403/, /rate limited until 2031-01-02T03:04:05\.000Z/],
    },
    {
      name: '422 on create',
      method: 'POST',
      path: /\/pulls$/,
      status: 422,
      fix: [/HTTP 422/, /refused the request as invalid/, /already exists/],
    },
  ];

  it.each(cases)('$name: GitHostError, exit 3, a message that says what to fix, never the token', async (c) => {
    const s = await scenario();
    await s.release('v1.1.0');
    const before = s.repos.snapshot();
    // The error body echoes the token, as a careless proxy might: it must still never be shown.
    s.gh.fail({
      method: c.method,
      path: c.path,
      status: c.status,
      headers: c.headers,
      body: {
        message: `denied for ${s.token}`,
        errors: c.status === 422 ? [{ message: 'A pull request already exists for owner:lg-pins/repin.' }] : undefined,
      },
    });

    const e = await rejection(s.run());

    expect(e).toBeInstanceOf(GitHostError);
    expect((e as GitHostError).exitCode).toBe(3);
    expect((e as GitHostError).status).toBe(c.status);
    for (const fix of c.fix) expect(e.message).toMatch(fix);
    // The API's own words are shown, with the token they echoed masked.
    expect(e.message).toContain('(denied for ***');
    expect(e.message).not.toContain(s.token);
    expect(String(e.stack)).not.toContain(s.token);
    expect(s.gh.calls.some((call) => call.status === c.status)).toBe(true);
    expect(s.gh.open()).toEqual([]);
    expect(s.repos.snapshot()).toEqual(before);
    expectTokenOnlyInHeader(s, e.message);
  });

  it('GITHUB_REPOSITORY without GITHUB_TOKEN: exit 3 naming the token and its permissions, before any push', async () => {
    const s = await scenario();
    await s.release('v1.1.0');
    const branches = s.repos.remoteBranches();
    const e = await rejection(
      propose({ cwd: s.repos.checkout, env: { ...s.env, GITHUB_TOKEN: undefined }, client: { credentials: ctx.anonymous } }),
    );
    expect(e).toBeInstanceOf(GitHostError);
    expect((e as GitHostError).exitCode).toBe(3);
    expect(e.message).toMatch(/GITHUB_TOKEN/);
    expect(e.message).toMatch(/pull-requests: write/);
    expect(s.repos.remoteBranches()).toEqual(branches);
    expect(s.gh.calls).toEqual([]);
  });

  it('a rejected push: exit 3 saying so, no API call, the checkout left clean', async () => {
    const s = await scenario();
    await s.release('v1.1.0');
    s.repos.write({ 'notes.txt': 'work in progress\n' });
    const before = s.repos.snapshot();
    const branches = s.repos.remoteBranches();
    s.repos.rejectPushes('branch pushes are frozen');

    const e = await rejection(s.run());

    expect(e).toBeInstanceOf(GitHostError);
    expect((e as GitHostError).exitCode).toBe(3);
    expect(e.message).toMatch(/push of lg-pins\/repin to origin was rejected/);
    expect(e.message).toMatch(/pre-receive hook declined|branch pushes are frozen/);
    expect(e.message).toMatch(/contents: write/);
    expect(e.message).not.toContain(s.token);
    expect(s.repos.remoteBranches()).toEqual(branches);
    expect(s.gh.calls).toEqual([]);
    expect(s.repos.snapshot()).toEqual(before);
  });
});

describe('propose with GitHub: credentials for fetch and push over HTTP', () => {
  /** The checkout's origin served over smart HTTP at the "GitHub server" GITHUB_SERVER_URL names. */
  async function overHttp(s: Scenario) {
    const http = await s.repos.serveHttp();
    cleanups.push(() => http.close());
    s.repos.git(['remote', 'set-url', 'origin', `${http.url}/remote.git`]);
    return { http, env: { ...s.env, GITHUB_SERVER_URL: http.url } };
  }
  const basic = (token: string) => Buffer.from(`x-access-token:${token}`).toString('base64');

  it('credentials persisted by actions/checkout (an Authorization extraheader) are used as they are: one Authorization header, never two', async () => {
    const s = await scenario();
    await s.release('v1.1.0');
    const { http, env } = await overHttp(s);
    // What actions/checkout (persist-credentials: true, the default) leaves in .git/config.
    s.repos.git(['config', '--local', `http.${http.url}/.extraheader`, `AUTHORIZATION: basic ${basic(s.token)}`]);
    const before = s.repos.snapshot();

    const r = await s.run({ env });

    expect(http.requests.filter((q) => q.status >= 400)).toEqual([]);
    expect(r.action).toBe('created');
    expect(http.requests.some((q) => q.query === 'service=git-receive-pack')).toBe(true);
    for (const q of http.requests) expect(q.authorizations).toHaveLength(1);
    expect(s.repos.remoteBranches()['lg-pins/repin']).toBe(r.commit);
    expect(s.repos.snapshot()).toEqual(before);
  });

  it('a remote with no credentials of its own (persist-credentials: false): the job token authenticates the fetch and the push', async () => {
    const s = await scenario();
    await s.release('v1.1.0');
    const { http, env } = await overHttp(s);

    const r = await s.run({ env });

    expect(http.requests.filter((q) => q.status >= 400)).toEqual([]);
    expect(r.action).toBe('created');
    expect(http.requests.some((q) => q.query === 'service=git-upload-pack')).toBe(true);
    expect(http.requests.some((q) => q.query === 'service=git-receive-pack')).toBe(true);
    for (const q of http.requests) expect(q.authorizations).toEqual([`Basic ${basic(s.token)}`]);
    expect(s.repos.remoteBranches()['lg-pins/repin']).toBe(r.commit);
    // The token never reached the checkout's configuration.
    expect(s.repos.git(['config', '--list', '--show-origin'])).not.toContain(basic(s.token));
    expect(s.repos.git(['config', '--list'])).not.toContain(s.token);
  });
});
