/**
 * Rollout rings against a real registry and real git: `lock`, `diff` (text, JSON, Markdown) and
 * `check` with a clock set per run, and `propose` on a schedule moving each ring when its soak
 * ends, with no one editing anything: an hourly rerun proposes the same commit, a merged ring lets
 * the next one move when its time comes.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { parseLock } from '../../src/lock/read.js';
import { checkLock } from '../../src/plan/check.js';
import { diffJson, diffMarkdown, diffText } from '../../src/render/diff.js';
import { diff } from '../../src/run/diff.js';
import { lock } from '../../src/run/lock.js';
import { propose } from '../../src/run/propose.js';
import { startFakeGitHub } from '../helpers/fake-github.js';
import { gitRepos } from '../helpers/git-repo.js';
import { pushMultiArch, type MultiArchResult } from '../helpers/push.js';
import { useRegistry, workspace, type SpecInput } from '../helpers/workspace.js';

const P = [
  { os: 'linux', architecture: 'amd64' },
  { os: 'linux', architecture: 'arm', variant: 'v7' },
];
const ctx = useRegistry();
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

let seq = 0;
async function rings(): Promise<{ spec: SpecInput; repo: string; release(tag: string): Promise<MultiArchResult> }> {
  const repo = `rings${++seq}/agent`;
  const release = (tag: string) => pushMultiArch({ url: ctx.reg.url }, repo, tag, P, { salt: `${repo} ${tag}` });
  await release('v1.0.0');
  const spec = {
    images: { agent: { ref: `${ctx.reg.host}/${repo}`, track: '^1.0.0' } },
    fleet: {
      canary: { arch: 'x86_64', hosts: ['web-01'] },
      datacenter: { arch: 'x86_64', hosts: ['web-02', 'web-03'], after: 'canary', soak: '3d' },
      edge: { arch: 'armv7l', hosts: ['gw-01'], after: 'datacenter', soak: '1d' },
    },
  } satisfies SpecInput;
  return { spec, repo, release };
}

const FRI = new Date('2026-12-04T10:00:00Z');
const hours = (n: number) => new Date(FRI.getTime() + n * 3_600_000);
const client = () => ({ credentials: ctx.anonymous });

describe('rollout rings: lock, diff, check', () => {
  it('a release moves the canary; diff lists who waits for whom until when; check is green; the soak ends to the second', async () => {
    const s = await rings();
    const ws = workspace(s.spec);
    expect((await lock({ cwd: ws.dir, client: client(), now: hours(-24) })).exitCode).toBe(0);
    expect(ws.lockText()).toContain('canary:\n    agent: { platform: linux/amd64, digest: ');
    expect(ws.lockText()).toContain('since: "2026-12-03T10:00:00Z" }');
    await s.release('v1.1.0');

    const d = await diff({ cwd: ws.dir, client: client(), now: FRI });
    expect(d.exitCode).toBe(1);
    const json = diffJson(d) as { waiting: unknown[]; changes: Array<{ groups: string[] }> };
    expect(json.waiting).toEqual([
      { group: 'datacenter', image: 'agent', after: 'canary', tag: 'v1.1.0', until: '2026-12-07T10:00:00Z' },
      { group: 'edge', image: 'agent', after: 'datacenter', tag: 'v1.1.0', until: null },
    ]);
    expect(d.changes[0]!.moves.map((m) => m.group)).toEqual(['canary']);
    expect(diffText(d)).toContain(
      'waiting (rollout rings):\n  datacenter waits for canary: takes agent v1.1.0 from 2026-12-07T10:00:00Z\n  edge waits for datacenter: takes agent v1.1.0 once datacenter runs it\n',
    );
    expect(diffMarkdown(d)).toContain('- `datacenter` waits for `canary`: takes `agent` `v1.1.0` from 2026-12-07T10:00:00Z.');

    expect((await lock({ cwd: ws.dir, client: client(), now: FRI })).written).toBe(true);
    const written = parseLock(ws.lockText(), ws.lockFile);
    expect(written.fleet.datacenter!.agent).toMatchObject({ tag: 'v1.0.0', since: '2026-12-03T10:00:00Z' });
    const { parseSpec } = await import('../../src/config/load.js');
    expect(checkLock(parseSpec(readFileSync(ws.specFile, 'utf8'), ws.specFile), written)).toEqual([]);

    // Groups that only wait: not a change (exit 0), and the waiting still listed.
    const later = await diff({ cwd: ws.dir, client: client(), now: hours(71) });
    expect(later.exitCode).toBe(0);
    expect(later.waiting.map((w) => w.group)).toEqual(['datacenter', 'edge']);
    const oneSecondEarly = await diff({ cwd: ws.dir, client: client(), now: new Date(hours(72).getTime() - 1000) });
    expect(oneSecondEarly.exitCode).toBe(0);
    const onTime = await lock({ cwd: ws.dir, client: client(), now: hours(72) });
    expect(onTime.written).toBe(true);
    expect(parseLock(ws.lockText(), ws.lockFile).fleet.datacenter!.agent).toMatchObject({ since: '2026-12-07T10:00:00Z' });
    expect(onTime.waiting).toEqual([{ group: 'edge', image: 'agent', after: 'datacenter', tag: 'v1.1.0', until: '2026-12-08T10:00:00Z' }]);
    const rerun = await lock({ cwd: ws.dir, client: client(), now: hours(80) });
    expect(rerun.changed).toBe(false);
  });
});

describe('rollout rings: propose on a schedule', () => {
  it('each ring moves when its soak ends; an hourly rerun proposes the same commit; the body says who waits', async () => {
    const s = await rings();
    const ws = workspace(s.spec);
    expect((await lock({ cwd: ws.dir, client: client(), now: hours(-24) })).exitCode).toBe(0);
    const repos = gitRepos({ 'lg-pins.yaml': readFileSync(ws.specFile, 'utf8'), 'lg-pins.lock.yaml': ws.lockText() });
    cleanups.push(() => repos.cleanup());
    const token = `ghs_${randomBytes(18).toString('hex')}`;
    const gh = await startFakeGitHub({ repository: 'owner/repo', token, hasBranch: (b) => b in repos.remoteBranches() });
    cleanups.push(() => gh.close());
    const env = { ...repos.env, GITHUB_REPOSITORY: 'owner/repo', GITHUB_TOKEN: token, GITHUB_API_URL: gh.url };
    const run = (now: Date) => propose({ cwd: repos.checkout, env, client: client(), now });
    const merge = () => repos.remoteGit(['update-ref', 'refs/heads/main', 'refs/heads/lg-pins/repin']);
    const pinOf = (group: string) => parseLock(repos.remoteShow('main', 'lg-pins.lock.yaml')!, 'lock').fleet[group]!.agent!;
    await s.release('v1.1.0');

    const fri = await run(FRI);
    expect(fri.action).toBe('created');
    expect(fri.body).toContain('`datacenter` waits for `canary`: takes `agent` `v1.1.0` from 2026-12-07T10:00:00Z');
    // An hour later, not merged yet: the same commit (the canary's since is the one proposed first).
    const hourLater = await run(hours(1));
    expect(hourLater.commit).toBe(fri.commit);
    merge();
    expect(pinOf('canary').since).toBe('2026-12-04T10:00:00Z');

    // Saturday to Monday 09:00: nothing to propose.
    expect((await run(hours(23))).changed).toBe(false);
    expect((await run(hours(71))).changed).toBe(false);
    const mon = await run(hours(72));
    expect(mon.changed).toBe(true);
    expect(mon.body).toContain('`edge` waits for `datacenter`: takes `agent` `v1.1.0` from 2026-12-08T10:00:00Z');
    merge();
    expect(pinOf('datacenter').tag).toBeUndefined();
    expect(pinOf('edge').tag).toBe('v1.0.0');

    const tue = await run(hours(96));
    expect(tue.changed).toBe(true);
    merge();
    expect(['canary', 'datacenter', 'edge'].map((g) => pinOf(g).tag)).toEqual([undefined, undefined, undefined]);
    expect((await run(hours(97))).changed).toBe(false);
  });
});
