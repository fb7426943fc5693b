/**
 * `mirror` against real registries: a source (the test registry) and two empty mirrors. Every
 * copy is read back from the mirror by digest and hashed; `verify` is green afterwards.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lock } from '../../src/run/lock.js';
import { mirror } from '../../src/run/mirror.js';
import { verify } from '../../src/run/verify.js';
import { generateCosignKeyPair, signLegacy, type KeyPair } from '../helpers/cosign.js';
import { ACCEPT_ALL, pushMultiArch, type MultiArchResult, type PushTarget } from '../helpers/push.js';
import { settledAccessLog, startRegistry, type TestRegistry } from '../helpers/registry.js';
import { useRegistry, workspace, type SpecGroup, type Workspace } from '../helpers/workspace.js';

const PLATFORMS = [
  { os: 'linux', architecture: 'amd64' },
  { os: 'linux', architecture: 'arm64', variant: 'v8' },
  { os: 'linux', architecture: 'arm', variant: 'v7' },
];
const FLEET: Record<string, SpecGroup> = {
  datacenter: { arch: 'x86_64', hosts: ['web-01'] },
  edge: { arch: 'armv7l', hosts: ['gw-01'] },
};

const ctx = useRegistry();
let t: PushTarget;
let m1: TestRegistry;
let m2: TestRegistry;
let key: KeyPair;

beforeAll(async () => {
  t = { url: ctx.reg.url };
  key = generateCosignKeyPair();
  [m1, m2] = await Promise.all([startRegistry(), startRegistry()]);
});
afterAll(async () => {
  await Promise.all([m1?.stop(), m2?.stop()]);
});

const opts = (cwd: string) => ({ cwd, client: { credentials: ctx.anonymous } });

async function get(url: string, accept = ACCEPT_ALL): Promise<{ status: number; bytes: Buffer }> {
  const res = await fetch(url, { headers: { accept } });
  return { status: res.status, bytes: Buffer.from(await res.arrayBuffer()) };
}
/** The mirror serves the index under its tag and by digest, and every manifest and blob under it, each hashing to its digest. */
async function expectComplete(base: string, img: MultiArchResult, tag: string, signed = true): Promise<void> {
  expect(sha((await get(`${base}/manifests/${tag}`)).bytes)).toBe(img.digest);
  expect(sha((await get(`${base}/manifests/${img.digest}`)).bytes)).toBe(img.digest);
  for (const child of img.images) {
    const m = await get(`${base}/manifests/${child.digest}`);
    expect(sha(m.bytes)).toBe(child.digest);
    const parsed = JSON.parse(m.bytes.toString()) as { config: { digest: string }; layers: Array<{ digest: string }> };
    for (const d of [parsed.config.digest, ...parsed.layers.map((l) => l.digest)])
      expect(sha((await get(`${base}/blobs/${d}`, '*/*')).bytes)).toBe(d);
  }
  expect((await get(`${base}/manifests/${img.digest.replace(':', '-')}.sig`)).status).toBe(signed ? 200 : 404);
}

const sha = (b: Uint8Array) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

async function setup(repo: string, tag: string, signed = false): Promise<{ ws: Workspace; img: MultiArchResult }> {
  const img = await pushMultiArch(t, repo, tag, PLATFORMS, { salt: repo });
  if (signed) await signLegacy(t, repo, img.digest, key.privateKey);
  const ws = workspace({
    images: { agent: { ref: `${ctx.reg.host}/${repo}`, tag, ...(signed ? { verify: { cosign: { key: 'keys/release.pub' } } } : {}) } },
    fleet: FLEET,
    registries: { [ctx.reg.host]: { mirrors: [`${m1.host}/copy`, m2.host] } },
  });
  if (signed) {
    const file = join(ws.dir, 'keys/release.pub');
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, key.pem);
  }
  const r = await lock(opts(ws.dir));
  expect(r.exitCode).toBe(0);
  return { ws, img };
}

describe('mirror', () => {
  it('copies the index byte for byte with every platform, to every mirror; verify is green; a second run copies nothing', async () => {
    const { ws, img } = await setup('mir/agent', 'v1', true);
    const r = await mirror(opts(ws.dir));
    expect(r.copies.map((c) => [c.destination, c.status, c.error])).toEqual([
      [`${m1.host}/copy/mir/agent`, 'copied', undefined],
      [`${m2.host}/mir/agent`, 'copied', undefined],
    ]);
    expect(r.exitCode).toBe(0);
    for (const base of [`${m1.url}/v2/copy/mir/agent`, `${m2.url}/v2/mir/agent`]) await expectComplete(base, img, 'v1');
    const v = await verify(opts(ws.dir));
    expect(v.findings).toEqual([]);
    expect(v.exitCode).toBe(0);

    const again = await mirror(opts(ws.dir));
    expect(again.copies.map((c) => c.status)).toEqual(['complete', 'complete']);
    expect(again.copies.every((c) => c.bytes === 0)).toBe(true);
  });

  it('an unsigned image already complete at a mirror is not read from the source again, and not copied again', async () => {
    const img = await pushMultiArch(t, 'mir/quiet', 'v1', PLATFORMS, { salt: 'quiet' });
    const ws = workspace({ images: { agent: { ref: `${ctx.reg.host}/mir/quiet`, tag: 'v1' } }, fleet: FLEET });
    expect((await lock(opts(ws.dir))).exitCode).toBe(0);
    const first = await mirror({ ...opts(ws.dir), to: [`${m2.host}/quiet`] });
    expect(first.copies.map((c) => [c.status, c.manifests, c.tags])).toEqual([['copied', 4, ['v1']]]);
    const before = (await settledAccessLog(ctx.reg)).length;
    const mirrorBefore = (await settledAccessLog(m2)).filter((e) => e.method !== 'HEAD' && e.method !== 'GET').length;
    const again = await mirror({ ...opts(ws.dir), to: [`${m2.host}/quiet`] });
    expect(again.copies.map((c) => [c.status, c.bytes])).toEqual([['complete', 0]]);
    const after = await settledAccessLog(ctx.reg);
    // Only the sentinel requests of settledAccessLog itself: nothing of the image's repository.
    expect(after.slice(before).filter((e) => e.path.includes('mir/quiet'))).toEqual([]);
    expect((await settledAccessLog(m2)).filter((e) => e.method !== 'HEAD' && e.method !== 'GET').length).toBe(mirrorBefore);
    await expectComplete(`${m2.url}/v2/quiet/mir/quiet`, img, 'v1', false);
  });

  it('two hops through an OCI layout: the second with the source registry stopped, the mirror then holds every pinned digest', async () => {
    const source = await startRegistry();
    const target = await startRegistry();
    try {
      const img = await pushMultiArch({ url: source.url }, 'mir/hop', 'v2', PLATFORMS, { salt: 'hop' });
      await signLegacy({ url: source.url }, 'mir/hop', img.digest, key.privateKey);
      const ws = workspace({
        images: { agent: { ref: `${source.host}/mir/hop`, tag: 'v2', verify: { cosign: { key: 'keys/release.pub' } } } },
        fleet: FLEET,
      } as never);
      mkdirSync(join(ws.dir, 'keys'), { recursive: true });
      writeFileSync(join(ws.dir, 'keys/release.pub'), key.pem);
      expect((await lock(opts(ws.dir))).exitCode).toBe(0);
      const dir = join(ws.dir, 'carry');
      const one = await mirror({ ...opts(ws.dir), to: [`oci-layout://${dir}`] });
      expect(one.copies.map((c) => [c.status, c.error])).toEqual([['copied', undefined]]);
      expect(JSON.parse(readFileSync(join(dir, 'oci-layout'), 'utf8'))).toEqual({ imageLayoutVersion: '1.0.0' });
      const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as {
        manifests: Array<{ digest: string; annotations: Record<string, string> }>;
      };
      const named = Object.fromEntries(index.manifests.map((m) => [m.annotations['org.opencontainers.image.ref.name'], m.digest]));
      expect(named).toEqual({ 'mir/hop:v2': img.digest, [`mir/hop:${img.digest.replace(':', '-')}.sig`]: expect.any(String) });

      await source.stop();
      const two = await mirror({ ...opts(ws.dir), from: `oci-layout://${dir}`, to: [`${target.host}/air`] });
      expect(two.copies.map((c) => [c.status, c.error])).toEqual([['copied', undefined]]);
      await expectComplete(`${target.url}/v2/air/mir/hop`, img, 'v2');
      const again = await mirror({ ...opts(ws.dir), from: `oci-layout://${dir}`, to: [`${target.host}/air`] });
      expect(again.copies.map((c) => [c.status, c.bytes])).toEqual([['complete', 0]]);
    } finally {
      await Promise.all([source.stop(), target.stop()]);
    }
  });
});
