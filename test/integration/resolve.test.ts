/**
 * `lock` against a real distribution 2.8 registry: what a tag resolves to for each shape of
 * content (OCI index with attestations, Docker manifest list, nested index, single-platform tag,
 * index entries without a platform), and `inspect`.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { inspect } from '../../src/run/inspect.js';
import { lock } from '../../src/run/lock.js';
import { MT, pushManifest, pushMultiArch, pushPlatformImage, sha256, type Descriptor } from '../helpers/push.js';
import { workspace, type SpecInput, useRegistry } from '../helpers/workspace.js';

const AMD64 = { os: 'linux', architecture: 'amd64' };
const ARM64 = { os: 'linux', architecture: 'arm64', variant: 'v8' };
const ARMV7 = { os: 'linux', architecture: 'arm', variant: 'v7' };

const FLEET: SpecInput['fleet'] = {
  datacenter: { arch: 'x86_64', hosts: ['web-01', 'web-02'] },
  'arm-servers': { arch: 'aarch64', hosts: ['arm-01'] },
  edge: { arch: 'armv7l', hosts: ['gw-01', 'gw-02', 'gw-03'] },
};

const ctx = useRegistry();

const runLock = (cwd: string) => lock({ cwd, client: { credentials: ctx.anonymous } });

/** The lock's platforms map expected for these pushed images, keyed as the contract spells them. */
function expectedPlatforms(images: Descriptor[], keys: string[]): Record<string, { digest: string; mediaType: string; size: number }> {
  expect(images).toHaveLength(keys.length);
  return Object.fromEntries(images.map((d, i) => [keys[i]!, { digest: d.digest, mediaType: d.mediaType, size: d.size }]));
}

describe('lock resolves multi-arch tags', () => {
  it('locks an OCI index with attestations: index digest, every runnable platform, per-group pins', async () => {
    const pushed = await pushMultiArch({ url: ctx.reg.url }, 'team/agent', 'v1', [AMD64, ARM64, ARMV7], {
      attestations: true,
      salt: 'oci-v1',
    });
    const attestations = pushed.children.filter((c) => c.annotations?.['vnd.docker.reference.type']);
    expect(attestations).toHaveLength(3);
    const ws = workspace({ images: { agent: { ref: `${ctx.reg.host}/team/agent`, tag: 'v1' } }, fleet: FLEET });

    const r = await runLock(ws.dir);
    expect(r.failures).toEqual([]);
    expect(r.exitCode).toBe(0);
    expect(r.written).toBe(true);
    const [amd, arm64, armv7] = pushed.images;
    const agent = r.lock.images.agent;
    expect(agent).toEqual({
      ref: `${ctx.reg.host}/team/agent`,
      tag: 'v1',
      digest: pushed.digest,
      mediaType: MT.ociIndex,
      platforms: expectedPlatforms(pushed.images, ['linux/amd64', 'linux/arm64/v8', 'linux/arm/v7']),
    });
    expect(pushed.digest).toBe(sha256(pushed.bytes));
    expect(r.lock.fleet).toEqual({
      datacenter: { agent: { platform: 'linux/amd64', digest: amd!.digest } },
      'arm-servers': { agent: { platform: 'linux/arm64/v8', digest: arm64!.digest } },
      edge: { agent: { platform: 'linux/arm/v7', digest: armv7!.digest } },
    });
    // The file on disk is the serialized lock; no attestation digest appears anywhere in it.
    const text = ws.lockText();
    expect(text).toBe(r.text);
    expect(parse(text)).toEqual(r.lock);
    expect(text.endsWith('\n')).toBe(true);
    for (const a of attestations) expect(text).not.toContain(a.digest);
    expect(text).not.toContain('unknown');
  });

  it('takes the manifest LIST digest for a Docker manifest list, not the amd64 child', async () => {
    const pushed = await pushMultiArch({ url: ctx.reg.url }, 'team/legacy', 'v2', [AMD64, ARM64], { format: 'docker', salt: 'docker-v2' });
    const ws = workspace({
      images: { legacy: { ref: `${ctx.reg.host}/team/legacy`, tag: 'v2' } },
      fleet: { datacenter: FLEET.datacenter!, 'arm-servers': FLEET['arm-servers']! },
    });
    const r = await runLock(ws.dir);
    expect(r.failures).toEqual([]);
    const [amd, arm64] = pushed.images;
    const legacy = r.lock.images.legacy!;
    expect(legacy.digest).toBe(pushed.digest);
    expect(legacy.digest).not.toBe(amd!.digest);
    expect(legacy.mediaType).toBe(MT.dockerList);
    expect(legacy.platforms).toEqual(expectedPlatforms(pushed.images, ['linux/amd64', 'linux/arm64/v8']));
    expect(Object.values(legacy.platforms).map((p) => p.mediaType)).toEqual([MT.dockerManifest, MT.dockerManifest]);
    expect(r.lock.fleet.datacenter).toEqual({ legacy: { platform: 'linux/amd64', digest: amd!.digest } });
    expect(r.lock.fleet['arm-servers']).toEqual({ legacy: { platform: 'linux/arm64/v8', digest: arm64!.digest } });
  });

  it('finds the platforms inside a nested child index', async () => {
    const pushed = await pushMultiArch({ url: ctx.reg.url }, 'team/nested', 'n1', [AMD64, ARM64, ARMV7], {
      nested: true,
      attestations: true,
      salt: 'n1',
    });
    expect(pushed.children.at(-1)?.mediaType).toBe(MT.ociIndex);
    const ws = workspace({ images: { nested: { ref: `${ctx.reg.host}/team/nested`, tag: 'n1' } }, fleet: FLEET });
    const r = await runLock(ws.dir);
    expect(r.failures).toEqual([]);
    const nested = r.lock.images.nested!;
    expect(nested.digest).toBe(pushed.digest);
    expect(nested.mediaType).toBe(MT.ociIndex);
    expect(nested.platforms).toEqual(expectedPlatforms(pushed.images, ['linux/amd64', 'linux/arm64/v8', 'linux/arm/v7']));
    // The child index itself is not a platform.
    expect(r.text).not.toContain(pushed.nested!.digest);
    expect(r.lock.fleet.edge).toEqual({ nested: { platform: 'linux/arm/v7', digest: pushed.images[2]!.digest } });
    expect(r.lock.fleet['arm-servers']).toEqual({ nested: { platform: 'linux/arm64/v8', digest: pushed.images[1]!.digest } });
  });

  it('reads a single-platform tag from its config blob; the platform digest is the top-level digest', async () => {
    const oci = await pushPlatformImage({ url: ctx.reg.url }, 'team/single', ARM64, { salt: 's1', tag: 's1' });
    const docker = await pushPlatformImage({ url: ctx.reg.url }, 'team/single-docker', AMD64, { salt: 's2', tag: 's2', format: 'docker' });
    const ws = workspace({
      images: {
        single: { ref: `${ctx.reg.host}/team/single`, tag: 's1' },
        'single-docker': { ref: `${ctx.reg.host}/team/single-docker`, tag: 's2' },
      },
      fleet: {
        'arm-servers': { arch: 'aarch64', hosts: ['arm-01'], images: ['single'] },
        datacenter: { platform: 'linux/amd64', hosts: ['web-01'], images: ['single-docker'] },
      },
    });
    const r = await runLock(ws.dir);
    expect(r.failures).toEqual([]);
    expect(r.lock.images.single).toEqual({
      ref: `${ctx.reg.host}/team/single`,
      tag: 's1',
      digest: oci.digest,
      mediaType: MT.ociManifest,
      platforms: { 'linux/arm64/v8': { digest: oci.digest, mediaType: MT.ociManifest, size: oci.size } },
    });
    expect(r.lock.images['single-docker']).toMatchObject({
      digest: docker.digest,
      mediaType: MT.dockerManifest,
      platforms: { 'linux/amd64': { digest: docker.digest, mediaType: MT.dockerManifest, size: docker.size } },
    });
    expect(r.lock.fleet['arm-servers']).toEqual({ single: { platform: 'linux/arm64/v8', digest: oci.digest } });
    expect(r.lock.fleet.datacenter).toEqual({ 'single-docker': { platform: 'linux/amd64', digest: docker.digest } });
  });

  it('reads the platform of an index entry that has none from the child config', async () => {
    const t = { url: ctx.reg.url };
    const amd = await pushPlatformImage(t, 'team/bare', AMD64, { salt: 'bare' });
    const arm = await pushPlatformImage(t, 'team/bare', ARMV7, { salt: 'bare' });
    const { platform: _drop, ...noPlatform } = arm;
    const index = { schemaVersion: 2, mediaType: MT.ociIndex, manifests: [amd, noPlatform] };
    const top = await pushManifest(t, 'team/bare', 'b1', index, MT.ociIndex);
    const ws = workspace({
      images: { bare: { ref: `${ctx.reg.host}/team/bare`, tag: 'b1' } },
      fleet: { edge: FLEET.edge!, datacenter: FLEET.datacenter! },
    });
    const r = await runLock(ws.dir);
    expect(r.failures).toEqual([]);
    expect(r.lock.images.bare).toMatchObject({ digest: top.digest, mediaType: MT.ociIndex });
    expect(r.lock.images.bare!.platforms).toEqual(expectedPlatforms([amd, arm], ['linux/amd64', 'linux/arm/v7']));
    expect(r.lock.fleet.edge).toEqual({ bare: { platform: 'linux/arm/v7', digest: arm.digest } });
  });

  it('writes the same lock a fresh read parses back to', async () => {
    await pushMultiArch({ url: ctx.reg.url }, 'team/roundtrip', 'r1', [AMD64], { salt: 'r1' });
    const ws = workspace({
      images: { rt: { ref: `${ctx.reg.host}/team/roundtrip`, tag: 'r1' } },
      fleet: { datacenter: FLEET.datacenter! },
    });
    const r = await runLock(ws.dir);
    expect(r.written).toBe(true);
    const text = readFileSync(r.lockFile, 'utf8');
    expect(text.startsWith('# Generated by lg-pins.')).toBe(true);
    expect(parse(text)).toEqual(r.lock);
  });
});

describe('inspect', () => {
  it('shows a tag: index digest and media type, every platform with digest, media type and size', async () => {
    const pushed = await pushMultiArch({ url: ctx.reg.url }, 'team/agent', 'insp', [AMD64, ARM64, ARMV7], {
      attestations: true,
      salt: 'insp',
    });
    const r = await inspect(`${ctx.reg.host}/team/agent:insp`, { client: { credentials: ctx.anonymous } });
    expect(r.reference).toBe(`${ctx.reg.host}/team/agent:insp`);
    expect(r.tag).toBe('insp');
    expect(r.digest).toBe(pushed.digest);
    expect(r.mediaType).toBe(MT.ociIndex);
    expect(r.size).toBe(pushed.bytes.length);
    expect(r.platforms.map((p) => ({ key: p.key, digest: p.digest, mediaType: p.mediaType, size: p.size }))).toEqual(
      pushed.images.map((d, i) => ({
        key: ['linux/amd64', 'linux/arm64/v8', 'linux/arm/v7'][i],
        digest: d.digest,
        mediaType: d.mediaType,
        size: d.size,
      })),
    );
  });

  it('inspects by digest and a single-platform manifest', async () => {
    const img = await pushPlatformImage({ url: ctx.reg.url }, 'team/insp-single', ARMV7, { salt: 'is', tag: 'one' });
    const byTag = await inspect(`${ctx.reg.host}/team/insp-single:one`, { client: { credentials: ctx.anonymous } });
    expect(byTag.digest).toBe(img.digest);
    expect(byTag.platforms).toEqual([
      {
        key: 'linux/arm/v7',
        platform: { os: 'linux', architecture: 'arm', variant: 'v7' },
        digest: img.digest,
        mediaType: MT.ociManifest,
        size: img.size,
      },
    ]);
    const byDigest = await inspect(`${ctx.reg.host}/team/insp-single@${img.digest}`, { client: { credentials: ctx.anonymous } });
    expect(byDigest.reference).toBe(`${ctx.reg.host}/team/insp-single@${img.digest}`);
    expect(byDigest.digest).toBe(img.digest);
    expect(byDigest.platforms.map((p) => p.key)).toEqual(['linux/arm/v7']);
  });

  it('fails on a missing tag with exit 3 naming the registry and HTTP 404', async () => {
    const err = await inspect(`${ctx.reg.host}/team/agent:nope`, { client: { credentials: ctx.anonymous } }).then(
      () => undefined,
      (e: unknown) => e as { exitCode?: number; message: string },
    );
    expect(err?.exitCode).toBe(3);
    expect(err?.message).toContain(ctx.reg.host);
    expect(err?.message).toContain('HTTP 404');
    expect(err?.message).toContain('"nope"');
  });
});
