/**
 * `check`: offline agreement between the spec and the lock. The lock is made once through a proxy
 * in front of the real registry, then the proxy is stopped: every `check` below runs with nothing
 * listening at the spec's registry, so none of them can have used the network. Each spec edit
 * is stale (exit 1) with a message naming exactly what.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { check } from '../../src/run/check.js';
import { lock } from '../../src/run/lock.js';
import { startProxy } from '../helpers/proxy.js';
import { pushMultiArch } from '../helpers/push.js';
import { workspace, type SpecInput, type Workspace, useRegistry } from '../helpers/workspace.js';

const P = {
  amd64: { os: 'linux', architecture: 'amd64' },
  arm64: { os: 'linux', architecture: 'arm64' },
  riscv64: { os: 'linux', architecture: 'riscv64' },
};

const ctx = useRegistry();

/** The registry host as the spec names it: a proxy that is gone once the lock is written. */
let host: string;
let ws: Workspace;

const base = (): SpecInput => ({
  images: {
    agent: { ref: `${host}/team/agent`, track: '^1.0.0' },
    tools: { ref: `${host}/team/tools`, tag: 't1' },
  },
  fleet: {
    datacenter: { arch: 'x86_64', hosts: ['web-01', 'web-02'] },
    'arm-servers': { arch: 'aarch64', hosts: ['arm-01'], images: ['agent', 'tools'] },
    'riscv-lab': { arch: 'riscv64', hosts: ['rv-01'], images: ['agent'], onMissing: 'hold' },
  },
});

beforeAll(async () => {
  const t = { url: ctx.reg.url };
  await pushMultiArch(t, 'team/agent', 'v1.0.0', [P.amd64, P.arm64, P.riscv64], { salt: 'a1' });
  await pushMultiArch(t, 'team/agent', 'v1.1.0', [P.amd64, P.arm64], { salt: 'a2' });
  await pushMultiArch(t, 'team/tools', 't1', [P.amd64, P.arm64], { salt: 't1' });
  await pushMultiArch(t, 'team/tools', 't2', [P.amd64, P.arm64], { salt: 't2' });
  const proxy = await startProxy(ctx.reg.url);
  host = proxy.host;
  ws = workspace(base());
  const r = await lock({ cwd: ws.dir, client: { credentials: ctx.anonymous } });
  await proxy.stop();
  expect(r.failures).toEqual([]);
  // riscv-lab is held on v1.0.0 (the newest release that ships riscv64); the others run v1.1.0.
  expect(r.lock.images.agent!.tag).toBe('v1.1.0');
  expect(r.lock.fleet['riscv-lab']!.agent).toMatchObject({ tag: 'v1.0.0', held: 'linux/riscv64 is not in v1.1.0' });
  expect(proxy.requests.length).toBeGreaterThan(0);
});

const runCheck = (dir = ws.dir) => check({ cwd: dir });

describe('check agrees', () => {
  it('exits 0 right after lock, with nothing listening at the registry (no network at all)', async () => {
    ws.writeSpec(base());
    const r = await runCheck();
    expect(r.stale).toEqual([]);
    expect(r.exitCode).toBe(0);
    // The registry really is unreachable: lock (which needs the network) fails where check succeeded.
    const l = await lock({ cwd: ws.dir, dryRun: true, client: { credentials: ctx.anonymous, policy: { attempts: 1 } } });
    expect(l.exitCode).toBe(3);
    expect(l.failures[0]!.error.message).toContain(`cannot reach registry ${host}`);
  });

  it('a range edit is stale even when the new range still holds the locked tag (the lock records its range)', async () => {
    const s = base();
    s.images.agent!.track = '>=1.0.0 <3';
    ws.writeSpec(s);
    const r = await runCheck();
    expect(r.exitCode).toBe(1);
    expect(r.stale.map((x) => x.message)).toEqual([
      'image "agent": the spec says track ">=1.0.0 <3", the lock was made for track "^1.0.0"',
    ]);
  });

  it('a lock that was never written is stale (exit 1)', async () => {
    const fresh = workspace(base());
    const r = await runCheck(fresh.dir);
    expect(r.exitCode).toBe(1);
    expect(r.stale.map((s) => s.message)).toEqual(['there is no lock yet (nothing is locked); run `lg-pins lock`']);
    expect(fresh.lockExists()).toBe(false);
  });
});

type Edit = (s: SpecInput) => void;
const fleet = (s: SpecInput) => s.fleet!;

describe('check finds the lock stale after a spec edit', () => {
  // Expected messages name the registry as HOST (known only once the proxy is up).
  const cases: Array<[string, Edit, string[]]> = [
    [
      'an image added',
      (s) => (s.images.extra = { ref: `${host}/team/tools`, tag: 't1' }),
      ['image "extra" is in the spec but not in the lock'],
    ],
    [
      'an image removed',
      (s) => {
        delete s.images.tools;
        fleet(s)['arm-servers']!.images = ['agent'];
      },
      ['image "tools" is in the lock but no longer in the spec'],
    ],
    [
      'a ref changed',
      (s) => (s.images.tools!.ref = `${host}/team/tools-mirror`),
      ['image "tools": the spec\'s ref is HOST/team/tools-mirror, the lock has HOST/team/tools'],
    ],
    ['a tag changed', (s) => (s.images.tools!.tag = 't2'), ['image "tools": the spec pins tag t2, the lock has t1']],
    [
      'a track range that no longer holds the locked tag',
      (s) => (s.images.agent!.track = '^2.0.0'),
      [
        'image "agent": the spec says track "^2.0.0", the lock was made for track "^1.0.0"',
        'image "agent": the locked tag v1.1.0 is outside track "^2.0.0"',
      ],
    ],
    ['a group added', (s) => (fleet(s).edge = { arch: 'x86_64', hosts: ['gw-01'] }), ['group "edge" is in the spec but not in the lock']],
    ['a group removed', (s) => delete fleet(s)['arm-servers'], ['group "arm-servers" is in the lock but no longer in the spec']],
    [
      "a group's arch changed",
      (s) => (fleet(s)['arm-servers']!.arch = 'x86_64'),
      [
        'group "arm-servers" is linux/amd64, but its pin of "agent" is for linux/arm64/v8',
        'group "arm-servers" is linux/amd64, but its pin of "tools" is for linux/arm64/v8',
      ],
    ],
    [
      'a group that no longer runs an image',
      (s) => (fleet(s)['arm-servers']!.images = ['agent']),
      ['group "arm-servers" no longer runs image "tools", but the lock pins it'],
    ],
    [
      'a group that now runs another image',
      (s) => (fleet(s)['riscv-lab']!.images = ['agent', 'tools']),
      ['group "riscv-lab" has no pin for image "tools"'],
    ],
    [
      'onMissing: hold removed from a held group',
      (s) => delete fleet(s)['riscv-lab']!.onMissing,
      ['group "riscv-lab" is held on v1.0.0 for "agent", but the spec no longer says onMissing: hold'],
    ],
  ];

  it.each(cases)('%s', async (_name, edit, expected) => {
    const s = base();
    edit(s);
    ws.writeSpec(s);
    const r = await runCheck();
    expect(r.exitCode).toBe(1);
    expect(r.stale.map((x) => x.message)).toEqual(expected.map((m) => m.replaceAll('HOST', host)));
  });

  it("a pin hand-edited to another platform's digest is stale", async () => {
    ws.writeSpec(base());
    const copy = workspace(base());
    const text = readFileSync(ws.lockFile, 'utf8');
    const arm = /arm-servers:\n {4}agent: \{ platform: linux\/arm64\/v8, digest: (sha256:[0-9a-f]{64}) \}/.exec(text)![1]!;
    const amd = /datacenter:\n {4}agent: \{ platform: linux\/amd64, digest: (sha256:[0-9a-f]{64}) \}/.exec(text)![1]!;
    writeFileSync(copy.lockFile, text.replace(`platform: linux/amd64, digest: ${amd}`, `platform: linux/amd64, digest: ${arm}`));
    const r = await runCheck(copy.dir);
    expect(r.exitCode).toBe(1);
    expect(r.stale.map((x) => x.message)).toEqual([
      `group "datacenter": its pin ${arm} of "agent" is not the linux/amd64 digest of v1.1.0`,
    ]);
  });
});
