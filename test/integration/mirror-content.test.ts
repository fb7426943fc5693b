/**
 * What `mirror` copies, on real registries: a layer two images share is uploaded once and mounted
 * for the other; `--no-tags` leaves image tags alone but copies signature tags; `--image` selects;
 * `--dry-run` writes nothing and lists sizes; held releases are copied by digest (and kept by
 * digest in an OCI layout); Sigstore bundles travel with their referrers fallback index, merged
 * with one the mirror already has. Everything is read back from the mirror and hashed here.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { lock } from '../../src/run/lock.js';
import { mirror } from '../../src/run/mirror.js';
import { generateCosignKeyPair, pushBundle, signBundle, signLegacy, type KeyPair } from '../helpers/cosign.js';
import {
  blobsOf,
  cosignTagOf,
  expectWhole,
  FLEET,
  get,
  manifestStatuses,
  PLATFORMS,
  pushWithSharedLayer,
  sha,
  uploadedBlobs,
  writeKey,
} from '../helpers/mirror.js';
import { MT, pushMultiArch, type PushTarget } from '../helpers/push.js';
import { settledAccessLog, startRegistry, type TestRegistry } from '../helpers/registry.js';
import { useRegistry, workspace, type SpecImage, type SpecInput, type Workspace } from '../helpers/workspace.js';

const ctx = useRegistry();
let t: PushTarget;
let m: TestRegistry;
let key: KeyPair;

beforeAll(async () => {
  t = { url: ctx.reg.url };
  key = generateCosignKeyPair();
  m = await startRegistry();
});
afterAll(async () => {
  await m?.stop();
});

const opts = (cwd: string) => ({ cwd, client: { credentials: ctx.anonymous } });
type Image = SpecImage & { verify?: { cosign: { key: string } } };
const signed = (repo: string, tag = 'v1'): Image => ({
  ref: `${ctx.reg.host}/${repo}`,
  tag,
  verify: { cosign: { key: 'keys/release.pub' } },
});

async function locked(spec: { images: Record<string, Image>; fleet?: SpecInput['fleet'] }): Promise<Workspace> {
  const ws = workspace({ fleet: FLEET, ...spec });
  writeKey(ws.dir, key.pem);
  const r = await lock(opts(ws.dir));
  expect(r.failures).toEqual([]);
  return ws;
}
/** Requests that write (anything but GET and HEAD) to `repo` at the mirror. */
const writesTo = async (repo: string) =>
  (await settledAccessLog(m)).filter((e) => e.method !== 'GET' && e.method !== 'HEAD' && e.path.startsWith(`/v2/${repo}/`));
const indexOf = (bytes: Buffer) => JSON.parse(bytes.toString()) as { manifests: Array<{ digest: string }> };

describe('mirror: what is copied', () => {
  it('a layer two images share is uploaded once and mounted into the other repository', async () => {
    const shared = gzipSync(Buffer.from('a base layer both images are built on\n'.repeat(50)));
    const api = await pushWithSharedLayer(t, 'cnt/api', 'v1', shared);
    const worker = await pushWithSharedLayer(t, 'cnt/worker', 'v1', shared);
    const ws = await locked({
      images: { api: { ref: `${ctx.reg.host}/cnt/api`, tag: 'v1' }, worker: { ref: `${ctx.reg.host}/cnt/worker`, tag: 'v1' } },
      fleet: { datacenter: FLEET.datacenter! },
    });
    const r = await mirror({ ...opts(ws.dir), to: [`${m.host}/f`] });
    expect(r.copies.map((c) => [c.image, c.status, c.error])).toEqual([
      ['api', 'copied', undefined],
      ['worker', 'copied', undefined],
    ]);
    expect(r.copies.map((c) => c.blobs)).toEqual([3, 3]);
    expect(r.copies.reduce((n, c) => n + c.mounted, 0)).toBe(1);
    expect(r.copies.reduce((n, c) => n + c.uploaded, 0)).toBe(5);

    const log = await settledAccessLog(m);
    const mounts = log.filter((e) => e.method === 'POST' && new URL(e.path, 'http://x').searchParams.get('mount') === api.shared);
    expect(mounts.map((e) => [e.status, new URL(e.path, 'http://x').searchParams.get('from')])).toEqual([
      [201, expect.stringMatching(/^f\/cnt\/(api|worker)$/)],
    ]);
    expect(uploadedBlobs(log).filter((d) => d === api.shared)).toHaveLength(1);
    for (const [repo, img] of [
      ['cnt/api', api],
      ['cnt/worker', worker],
    ] as const) {
      expect(await expectWhole(`${m.url}/v2/f/${repo}`, img)).toContain(api.shared);
      expect(sha((await get(`${m.url}/v2/f/${repo}/manifests/v1`)).bytes)).toBe(img.digest);
    }
  });

  it('--no-tags: the image tag is not set, the content is there by digest, the signature tag is copied', async () => {
    const img = await pushMultiArch(t, 'cnt/notags', 'v1', PLATFORMS, { salt: 'notags' });
    const sig = await signLegacy(t, 'cnt/notags', img.digest, key.privateKey);
    const ws = await locked({ images: { agent: signed('cnt/notags') } });
    const r = await mirror({ ...opts(ws.dir), to: [`${m.host}/g`], noTags: true });
    const sigTag = cosignTagOf(img.digest, '.sig');
    expect(r.copies.map((c) => [c.status, c.error, c.tags, c.signatures])).toEqual([['copied', undefined, [sigTag], 1]]);
    const base = `${m.url}/v2/g/cnt/notags`;
    expect((await get(`${base}/manifests/v1`)).status).toBe(404);
    await expectWhole(base, img);
    const there = await get(`${base}/manifests/${sigTag}`);
    expect([there.status, sha(there.bytes)]).toEqual([200, sig.digest]);
    for (const d of await blobsOf(base, sig.digest)) expect(sha((await get(`${base}/blobs/${d}`, '*/*')).bytes)).toBe(d);
  });

  it('--image copies only that image; an --image the lock does not pin is a usage error (exit 2)', async () => {
    const one = await pushMultiArch(t, 'cnt/one', 'v1', PLATFORMS, { salt: 'one' });
    const two = await pushMultiArch(t, 'cnt/two', 'v1', PLATFORMS, { salt: 'two' });
    const ws = await locked({
      images: { one: { ref: `${ctx.reg.host}/cnt/one`, tag: 'v1' }, two: { ref: `${ctx.reg.host}/cnt/two`, tag: 'v1' } },
    });
    const r = await mirror({ ...opts(ws.dir), to: [`${m.host}/h`], images: ['two'] });
    expect(r.copies.map((c) => [c.image, c.status])).toEqual([['two', 'copied']]);
    await expectWhole(`${m.url}/v2/h/cnt/two`, two);
    expect(await manifestStatuses(`${m.url}/v2/h/cnt/one`, ['v1', one.digest])).toEqual([404, 404]);

    const bad = mirror({ ...opts(ws.dir), to: [`${m.host}/h`], images: ['two', 'nope'] });
    await expect(bad).rejects.toBeInstanceOf(UsageError);
    await expect(bad).rejects.toMatchObject({ exitCode: 2, message: expect.stringContaining('--image nope') });
  });

  it('--dry-run writes nothing and lists every blob and manifest with its size', async () => {
    const img = await pushMultiArch(t, 'cnt/dry', 'v1', PLATFORMS, { salt: 'dry' });
    const ws = await locked({ images: { agent: { ref: `${ctx.reg.host}/cnt/dry`, tag: 'v1' } } });
    const r = await mirror({ ...opts(ws.dir), to: [`${m.host}/dry`], dryRun: true });
    expect(r.dryRun).toBe(true);
    expect(r.copies.map((c) => [c.status, c.blobs, c.manifests, c.tags, c.uploaded])).toEqual([['planned', 6, 4, ['v1'], 0]]);
    const src = `${ctx.reg.url}/v2/cnt/dry`;
    const sizes: Record<string, number> = {};
    for (const child of img.images)
      for (const d of await blobsOf(src, child.digest)) sizes[d] = (await get(`${src}/blobs/${d}`, '*/*')).bytes.length;
    const plan = r.copies[0]!.plan!;
    expect(Object.fromEntries(plan.blobs.map((b) => [b.digest, b.size]))).toEqual(sizes);
    expect(plan.manifests.map((x) => [x.digest, x.size]).sort()).toEqual(
      [[img.digest, img.bytes.length], ...img.images.map((i) => [i.digest, i.size])].sort(),
    );
    const total = Object.values(sizes).reduce((n, s) => n + s, 0) + img.bytes.length + img.images.reduce((n, i) => n + i.size, 0);
    expect(r.copies[0]!.bytes).toBe(total);
    expect(await manifestStatuses(`${m.url}/v2/dry/cnt/dry`, ['v1', img.digest])).toEqual([404, 404]);
    expect(await writesTo('dry/cnt/dry')).toEqual([]);
  });

  it('a held release is copied by digest (no tag) beside the pinned one; in an OCI layout it is kept by digest with its repository', async () => {
    const riscv = [PLATFORMS[0]!, { os: 'linux', architecture: 'riscv64' }];
    const old = await pushMultiArch(t, 'cnt/held', 'v1.0.0', riscv, { salt: 'held-1' });
    const cur = await pushMultiArch(t, 'cnt/held', 'v1.1.0', PLATFORMS.slice(0, 1), { salt: 'held-2' });
    const ws = await locked({
      images: { agent: { ref: `${ctx.reg.host}/cnt/held`, track: '^1.0.0' } },
      fleet: { datacenter: FLEET.datacenter!, riscv: { arch: 'riscv64', hosts: ['rv-01'], onMissing: 'hold' } },
    });
    expect(ws.lockText()).toContain('held: linux/riscv64 is not in v1.1.0');

    const r = await mirror({ ...opts(ws.dir), to: [`${m.host}/held`] });
    expect(r.copies.map((c) => [c.status, c.error, c.tags])).toEqual([['copied', undefined, ['v1.1.0']]]);
    const base = `${m.url}/v2/held/cnt/held`;
    await expectWhole(base, old);
    await expectWhole(base, cur);
    expect(await manifestStatuses(base, ['v1.0.0', 'v1.1.0'])).toEqual([404, 200]);

    const dir = join(ws.dir, 'carry');
    const l = await mirror({ ...opts(ws.dir), to: [`oci-layout://${dir}`] });
    expect(l.copies.map((c) => [c.status, c.error])).toEqual([['copied', undefined]]);
    const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as {
      manifests: Array<{ digest: string; mediaType: string; size: number; annotations: Record<string, string> }>;
    };
    expect(index.manifests).toEqual(
      expect.arrayContaining([
        {
          mediaType: MT.ociIndex,
          digest: cur.digest,
          size: cur.bytes.length,
          annotations: { 'org.opencontainers.image.ref.name': 'cnt/held:v1.1.0' },
        },
        { mediaType: MT.ociIndex, digest: old.digest, size: old.bytes.length, annotations: { 'dev.lg-pins.repository': 'cnt/held' } },
      ]),
    );
    expect(index.manifests).toHaveLength(2);
    for (const d of [old.digest, ...old.images.map((i) => i.digest)])
      expect(sha(readFileSync(join(dir, 'blobs/sha256', d.slice('sha256:'.length))))).toBe(d);
  });
});

describe('mirror: Sigstore bundles', () => {
  it('the referrers fallback index, the bundle manifest and its blobs are copied', async () => {
    const img = await pushMultiArch(t, 'cnt/bundle', 'v1', PLATFORMS, { salt: 'bundle' });
    const bundle = await signBundle(t, 'cnt/bundle', img, key.privateKey);
    const ws = await locked({ images: { agent: signed('cnt/bundle') } });
    const r = await mirror({ ...opts(ws.dir), to: [`${m.host}/i`] });
    expect(r.copies.map((c) => [c.status, c.error])).toEqual([['copied', undefined]]);
    expect(r.copies[0]!.tags).toEqual([bundle.tag, 'v1']);
    const base = `${m.url}/v2/i/cnt/bundle`;
    await expectWhole(base, img);
    const fallback = await get(`${base}/manifests/${bundle.tag}`);
    const source = await get(`${ctx.reg.url}/v2/cnt/bundle/manifests/${bundle.tag}`);
    expect([fallback.status, sha(fallback.bytes)]).toEqual([200, sha(source.bytes)]);
    expect(indexOf(fallback.bytes).manifests.map((e) => e.digest)).toEqual([bundle.digest]);
    expect(sha((await get(`${base}/manifests/${bundle.digest}`)).bytes)).toBe(bundle.digest);
    for (const d of await blobsOf(base, bundle.digest)) expect(sha((await get(`${base}/blobs/${d}`, '*/*')).bytes)).toBe(d);
  });

  it('a fallback index the mirror already has keeps its own referrers: both are listed after the copy', async () => {
    const img = await pushMultiArch(t, 'cnt/merge', 'v1', PLATFORMS, { salt: 'merge' });
    const bundle = await signBundle(t, 'cnt/merge', img, key.privateKey);
    // Something only the mirror has: another referrer of the same index, in its own fallback index.
    const theirs = await pushBundle({ url: m.url }, 'i2/cnt/merge', img, new TextEncoder().encode('{"attached":"at the mirror"}'));
    expect(theirs.tag).toBe(bundle.tag);
    const ws = await locked({ images: { agent: signed('cnt/merge') } });
    const r = await mirror({ ...opts(ws.dir), to: [`${m.host}/i2`] });
    expect(r.copies.map((c) => [c.status, c.error])).toEqual([['copied', undefined]]);
    const base = `${m.url}/v2/i2/cnt/merge`;
    const fallback = await get(`${base}/manifests/${bundle.tag}`);
    expect(fallback.status).toBe(200);
    expect(indexOf(fallback.bytes).manifests.map((e) => e.digest)).toEqual([bundle.digest, theirs.digest]);
    for (const d of [bundle.digest, theirs.digest]) expect(sha((await get(`${base}/manifests/${d}`)).bytes)).toBe(d);
    await expectWhole(base, img);
    const again = await mirror({ ...opts(ws.dir), to: [`${m.host}/i2`] });
    expect(again.copies.map((c) => [c.status, c.error])).toEqual([['complete', undefined]]);
  });
});
