/**
 * Fleet coverage against a real registry: variant fallback within one architecture (arm/v7 host
 * takes v6), never across architectures (no 32-bit arm for arm64, no 386 for amd64), a platform a
 * group needs and the release does not ship (exit 3), and `onMissing: hold`.
 */
import { describe, expect, it } from 'vitest';
import { CoverageError } from '../../src/errors.js';
import { lock } from '../../src/run/lock.js';
import { pushMultiArch } from '../helpers/push.js';
import { workspace, type SpecInput, useRegistry } from '../helpers/workspace.js';

const P = {
  amd64: { os: 'linux', architecture: 'amd64' },
  arm64: { os: 'linux', architecture: 'arm64' },
  armv7: { os: 'linux', architecture: 'arm', variant: 'v7' },
  armv6: { os: 'linux', architecture: 'arm', variant: 'v6' },
  armv5: { os: 'linux', architecture: 'arm', variant: 'v5' },
  i386: { os: 'linux', architecture: '386' },
  riscv64: { os: 'linux', architecture: 'riscv64' },
};

const ctx = useRegistry();

const runLock = (cwd: string) => lock({ cwd, client: { credentials: ctx.anonymous } });

describe('variant fallback, never cross-architecture', () => {
  it('gives an armv7l group arm/v6 from a v6+v5 index; arm64-only-v7 and amd64-only-386 groups fail', async () => {
    const t = { url: ctx.reg.url };
    const old = await pushMultiArch(t, 'team/armold', 'v1', [P.armv5, P.armv6], { salt: 'armold' });
    await pushMultiArch(t, 'team/arm32', 'v1', [P.armv7], { salt: 'arm32' });
    await pushMultiArch(t, 'team/x86', 'v1', [P.i386], { salt: 'x86' });
    const ws = workspace({
      images: {
        armold: { ref: `${ctx.reg.host}/team/armold`, tag: 'v1' },
        arm32: { ref: `${ctx.reg.host}/team/arm32`, tag: 'v1' },
        x86: { ref: `${ctx.reg.host}/team/x86`, tag: 'v1' },
      },
      fleet: {
        edge: { arch: 'armv7l', hosts: ['gw-01'], images: ['armold'] },
        'arm-servers': { arch: 'aarch64', hosts: ['arm-01', 'arm-02'], images: ['arm32'] },
        datacenter: { arch: 'x86_64', hosts: ['web-01'], images: ['x86'] },
      },
    });
    const r = await runLock(ws.dir);
    expect(r.exitCode).toBe(3);
    // v6 wins over v5 although v5 comes first in the index.
    const v6 = old.images[1]!;
    expect(v6.platform).toEqual(P.armv6);
    expect(r.lock.fleet.edge).toEqual({ armold: { platform: 'linux/arm/v6', digest: v6.digest } });
    expect(Object.keys(r.lock.images.armold!.platforms)).toEqual(['linux/arm/v5', 'linux/arm/v6']);

    expect(r.failures.map((f) => f.image).sort()).toEqual(['arm32', 'x86']);
    const arm32 = r.failures.find((f) => f.image === 'arm32')!.error;
    expect(arm32).toBeInstanceOf(CoverageError);
    expect(arm32.exitCode).toBe(3);
    expect(arm32.message).toContain('group "arm-servers" (2 hosts) needs linux/arm64/v8');
    expect(arm32.message).toContain('v1 ships linux/arm/v7');
    const x86 = r.failures.find((f) => f.image === 'x86')!.error;
    expect(x86.message).toContain('group "datacenter" (1 host) needs linux/amd64');
    expect(x86.message).toContain('linux/386');
    // Failed images are not in the lock (no previous entry), nor pinned to a foreign architecture.
    expect(r.lock.images.arm32).toBeUndefined();
    expect(r.lock.images.x86).toBeUndefined();
    expect(r.lock.fleet['arm-servers']).toEqual({});
    expect(r.lock.fleet.datacenter).toEqual({});
    expect(r.written).toBe(true);
    expect(ws.lockText()).toBe(r.text);
  });
});

describe('a platform the release does not ship', () => {
  const spec = (tag: string, onMissing: 'fail' | 'hold'): SpecInput => ({
    images: { agent: { ref: `${ctx.reg.host}/team/agent`, tag } },
    fleet: {
      datacenter: { arch: 'x86_64', hosts: ['web-01', 'web-02'] },
      'riscv-lab': { arch: 'riscv64', hosts: ['rv-01', 'rv-02', 'rv-03'], onMissing },
    },
  });

  it('fails with exit 3 naming group, host count, platform and tag; a first run writes no lock', async () => {
    await pushMultiArch({ url: ctx.reg.url }, 'team/agent', 'norv', [P.amd64, P.arm64, P.armv7], { salt: 'norv' });
    const ws = workspace(spec('norv', 'fail'));
    const r = await runLock(ws.dir);
    expect(r.exitCode).toBe(3);
    expect(r.failures).toHaveLength(1);
    const { image, error } = r.failures[0]!;
    expect(image).toBe('agent');
    expect(error).toBeInstanceOf(CoverageError);
    expect(error.message).toContain('"riscv-lab"');
    expect(error.message).toContain('3 hosts');
    expect(error.message).toContain('linux/riscv64');
    expect(error.message).toContain(`which ${ctx.reg.host}/team/agent:norv does not ship`);
    expect(error.message).not.toContain('datacenter');
    expect(r.written).toBe(false);
    expect(ws.lockExists()).toBe(false);

    // hold with no previous pin cannot hold anything: still a failure, still nothing written.
    ws.writeSpec(spec('norv', 'hold'));
    const held = await runLock(ws.dir);
    expect(held.exitCode).toBe(3);
    expect(held.failures[0]!.error.message).toContain('no earlier pin');
    expect(ws.lockExists()).toBe(false);
  });

  it('with onMissing: hold keeps the group on its previous digest (tag and reason recorded) while others move', async () => {
    const t = { url: ctx.reg.url };
    const v1 = await pushMultiArch(t, 'team/agent', 'h1', [P.amd64, P.riscv64], { salt: 'h1' });
    const v2 = await pushMultiArch(t, 'team/agent', 'h2', [P.amd64, P.arm64], { salt: 'h2' });
    const ws = workspace(spec('h1', 'hold'));
    const first = await runLock(ws.dir);
    expect(first.exitCode).toBe(0);
    expect(first.lock.fleet['riscv-lab']).toEqual({ agent: { platform: 'linux/riscv64', digest: v1.images[1]!.digest } });

    ws.writeSpec(spec('h2', 'hold'));
    const r = await runLock(ws.dir);
    expect(r.failures).toEqual([]);
    expect(r.exitCode).toBe(0);
    expect(r.written).toBe(true);
    expect(r.lock.images.agent).toMatchObject({ tag: 'h2', digest: v2.digest });
    expect(r.lock.fleet.datacenter).toEqual({ agent: { platform: 'linux/amd64', digest: v2.images[0]!.digest } });
    expect(r.lock.fleet['riscv-lab']).toEqual({
      // The release it stays on, with its index digest (for index deploy outputs).
      agent: { platform: 'linux/riscv64', digest: v1.images[1]!.digest, tag: 'h1', index: v1.digest, held: 'linux/riscv64 is not in h2' },
    });
    expect(ws.lockText()).toContain(
      `riscv-lab:\n    agent: { platform: linux/riscv64, digest: ${v1.images[1]!.digest}, tag: h1, index: ${v1.digest}, held: linux/riscv64 is not in h2 }`,
    );

    // Held again on the next run, and nothing changes.
    const again = await runLock(ws.dir);
    expect(again.exitCode).toBe(0);
    expect(again.written).toBe(false);
    expect(again.text).toBe(r.text);
  });

  it('with onMissing: fail and a previous lock, the image keeps its previous entry and pins', async () => {
    const t = { url: ctx.reg.url };
    await pushMultiArch(t, 'team/agent', 'f1', [P.amd64, P.riscv64], { salt: 'f1' });
    await pushMultiArch(t, 'team/agent', 'f2', [P.amd64], { salt: 'f2' });
    const ws = workspace(spec('f1', 'fail'));
    const first = await runLock(ws.dir);
    expect(first.exitCode).toBe(0);
    const before = ws.lockText();

    ws.writeSpec(spec('f2', 'fail'));
    const r = await runLock(ws.dir);
    expect(r.exitCode).toBe(3);
    expect(r.failures[0]!.error.message).toContain(`which ${ctx.reg.host}/team/agent:f2 does not ship`);
    expect(r.lock).toEqual(first.lock);
    expect(r.written).toBe(false);
    expect(ws.lockText()).toBe(before);
  });
});
