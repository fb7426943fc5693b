/**
 * The request plan, counted in the real registry's access log: a warm relock of an unchanged tag
 * makes one HEAD and no GET; a moved tag one HEAD and one GET (the index gives every child's
 * digest, size and platform, so no child manifest is fetched).
 */
import { describe, expect, it } from 'vitest';
import { lock } from '../../src/run/lock.js';
import { pushMultiArch } from '../helpers/push.js';
import { settledAccessLog } from '../helpers/registry.js';
import { useRegistry, workspace } from '../helpers/workspace.js';

const ctx = useRegistry();
const PLATFORMS = [
  { os: 'linux', architecture: 'amd64' },
  { os: 'linux', architecture: 'arm64', variant: 'v8' },
  { os: 'linux', architecture: 'arm', variant: 'v7' },
  { os: 'linux', architecture: 'riscv64' },
];

async function requestsDuring(run: () => Promise<unknown>, path: string): Promise<{ HEAD: number; GET: number; other: number }> {
  const before = (await settledAccessLog(ctx.reg)).length;
  await run();
  const after = (await settledAccessLog(ctx.reg)).slice(before).filter((e) => !e.path.includes('/sentinel-'));
  return {
    HEAD: after.filter((e) => e.method === 'HEAD' && e.path === path).length,
    GET: after.filter((e) => e.method === 'GET' && e.path === path).length,
    other: after.filter((e) => e.path !== path).length,
  };
}

describe('request plan', () => {
  it('a cold lock GETs the index once and no child; a warm relock of the unchanged tag HEADs once and GETs nothing; a moved tag HEADs once and GETs once', async () => {
    await pushMultiArch({ url: ctx.reg.url }, 'plan/agent', 'v1', PLATFORMS, { salt: 'plan-1', attestations: true });
    const ws = workspace({
      images: { agent: { ref: `${ctx.reg.host}/plan/agent`, tag: 'v1' } },
      fleet: { dc: { arch: 'x86_64', hosts: ['a'] }, edge: { arch: 'armv7l', hosts: ['b'] } },
    });
    const run = () => lock({ cwd: ws.dir, client: { credentials: ctx.anonymous } });
    const path = '/v2/plan/agent/manifests/v1';

    const cold = await requestsDuring(run, path);
    expect(cold).toEqual({ HEAD: 0, GET: 1, other: 0 });

    const warm = await requestsDuring(run, path);
    expect(warm).toEqual({ HEAD: 1, GET: 0, other: 0 });
    expect(ws.lockText()).toContain('tag: v1');

    await pushMultiArch({ url: ctx.reg.url }, 'plan/agent', 'v1', PLATFORMS, { salt: 'plan-2', attestations: true });
    const moved = await requestsDuring(run, path);
    expect(moved).toEqual({ HEAD: 1, GET: 1, other: 0 });
  });
});
