/**
 * The lock file's life cycle against a real registry: missing tags (exit 3, the other images
 * still locked, the failed one kept byte for byte), idempotent re-runs, tags that move, dry runs,
 * and one in-flight request per URL.
 */
import { statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { RegistryError } from '../../src/errors.js';
import { lock } from '../../src/run/lock.js';
import { pushMultiArch } from '../helpers/push.js';
import { lockSection, workspace, type SpecInput, useRegistry } from '../helpers/workspace.js';
import { settledAccessLog } from '../helpers/registry.js';

const PLATFORMS = [
  { os: 'linux', architecture: 'amd64' },
  { os: 'linux', architecture: 'arm64' },
];

const ctx = useRegistry();

const runLock = (cwd: string, dryRun = false) => lock({ cwd, dryRun, client: { credentials: ctx.anonymous } });

const FLEET: SpecInput['fleet'] = {
  datacenter: { arch: 'x86_64', hosts: ['web-01'] },
  'arm-servers': { arch: 'aarch64', hosts: ['arm-01'] },
};

describe('missing tags', () => {
  it('fails with exit 3 naming the registry and HTTP 404, and writes nothing on a first run', async () => {
    const ws = workspace({ images: { agent: { ref: `${ctx.reg.host}/team/agent`, tag: 'does-not-exist' } }, fleet: FLEET });
    const r = await runLock(ws.dir);
    expect(r.exitCode).toBe(3);
    expect(r.failures).toHaveLength(1);
    const { image, error } = r.failures[0]!;
    expect(image).toBe('agent');
    expect(error).toBeInstanceOf(RegistryError);
    expect((error as RegistryError).status).toBe(404);
    expect((error as RegistryError).registry).toBe(ctx.reg.host);
    expect(error.message).toContain(`${ctx.reg.host}/team/agent`);
    expect(error.message).toContain('HTTP 404');
    expect(error.message).toContain('"does-not-exist"');
    expect(r.written).toBe(false);
    expect(ws.lockExists()).toBe(false);
  });

  it("locks the other image and keeps the failed one's previous entry byte for byte", async () => {
    const t = { url: ctx.reg.url };
    await pushMultiArch(t, 'team/agent', 'a1', PLATFORMS, { salt: 'a1' });
    const a2 = await pushMultiArch(t, 'team/agent', 'a2', PLATFORMS, { salt: 'a2' });
    await pushMultiArch(t, 'team/tools', 't1', PLATFORMS, { salt: 't1' });
    const spec = (agentTag: string, toolsTag: string): SpecInput => ({
      images: { agent: { ref: `${ctx.reg.host}/team/agent`, tag: agentTag }, tools: { ref: `${ctx.reg.host}/team/tools`, tag: toolsTag } },
      fleet: FLEET,
    });
    const ws = workspace(spec('a1', 't1'));
    const first = await runLock(ws.dir);
    expect(first.exitCode).toBe(0);
    const before = ws.lockText();
    const toolsBefore = lockSection(before, 'tools');
    expect(toolsBefore.split('\n')).toHaveLength(1 + 4 + 1 + 2 * 4 + 2); // id, 4 fields, platforms:, 2 platforms of 4 lines, 2 pins
    expect(toolsBefore).toContain('tag: t1');

    ws.writeSpec(spec('a2', 't9-missing'));
    const r = await runLock(ws.dir);
    expect(r.exitCode).toBe(3);
    expect(r.failures.map((f) => f.image)).toEqual(['tools']);
    expect(r.failures[0]!.error.message).toContain('HTTP 404');
    expect(r.failures[0]!.error.message).toContain(`${ctx.reg.host}/team/tools`);
    expect(r.written).toBe(true);
    const after = ws.lockText();
    expect(lockSection(after, 'tools')).toBe(toolsBefore);
    expect(r.lock.images.tools).toEqual(first.lock.images.tools);
    expect(r.lock.images.agent).toMatchObject({ tag: 'a2', digest: a2.digest });
    expect(r.lock.fleet.datacenter!.agent).toEqual({ platform: 'linux/amd64', digest: a2.images[0]!.digest });
    expect(lockSection(after, 'agent')).not.toBe(lockSection(before, 'agent'));
  });

  it('a run in which every image fails leaves an existing lock untouched', async () => {
    await pushMultiArch({ url: ctx.reg.url }, 'team/solo', 's1', PLATFORMS, { salt: 'solo' });
    const ws = workspace({ images: { solo: { ref: `${ctx.reg.host}/team/solo`, tag: 's1' } }, fleet: FLEET });
    expect((await runLock(ws.dir)).exitCode).toBe(0);
    const before = ws.lockText();
    const mtime = statSync(ws.lockFile).mtimeMs;
    ws.writeSpec({ images: { solo: { ref: `${ctx.reg.host}/team/solo`, tag: 'gone' } }, fleet: FLEET });
    const r = await runLock(ws.dir);
    expect(r.exitCode).toBe(3);
    expect(r.written).toBe(false);
    expect(ws.lockText()).toBe(before);
    expect(statSync(ws.lockFile).mtimeMs).toBe(mtime);
  });
});

describe('re-running and moving tags', () => {
  it('leaves the file byte-identical and unwritten when nothing changed', async () => {
    await pushMultiArch({ url: ctx.reg.url }, 'team/stable', 'v1', PLATFORMS, { salt: 'stable', attestations: true });
    const ws = workspace({ images: { stable: { ref: `${ctx.reg.host}/team/stable`, tag: 'v1' } }, fleet: FLEET });
    const first = await runLock(ws.dir);
    expect(first.written).toBe(true);
    const text = ws.lockText();
    const mtime = statSync(ws.lockFile).mtimeMs;
    const second = await runLock(ws.dir);
    expect(second.exitCode).toBe(0);
    expect(second.changed).toBe(false);
    expect(second.written).toBe(false);
    expect(second.text).toBe(text);
    expect(ws.lockText()).toBe(text);
    expect(statSync(ws.lockFile).mtimeMs).toBe(mtime);
  });

  it('follows a tag that moved to new content', async () => {
    const t = { url: ctx.reg.url };
    const old = await pushMultiArch(t, 'team/moving', 'latest-stable', PLATFORMS, { salt: 'm1' });
    const ws = workspace({ images: { moving: { ref: `${ctx.reg.host}/team/moving`, tag: 'latest-stable' } }, fleet: FLEET });
    expect((await runLock(ws.dir)).lock.images.moving!.digest).toBe(old.digest);
    const moved = await pushMultiArch(t, 'team/moving', 'latest-stable', PLATFORMS, { salt: 'm2' });
    expect(moved.digest).not.toBe(old.digest);
    const r = await runLock(ws.dir);
    expect(r.written).toBe(true);
    expect(r.lock.images.moving!.digest).toBe(moved.digest);
    expect(r.lock.fleet['arm-servers']).toEqual({ moving: { platform: 'linux/arm64/v8', digest: moved.images[1]!.digest } });
  });

  it('a dry run computes the next lock and writes nothing', async () => {
    const pushed = await pushMultiArch({ url: ctx.reg.url }, 'team/dry', 'd1', PLATFORMS, { salt: 'dry' });
    const ws = workspace({ images: { dry: { ref: `${ctx.reg.host}/team/dry`, tag: 'd1' } }, fleet: FLEET });
    const r = await runLock(ws.dir, true);
    expect(r.exitCode).toBe(0);
    expect(r.changed).toBe(true);
    expect(r.written).toBe(false);
    expect(r.lock.images.dry!.digest).toBe(pushed.digest);
    expect(ws.lockExists()).toBe(false);
  });
});

describe('one in-flight request per URL', () => {
  it('two images with the same ref and tag cause ONE GET of the tag manifest', async () => {
    const pushed = await pushMultiArch({ url: ctx.reg.url }, 'team/shared', 'v1', PLATFORMS, { salt: 'shared' });
    const ws = workspace({
      images: {
        one: { ref: `${ctx.reg.host}/team/shared`, tag: 'v1' },
        two: { ref: `${ctx.reg.host}/team/shared`, tag: 'v1' },
      },
      fleet: FLEET,
    });
    const r = await runLock(ws.dir);
    expect(r.failures).toEqual([]);
    expect(r.lock.images.one!.digest).toBe(pushed.digest);
    expect(r.lock.images.two!.digest).toBe(pushed.digest);
    const gets = (await settledAccessLog(ctx.reg)).filter((e) => e.method === 'GET' && e.path === '/v2/team/shared/manifests/v1');
    expect(gets).toHaveLength(1);
    expect(gets[0]!.status).toBe(200);
  });
});
