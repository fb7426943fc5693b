/**
 * `propose` with GitLab: the same flow as with GitHub against a fake GitLab v4 API that records every
 * call, with a real registry and real git. One merge request is created, then updated (never
 * duplicated), labels are sent, an empty one is closed with a note; GITLAB_TOKEN travels only as the
 * `private-token` header, CI_JOB_TOKEN (when there is no GITLAB_TOKEN) only as `job-token`; API
 * failures are exit 3 with a message that says what to fix and never shows the token.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { GitHostError } from '../../src/errors.js';
import { lock } from '../../src/run/lock.js';
import { propose, type ProposeOptions, type ProposeResult } from '../../src/run/propose.js';
import { startFakeGitLab, type FakeGitLab } from '../helpers/fake-gitlab.js';
import { gitRepos, type GitRepos } from '../helpers/git-repo.js';
import { pushMultiArch, type MultiArchResult } from '../helpers/push.js';
import { useRegistry, workspace } from '../helpers/workspace.js';

const P = {
  amd64: { os: 'linux', architecture: 'amd64' },
  arm64: { os: 'linux', architecture: 'arm64' },
};
const ctx = useRegistry();
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

let seq = 0;
const PROJECT = '4242';
const API = `/api/v4/projects/${PROJECT}/merge_requests`;

interface Scenario {
  repos: GitRepos;
  gl: FakeGitLab;
  secret: string;
  env: NodeJS.ProcessEnv;
  release(tag: string): Promise<MultiArchResult>;
  run(o?: Partial<ProposeOptions>): Promise<ProposeResult>;
  merge(): void;
}

/** The remote's main holds a spec (agent tracking ^1.0.0 over amd64 and arm64 groups) and its lock at v1.0.0. */
async function scenario(auth: 'GITLAB_TOKEN' | 'CI_JOB_TOKEN'): Promise<Scenario> {
  const repo = `gl${++seq}/agent`;
  const release = (tag: string) => pushMultiArch({ url: ctx.reg.url }, repo, tag, [P.amd64, P.arm64], { salt: `${repo} ${tag}` });
  await release('v1.0.0');
  const ws = workspace({
    images: { agent: { ref: `${ctx.reg.host}/${repo}`, track: '^1.0.0' } },
    fleet: { datacenter: { arch: 'x86_64', hosts: ['web-01', 'web-02'] }, 'arm-servers': { arch: 'aarch64', hosts: ['arm-01'] } },
  });
  expect((await lock({ cwd: ws.dir, client: { credentials: ctx.anonymous } })).failures).toEqual([]);
  const repos = gitRepos({ 'lg-pins.yaml': readFileSync(ws.specFile, 'utf8'), 'lg-pins.lock.yaml': ws.lockText() });
  cleanups.push(() => repos.cleanup());
  const secret = `glpat-${randomBytes(15).toString('hex')}`;
  const gl = await startFakeGitLab({
    projectId: PROJECT,
    token: { header: auth === 'GITLAB_TOKEN' ? 'private-token' : 'job-token', value: secret },
  });
  cleanups.push(() => gl.close());
  const env: NodeJS.ProcessEnv = { ...repos.env, CI_PROJECT_ID: PROJECT, CI_API_V4_URL: gl.url, [auth]: secret };
  return {
    repos,
    gl,
    secret,
    env,
    release,
    run: (o = {}) => propose({ cwd: repos.checkout, env, client: { credentials: ctx.anonymous }, ...o }),
    merge: () => repos.remoteGit(['update-ref', 'refs/heads/main', 'refs/heads/lg-pins/repin']),
  };
}

const calls = (gl: FakeGitLab, from = 0) => gl.calls.slice(from).map((c) => `${c.method} ${c.pathname}`);

/** The secret only ever travels in `header`; no other header, path or body has it, nor any text given. */
function expectSecretOnlyIn(s: Scenario, header: 'private-token' | 'job-token', ...texts: unknown[]): void {
  const other = header === 'private-token' ? 'job-token' : 'private-token';
  expect(s.gl.calls.length).toBeGreaterThan(0);
  for (const c of s.gl.calls) {
    expect(c.headers[header]).toBe(s.secret);
    expect(c.headers[other]).toBeUndefined();
    expect(c.headers.authorization).toBeUndefined();
    const { [header]: _secret, ...rest } = c.headers;
    expect(JSON.stringify(rest)).not.toContain(s.secret);
    expect(c.path).not.toContain(s.secret);
    expect(c.text).not.toContain(s.secret);
  }
  for (const t of texts) expect(JSON.stringify(t)).not.toContain(s.secret);
}

describe('propose with GitLab', () => {
  it('creates one merge request with labels, then updates it on a newer release (never a duplicate), token as PRIVATE-TOKEN only', async () => {
    const s = await scenario('GITLAB_TOKEN');
    const v2 = await s.release('v1.1.0');
    const before = s.repos.snapshot();

    const created = await s.run({ labels: ['dependencies', 'fleet'] });

    expect(created.action).toBe('created');
    expect(created.exitCode).toBe(0);
    expect(created.title).toBe('lg-pins: agent v1.0.0 → v1.1.0');
    expect(created.pr).toEqual({ number: 1, url: `${s.gl.origin}/group/project/-/merge_requests/1`, title: created.title });
    expect(calls(s.gl)).toEqual([`GET ${API}`, `POST ${API}`]);
    expect(s.gl.calls[0]!.query).toMatchObject({ state: 'opened', source_branch: 'lg-pins/repin', target_branch: 'main' });
    expect(s.gl.calls[1]!.body).toMatchObject({
      source_branch: 'lg-pins/repin',
      target_branch: 'main',
      title: created.title,
      description: created.body,
      labels: 'dependencies,fleet',
    });
    expect(s.gl.mergeRequests).toHaveLength(1);
    expect(s.gl.mergeRequests[0]).toMatchObject({
      iid: 1,
      state: 'opened',
      title: created.title,
      description: created.body,
      labels: ['dependencies', 'fleet'],
    });
    expect(created.body).toContain(`| after | \`v1.1.0\` | \`${v2.digest}\` |`);
    expect(created.body).toContain('```diff');
    expect(s.repos.remoteBranches()['lg-pins/repin']).toBe(created.commit);
    expect(s.repos.remoteShow('lg-pins/repin', 'lg-pins.lock.yaml')).toContain(`digest: ${v2.digest}`);
    expect(s.repos.snapshot()).toEqual(before);

    // The same state again: the same commit, the same merge request updated.
    let mark = s.gl.calls.length;
    const same = await s.run({ labels: ['dependencies', 'fleet'] });
    expect(same.action).toBe('updated');
    expect(same.commit).toBe(created.commit);
    expect(calls(s.gl, mark)).toEqual([`GET ${API}`, `PUT ${API}/1`]);
    expect(s.gl.calls[mark + 1]!.body).toEqual({ title: created.title, description: created.body, add_labels: 'dependencies,fleet' });

    // A newer release: the same merge request, a new force-pushed commit.
    const v3 = await s.release('v1.2.0');
    mark = s.gl.calls.length;
    const updated = await s.run({ labels: ['dependencies', 'fleet'] });
    expect(updated.action).toBe('updated');
    expect(updated.title).toBe('lg-pins: agent v1.0.0 → v1.2.0');
    expect(updated.pr?.number).toBe(1);
    expect(updated.commit).not.toBe(created.commit);
    expect(calls(s.gl, mark)).toEqual([`GET ${API}`, `PUT ${API}/1`]);
    expect(s.gl.mergeRequests).toHaveLength(1);
    expect(s.gl.mergeRequests[0]).toMatchObject({
      state: 'opened',
      title: updated.title,
      description: updated.body,
      labels: ['dependencies', 'fleet'],
    });
    expect(updated.body).toContain(`| after | \`v1.2.0\` | \`${v3.digest}\` |`);
    expect(s.repos.remoteBranches()['lg-pins/repin']).toBe(updated.commit);
    expect(s.repos.remoteCommit('lg-pins/repin').parents).toEqual([s.repos.remoteBranches().main]);
    expect(s.gl.calls.every((c) => c.status >= 200 && c.status < 300)).toBe(true);
    expectSecretOnlyIn(s, 'private-token', created, same, updated);
  });

  it('uses CI_JOB_TOKEN as the JOB-TOKEN header when GITLAB_TOKEN is absent', async () => {
    const s = await scenario('CI_JOB_TOKEN');
    await s.release('v1.1.0');
    const r = await s.run();
    expect(r.action).toBe('created');
    expect(s.gl.open()).toHaveLength(1);
    expect(s.gl.calls.every((c) => c.status >= 200 && c.status < 300)).toBe(true);
    expectSecretOnlyIn(s, 'job-token', r);
  });

  it('with nothing to change opens nothing, and closes a merge request that has become empty with a note', async () => {
    const s = await scenario('GITLAB_TOKEN');
    const quiet = await s.run();
    expect(quiet.action).toBe('nothing');
    expect(calls(s.gl)).toEqual([`GET ${API}`]);
    expect(s.gl.mergeRequests).toEqual([]);
    expect(Object.keys(s.repos.remoteBranches())).toEqual(['main']);

    await s.release('v1.1.0');
    const opened = await s.run();
    expect(opened.action).toBe('created');
    s.merge();
    const mark = s.gl.calls.length;

    const closed = await s.run();

    expect(closed.action).toBe('closed');
    expect(closed.exitCode).toBe(0);
    expect(closed.pr).toEqual(opened.pr);
    expect(calls(s.gl, mark)).toEqual([`GET ${API}`, `POST ${API}/1/notes`, `PUT ${API}/1`]);
    expect(s.gl.calls.at(-1)!.body).toEqual({ state_event: 'close' });
    expect(s.gl.mergeRequests[0]).toMatchObject({ state: 'closed' });
    expect(s.gl.mergeRequests[0]!.notes).toHaveLength(1);
    expect((await s.run()).action).toBe('nothing');
    expectSecretOnlyIn(s, 'private-token', quiet, opened, closed);
  });

  it('a dry run calls nothing that changes anything and pushes nothing', async () => {
    const s = await scenario('GITLAB_TOKEN');
    await s.release('v1.1.0');
    const branches = s.repos.remoteBranches();
    const r = await s.run({ dryRun: true });
    expect(r.action).toBe('dry-run');
    expect(r.title).toBe('lg-pins: agent v1.0.0 → v1.1.0');
    expect(s.gl.calls.filter((c) => c.method !== 'GET')).toEqual([]);
    expect(s.repos.remoteBranches()).toEqual(branches);
  });

  const cases = [
    {
      auth: 'GITLAB_TOKEN' as const,
      method: 'GET',
      status: 401,
      headers: undefined,
      fix: /HTTP 401.*the token was rejected: check GITLAB_TOKEN/,
    },
    {
      auth: 'CI_JOB_TOKEN' as const,
      method: 'POST',
      status: 403,
      headers: undefined,
      fix: /HTTP 403.*GITLAB_TOKEN, a project access token with the api and write_repository scopes/,
    },
    {
      auth: 'GITLAB_TOKEN' as const,
      method: 'GET',
      status: 404,
      headers: undefined,
      fix: /HTTP 404.*project 4242 not found.*CI_PROJECT_ID/,
    },
    {
      auth: 'GITLAB_TOKEN' as const,
      method: 'POST',
      status: 429,
      headers: { 'retry-after': '60' },
      fix: /HTTP 429.*rate limited for 60 s; run again later/,
    },
  ];
  it.each(cases)('HTTP $status ($auth, $method): GitHostError exit 3, a message that says what to fix, never the token', async (c) => {
    const s = await scenario(c.auth);
    await s.release('v1.1.0');
    const before = s.repos.snapshot();
    s.gl.fail({ method: c.method, path: API, status: c.status, headers: c.headers, body: { message: `nope (${s.secret})` } });
    const e = await s.run().then(
      () => {
        throw new Error('expected propose to fail');
      },
      (err: unknown) => err as GitHostError,
    );
    expect(e).toBeInstanceOf(GitHostError);
    expect(e.exitCode).toBe(3);
    expect(e.status).toBe(c.status);
    expect(e.message).toMatch(c.fix);
    expect(e.message).toContain('nope (***)');
    expect(e.message).not.toContain(s.secret);
    expect(s.gl.open()).toEqual([]);
    expect(s.repos.snapshot()).toEqual(before);
  });

  it('CI_PROJECT_ID without a token: exit 3 naming GITLAB_TOKEN and its scopes, nothing pushed', async () => {
    const s = await scenario('GITLAB_TOKEN');
    await s.release('v1.1.0');
    const branches = s.repos.remoteBranches();
    const e = await propose({
      cwd: s.repos.checkout,
      env: { ...s.env, GITLAB_TOKEN: undefined },
      client: { credentials: ctx.anonymous },
    }).then(
      () => {
        throw new Error('expected propose to fail');
      },
      (err: unknown) => err as GitHostError,
    );
    expect(e).toBeInstanceOf(GitHostError);
    expect(e.message).toMatch(/neither GITLAB_TOKEN nor CI_JOB_TOKEN.*api and write_repository/);
    expect(s.repos.remoteBranches()).toEqual(branches);
    expect(s.gl.calls).toEqual([]);
  });
});
