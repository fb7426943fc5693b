/**
 * Faults between lg-pins and a real registry: a registry that is down, transient and persistent
 * 5xx, and content tampered with in transit by a proxy (wrong Docker-Content-Digest, altered
 * child manifests and config blobs): integrity failures are exit 4 and never written.
 */
import { describe, expect, it } from 'vitest';
import { IntegrityError, RegistryError } from '../../src/errors.js';
import { DEFAULT_POLICY, Http } from '../../src/registry/http.js';
import { lock } from '../../src/run/lock.js';
import { pushManifest, pushMultiArch, pushPlatformImage, MT } from '../helpers/push.js';
import { tamperJson, type ProxyHook } from '../helpers/proxy.js';
import { freePort } from '../helpers/registry.js';
import { useProxiedRegistry, workspace, type SpecInput } from '../helpers/workspace.js';

const AMD64 = { os: 'linux', architecture: 'amd64' };
const ARM64 = { os: 'linux', architecture: 'arm64' };
const FLEET: SpecInput['fleet'] = {
  datacenter: { arch: 'x86_64', hosts: ['web-01'] },
  'arm-servers': { arch: 'aarch64', hosts: ['arm-01'] },
};
const FAST = { backoffMs: 10 };

const ctx = useProxiedRegistry();

const runLock = (cwd: string) => lock({ cwd, client: { credentials: ctx.anonymous, policy: FAST } });
const viaProxy = (repo: string, tag: string) => ({ ref: `${ctx.proxy.host}/${repo}`, tag });
const on = (method: string, path: string, rewrite: ProxyHook['rewrite']): ProxyHook => ({
  match: (r) => r.method === method && r.path === path,
  rewrite,
});
const tamperedCount = (path: string) => ctx.proxy.requests.filter((r) => r.tampered && r.path === path).length;

describe('a registry that cannot be reached', () => {
  it('fails fast with exit 3 naming host:port and "connection refused"', async () => {
    const port = await freePort();
    const ws = workspace({ images: { agent: { ref: `127.0.0.1:${port}/team/agent`, tag: 'v1' } }, fleet: FLEET });
    const started = Date.now();
    const r = await runLock(ws.dir);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(r.exitCode).toBe(3);
    const err = r.failures[0]!.error;
    expect(err).toBeInstanceOf(RegistryError);
    expect(err.message).toContain(`127.0.0.1:${port}`);
    expect(err.message).toContain('connection refused');
    expect(ws.lockExists()).toBe(false);
  });
});

describe('server errors', () => {
  it('retries a transient 503 and succeeds', async () => {
    const pushed = await pushMultiArch({ url: ctx.reg.url }, 'team/flaky', 'v1', [AMD64, ARM64], { salt: 'flaky' });
    let failures = 1;
    ctx.proxy.hooks.push(
      on('GET', '/v2/team/flaky/manifests/v1', (res) =>
        failures-- > 0 ? { status: 503, headers: { 'content-type': 'text/plain' }, body: Buffer.from('busy') } : res,
      ),
    );
    const ws = workspace({ images: { flaky: viaProxy('team/flaky', 'v1') }, fleet: FLEET });
    const r = await runLock(ws.dir);
    expect(r.failures).toEqual([]);
    expect(r.lock.images.flaky!.digest).toBe(pushed.digest);
    expect(tamperedCount('/v2/team/flaky/manifests/v1')).toBe(2);
  });

  it('gives up on a persistent 500 with exit 3 naming the registry and status', async () => {
    await pushMultiArch({ url: ctx.reg.url }, 'team/broken', 'v1', [AMD64], { salt: 'broken' });
    ctx.proxy.hooks.push(
      on('GET', '/v2/team/broken/manifests/v1', () => ({
        status: 500,
        headers: { 'content-type': 'application/json' },
        body: Buffer.from('{"errors":[{"code":"UNKNOWN","message":"boom"}]}'),
      })),
    );
    const ws = workspace({ images: { broken: viaProxy('team/broken', 'v1') }, fleet: FLEET });
    const r = await runLock(ws.dir);
    expect(r.exitCode).toBe(3);
    expect(r.failures[0]!.error.message).toContain(ctx.proxy.host);
    expect(r.failures[0]!.error.message).toContain('HTTP 500');
    expect(tamperedCount('/v2/team/broken/manifests/v1')).toBe(3);
    expect(ws.lockExists()).toBe(false);
  });
});

describe('oversized responses', () => {
  it('refuses a tag manifest over the 4 MiB limit with exit 3 and no uncaught stream error', async () => {
    await pushMultiArch({ url: ctx.reg.url }, 'team/huge', 'v1', [AMD64], { salt: 'huge' });
    ctx.proxy.hooks.push(
      on('GET', '/v2/team/huge/manifests/v1', (res) => ({ ...res, body: Buffer.concat([res.body, Buffer.alloc(5 * 1024 * 1024, 0x20)]) })),
    );
    const ws = workspace({ images: { huge: viaProxy('team/huge', 'v1') }, fleet: FLEET });
    const r = await runLock(ws.dir);
    expect(tamperedCount('/v2/team/huge/manifests/v1')).toBe(1);
    expect(r.exitCode).toBe(3);
    expect(r.failures[0]!.error.message).toContain('/v2/team/huge/manifests/v1');
    expect(r.failures[0]!.error.message).toContain('limit');
    expect(ws.lockExists()).toBe(false);
    // Let any stray stream error surface inside this test rather than after it.
    await new Promise((resolve) => setTimeout(resolve, 50));
  });

  it('a small response over its cap is refused cleanly (the unread body never becomes an uncaught error)', async () => {
    const img = await pushPlatformImage({ url: ctx.reg.url }, 'team/capped', AMD64, { salt: 'capped' });
    const http = new Http({ ...DEFAULT_POLICY, ...FAST });
    try {
      const err = await http
        .send(`${ctx.reg.url}/v2/team/capped/manifests/${img.digest}`, {
          headers: { accept: MT.ociManifest },
          maxBytes: 16,
          registry: ctx.reg.host,
        })
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(err).toBeInstanceOf(RegistryError);
      expect((err as Error).message).toContain('limit');
      await new Promise((resolve) => setTimeout(resolve, 50));
    } finally {
      await http.close();
    }
  });
});

describe('tampered content (exit 4, nothing written)', () => {
  it('refuses a tag whose Docker-Content-Digest does not match the body', async () => {
    await pushMultiArch({ url: ctx.reg.url }, 'team/agent', 'dcd', [AMD64, ARM64], { salt: 'dcd' });
    const forged = `sha256:${'0'.repeat(64)}`;
    ctx.proxy.hooks.push(
      on('GET', '/v2/team/agent/manifests/dcd', (res) => ({ ...res, headers: { ...res.headers, 'docker-content-digest': forged } })),
    );
    const ws = workspace({ images: { agent: viaProxy('team/agent', 'dcd') }, fleet: FLEET });
    const r = await runLock(ws.dir);
    expect(tamperedCount('/v2/team/agent/manifests/dcd')).toBe(1);
    expect(r.exitCode).toBe(4);
    expect(r.failures[0]!.error).toBeInstanceOf(IntegrityError);
    expect(r.failures[0]!.error.message).toContain(forged);
    expect(r.written).toBe(false);
    expect(ws.lockExists()).toBe(false);
  });

  it('refuses a nested child index whose body was altered', async () => {
    const pushed = await pushMultiArch({ url: ctx.reg.url }, 'team/nested', 'n1', [AMD64, ARM64], { nested: true, salt: 'n1' });
    const child = pushed.nested!.digest;
    ctx.proxy.hooks.push(
      on('GET', `/v2/team/nested/manifests/${child}`, (res) =>
        tamperJson(res, (j) => {
          j.annotations = { 'org.example.evil': 'yes' };
        }),
      ),
    );
    const ws = workspace({ images: { nested: viaProxy('team/nested', 'n1') }, fleet: FLEET });
    const r = await runLock(ws.dir);
    expect(tamperedCount(`/v2/team/nested/manifests/${child}`)).toBe(1);
    expect(r.exitCode).toBe(4);
    expect(r.failures[0]!.error).toBeInstanceOf(IntegrityError);
    expect(r.failures[0]!.error.message).toContain(child);
    expect(ws.lockExists()).toBe(false);
  });

  it('refuses a platform-less child manifest whose body was altered', async () => {
    const t = { url: ctx.reg.url };
    const amd = await pushPlatformImage(t, 'team/bare', AMD64, { salt: 'bare' });
    const arm = await pushPlatformImage(t, 'team/bare', ARM64, { salt: 'bare' });
    const { platform: _p, ...noPlatform } = arm;
    await pushManifest(t, 'team/bare', 'b1', { schemaVersion: 2, mediaType: MT.ociIndex, manifests: [amd, noPlatform] }, MT.ociIndex);
    ctx.proxy.hooks.push(
      on('GET', `/v2/team/bare/manifests/${arm.digest}`, (res) =>
        tamperJson(res, (j) => {
          j.annotations = { swapped: 'true' };
        }),
      ),
    );
    const ws = workspace({ images: { bare: viaProxy('team/bare', 'b1') }, fleet: FLEET });
    const r = await runLock(ws.dir);
    expect(tamperedCount(`/v2/team/bare/manifests/${arm.digest}`)).toBe(1);
    expect(r.exitCode).toBe(4);
    expect(r.failures[0]!.error.message).toContain(arm.digest);
    expect(ws.lockExists()).toBe(false);
  });

  it('refuses a single-platform image whose config blob was altered, and keeps the previous lock byte for byte', async () => {
    const t = { url: ctx.reg.url };
    const img = await pushPlatformImage(t, 'team/single', AMD64, { salt: 's1', tag: 's1' });
    const ws = workspace({ images: { single: viaProxy('team/single', 's1') }, fleet: { datacenter: FLEET.datacenter! } });
    const clean = await runLock(ws.dir);
    expect(clean.exitCode).toBe(0);
    expect(clean.lock.images.single!.digest).toBe(img.digest);
    const before = ws.lockText();

    // Re-publish the tag (a warm relock of an unchanged tag reads nothing but a HEAD), then tamper with the new config.
    await pushPlatformImage(t, 'team/single', AMD64, { salt: 's1-republished', tag: 's1' });
    const manifest = JSON.parse(
      Buffer.from(
        await (await fetch(`${ctx.reg.url}/v2/team/single/manifests/s1`, { headers: { accept: MT.ociManifest } })).arrayBuffer(),
      ).toString('utf8'),
    ) as { config: { digest: string } };
    const configPath = `/v2/team/single/blobs/${manifest.config.digest}`;
    ctx.proxy.hooks.push(
      on('GET', configPath, (res) =>
        tamperJson(res, (j) => {
          j.architecture = 'arm64';
        }),
      ),
    );
    const r = await runLock(ws.dir);
    expect(tamperedCount(configPath)).toBe(1);
    expect(r.exitCode).toBe(4);
    expect(r.failures[0]!.error).toBeInstanceOf(IntegrityError);
    expect(r.failures[0]!.error.message).toContain(manifest.config.digest);
    expect(r.written).toBe(false);
    expect(ws.lockText()).toBe(before);
  });

  it('refuses a config blob served larger than its descriptor says (exit 4, not a network error)', async () => {
    const img = await pushPlatformImage({ url: ctx.reg.url }, 'team/padded', ARM64, { salt: 'padded', tag: 'p1' });
    const manifest = JSON.parse(
      Buffer.from(
        await (await fetch(`${ctx.reg.url}/v2/team/padded/manifests/${img.digest}`, { headers: { accept: MT.ociManifest } })).arrayBuffer(),
      ).toString('utf8'),
    ) as { config: { digest: string } };
    const configPath = `/v2/team/padded/blobs/${manifest.config.digest}`;
    ctx.proxy.hooks.push(
      on('GET', configPath, (res) =>
        tamperJson(res, (j) => {
          j.architecture = 'amd64';
          j.variant = 'padding-to-make-it-longer';
        }),
      ),
    );
    const ws = workspace({ images: { padded: viaProxy('team/padded', 'p1') }, fleet: { 'arm-servers': FLEET['arm-servers']! } });
    const r = await runLock(ws.dir);
    expect(tamperedCount(configPath)).toBe(1);
    expect(r.exitCode).toBe(4);
    expect(r.failures[0]!.error).toBeInstanceOf(IntegrityError);
    expect(r.failures[0]!.error.message).toContain(manifest.config.digest);
    expect(ws.lockExists()).toBe(false);
  });

  it('reports the worst code (4 over 3) while still locking the image that resolved', async () => {
    const t = { url: ctx.reg.url };
    const good = await pushMultiArch(t, 'team/good', 'v1', [AMD64], { salt: 'good' });
    await pushMultiArch(t, 'team/evil', 'v1', [AMD64], { salt: 'evil' });
    ctx.proxy.hooks.push(
      on('GET', '/v2/team/evil/manifests/v1', (res) => ({
        ...res,
        headers: { ...res.headers, 'docker-content-digest': `sha256:${'f'.repeat(64)}` },
      })),
    );
    const ws = workspace({
      images: { good: viaProxy('team/good', 'v1'), evil: viaProxy('team/evil', 'v1'), gone: viaProxy('team/good', 'missing') },
      fleet: { datacenter: FLEET.datacenter! },
    });
    const r = await runLock(ws.dir);
    expect(r.exitCode).toBe(4);
    expect(Object.fromEntries(r.failures.map((f) => [f.image, f.error.exitCode]))).toEqual({ evil: 4, gone: 3 });
    expect(r.written).toBe(true);
    expect(Object.keys(r.lock.images)).toEqual(['good']);
    expect(r.lock.images.good!.digest).toBe(good.digest);
  });
});
