/**
 * `mirror` under faults, on real registries: a fault proxy in front of the SOURCE (a tampered, a
 * short or a cut-off blob) or in front of the MIRROR (an upload reset, a refused one-PUT upload,
 * refused manifests). Every outcome is read back from the mirror itself, by digest, and hashed
 * here; uploads are counted from what the mirror's proxy saw.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { lock } from '../../src/run/lock.js';
import { mirror } from '../../src/run/mirror.js';
import { blobsOf, expectWhole, FLEET, flipOneBit, get, manifestStatuses, PLATFORMS, sha, uploadedBlobs } from '../helpers/mirror.js';
import { reply, startProxy, type ProxyRequest, type TamperingProxy } from '../helpers/proxy.js';
import { pushMultiArch, type MultiArchResult } from '../helpers/push.js';
import { settledAccessLog, startRegistry, type TestRegistry } from '../helpers/registry.js';
import { useProxiedRegistry, workspace, type Workspace } from '../helpers/workspace.js';

const ctx = useProxiedRegistry();
/** A mirror read directly, and one reached through its own fault proxy (`mp`, in front of `mreg`). */
let m: TestRegistry;
let mreg: TestRegistry;
let mp: TamperingProxy;

beforeAll(async () => {
  [m, mreg] = await Promise.all([startRegistry(), startRegistry()]);
  mp = await startProxy(mreg.url, { forwardedHost: true });
});
afterEach(() => {
  mp.hooks.length = 0;
});
afterAll(async () => {
  await mp?.stop();
  await Promise.all([m?.stop(), mreg?.stop()]);
});

const opts = (cwd: string) => ({ cwd, client: { credentials: ctx.anonymous, policy: { backoffMs: 1 } } });
const src = (repo: string) => `${ctx.reg.url}/v2/${repo}`;

/**
 * Push one release per image (repository → image id) to the source and lock them, read through
 * the source's proxy (`viaProxy`) or straight from the source registry.
 */
async function setup(images: Record<string, string>, viaProxy = true): Promise<{ ws: Workspace; imgs: Record<string, MultiArchResult> }> {
  const imgs: Record<string, MultiArchResult> = {};
  for (const [id, repo] of Object.entries(images))
    imgs[id] = await pushMultiArch({ url: ctx.reg.url }, repo, 'v1', PLATFORMS, { salt: repo });
  const host = viaProxy ? ctx.proxy.host : ctx.reg.host;
  const ws = workspace({
    images: Object.fromEntries(Object.entries(images).map(([id, repo]) => [id, { ref: `${host}/${repo}`, tag: 'v1' }])),
    fleet: FLEET,
  });
  expect((await lock(opts(ws.dir))).exitCode).toBe(0);
  return { ws, imgs };
}

/** The arm64 image's layer: the blob the faults below aim at. */
const layerOf = async (repo: string, img: MultiArchResult) => (await blobsOf(src(repo), img.images[1]!.digest))[1]!;
const blobGet = (repo: string, digest: string) => (r: ProxyRequest) => r.method === 'GET' && r.path === `/v2/${repo}/blobs/${digest}`;
const blobPut = (digest: string) => (r: ProxyRequest) =>
  r.method === 'PUT' && r.path.includes('/blobs/uploads/') && new URL(r.path, 'http://x').searchParams.get('digest') === digest;
/** True for the first request `match` accepts, false after. */
function once(match: (r: ProxyRequest) => boolean): (r: ProxyRequest) => boolean {
  let fired = false;
  return (r) => !fired && match(r) && (fired = true);
}
/** Every manifest of `img` and its tag, as the mirror answers for them. */
const statusesAt = (base: string, img: MultiArchResult) => manifestStatuses(base, ['v1', img.digest, ...img.images.map((i) => i.digest)]);

describe('mirror: a fault at the source', () => {
  it('a blob that does not hash to its digest fails its image (exit 4), nothing referencing it is pushed; the other image is copied', async () => {
    const { ws, imgs } = await setup({ bad: 'flt/tampered', good: 'flt/clean' });
    const layer = await layerOf('flt/tampered', imgs.bad!);
    ctx.proxy.hooks.push({ match: blobGet('flt/tampered', layer), rewrite: flipOneBit });
    const r = await mirror({ ...opts(ws.dir), to: [`${m.host}/a`] });

    expect(r.exitCode).toBe(4);
    const [bad, good] = [r.copies.find((c) => c.image === 'bad')!, r.copies.find((c) => c.image === 'good')!];
    expect([bad.status, bad.exitCode]).toEqual(['failed', 4]);
    expect(bad.error).toContain(`blob ${layer} hashes to sha256:`);
    expect([good.status, good.exitCode, good.error, good.tags]).toEqual(['copied', undefined, undefined, ['v1']]);
    expect(ctx.proxy.requests.some((q) => q.tampered && q.path.endsWith(layer))).toBe(true);

    const base = `${m.url}/v2/a/flt/tampered`;
    expect(await statusesAt(base, imgs.bad!)).toEqual([404, 404, 404, 404, 404]);
    expect((await get(`${base}/blobs/${layer}`, '*/*')).status).toBe(404);
    const puts = (await settledAccessLog(m)).filter((e) => e.method === 'PUT' && e.path.startsWith('/v2/a/flt/tampered/manifests/'));
    expect(puts).toEqual([]);
    await expectWhole(`${m.url}/v2/a/flt/clean`, imgs.good!);
    expect(sha((await get(`${m.url}/v2/a/flt/clean/manifests/v1`)).bytes)).toBe(imgs.good!.digest);
  });

  it('a blob served short, with a content-length to match, is a size mismatch: exit 4, nothing referencing it pushed', async () => {
    const { ws, imgs } = await setup({ agent: 'flt/short' });
    const layer = await layerOf('flt/short', imgs.agent!);
    const size = (await get(`${src('flt/short')}/blobs/${layer}`, '*/*')).bytes.length;
    ctx.proxy.hooks.push({ match: blobGet('flt/short', layer), rewrite: (res) => ({ ...res, body: res.body.subarray(0, size - 7) }) });
    const r = await mirror({ ...opts(ws.dir), to: [`${m.host}/b1`] });
    expect(r.exitCode).toBe(4);
    expect(r.copies[0]).toMatchObject({ status: 'failed', exitCode: 4 });
    expect(r.copies[0]!.error).toContain(`blob ${layer} is ${size - 7} bytes, its descriptor says ${size}`);
    expect(await statusesAt(`${m.url}/v2/b1/flt/short`, imgs.agent!)).toEqual([404, 404, 404, 404, 404]);
  });

  it('a blob whose connection drops midway once is fetched again and the copy completes', async () => {
    const { ws, imgs } = await setup({ agent: 'flt/cut-once' });
    const layer = await layerOf('flt/cut-once', imgs.agent!);
    ctx.proxy.hooks.push({ match: once(blobGet('flt/cut-once', layer)), truncateAfter: 20 });
    const r = await mirror({ ...opts(ws.dir), to: [`${m.host}/b2`] });
    expect(r.copies.map((c) => [c.status, c.error])).toEqual([['copied', undefined]]);
    expect(r.exitCode).toBe(0);
    const gets = ctx.proxy.requests.filter((q) => q.method === 'GET' && q.path.endsWith(`/blobs/${layer}`));
    expect(gets.map((q) => q.tampered)).toEqual([true, false]);
    const checked = await expectWhole(`${m.url}/v2/b2/flt/cut-once`, imgs.agent!);
    expect(checked).toContain(layer);
    expect(sha((await get(`${m.url}/v2/b2/flt/cut-once/manifests/v1`)).bytes)).toBe(imgs.agent!.digest);
  });

  it('a blob whose connection always drops midway: three tries, then exit 3 naming the blob; nothing referencing it pushed', async () => {
    const { ws, imgs } = await setup({ agent: 'flt/cut-always' });
    const layer = await layerOf('flt/cut-always', imgs.agent!);
    ctx.proxy.hooks.push({ match: blobGet('flt/cut-always', layer), truncateAfter: 20 });
    const r = await mirror({ ...opts(ws.dir), to: [`${m.host}/b3`] });
    expect(r.exitCode).toBe(3);
    expect(r.copies[0]).toMatchObject({ status: 'failed', exitCode: 3 });
    expect(r.copies[0]!.error).toContain(`reading blob ${layer} failed`);
    expect(ctx.proxy.requests.filter((q) => q.method === 'GET' && q.path.endsWith(`/blobs/${layer}`))).toHaveLength(3);
    expect(await statusesAt(`${m.url}/v2/b3/flt/cut-always`, imgs.agent!)).toEqual([404, 404, 404, 404, 404]);
  });
});

describe('mirror: a fault at the mirror', () => {
  it('an upload whose connection is reset once starts over on a new session and the copy completes', async () => {
    const { ws, imgs } = await setup({ agent: 'flt/reset' }, false);
    const layer = await layerOf('flt/reset', imgs.agent!);
    mp.hooks.push({ match: once(blobPut(layer)), reset: true });
    const before = mp.requests.length;
    const r = await mirror({ ...opts(ws.dir), to: [`${mp.host}/c`] });
    expect(r.copies.map((c) => [c.status, c.error, c.uploaded])).toEqual([['copied', undefined, 6]]);
    expect(r.exitCode).toBe(0);
    const seen = mp.requests.slice(before);
    const puts = seen.filter((q) => blobPut(layer)({ method: q.method, path: q.path, headers: {} }));
    expect(puts.map((q) => q.status)).toEqual([0, 201]);
    // Six blobs, one session each, and one more for the blob that started over.
    expect(seen.filter((q) => q.method === 'POST' && q.path.endsWith('/blobs/uploads/') && q.status === 202)).toHaveLength(7);
    const checked = await expectWhole(`${mreg.url}/v2/c/flt/reset`, imgs.agent!);
    expect([...new Set(checked)].sort()).toEqual([...new Set(uploadedBlobs(seen))].sort());
    expect(sha((await get(`${mreg.url}/v2/c/flt/reset/manifests/v1`)).bytes)).toBe(imgs.agent!.digest);
  });

  it('an interrupted run (one blob never gets in) exits 3; the next run uploads only what is missing and completes', async () => {
    const { ws, imgs } = await setup({ agent: 'flt/resume' }, false);
    const layer = await layerOf('flt/resume', imgs.agent!);
    mp.hooks.push({ match: blobPut(layer), reset: true });
    const mark1 = mp.requests.length;
    const first = await mirror({ ...opts(ws.dir), to: [`${mp.host}/d`] });
    expect(first.exitCode).toBe(3);
    expect(first.copies[0]).toMatchObject({ status: 'failed', exitCode: 3 });
    const base = `${mreg.url}/v2/d/flt/resume`;
    expect(await statusesAt(base, imgs.agent!)).toEqual([404, 404, 404, 404, 404]);
    const one = uploadedBlobs(mp.requests.slice(mark1));
    expect(one).not.toContain(layer);
    expect(one.length).toBeGreaterThan(0);

    mp.hooks.length = 0;
    const mark2 = mp.requests.length;
    const second = await mirror({ ...opts(ws.dir), to: [`${mp.host}/d`] });
    expect(second.copies.map((c) => [c.status, c.error, c.tags])).toEqual([['copied', undefined, ['v1']]]);
    const two = uploadedBlobs(mp.requests.slice(mark2));
    expect(two).toContain(layer);
    expect(two.filter((d) => one.includes(d))).toEqual([]);
    expect(second.copies[0]!.uploaded).toBe(two.length);
    const all = await expectWhole(base, imgs.agent!);
    expect(two.length).toBeLessThan(all.length);
    expect([...one, ...two].sort()).toEqual([...all].sort());

    const third = await mirror({ ...opts(ws.dir), to: [`${mp.host}/d`] });
    expect(third.copies.map((c) => [c.status, c.uploaded])).toEqual([['complete', 0]]);
  });

  it('manifests refused (500) after the blobs went in: exit 3; the next run puts the manifests and uploads no blob', async () => {
    const { ws, imgs } = await setup({ agent: 'flt/refused' }, false);
    mp.hooks.push({ match: (r) => r.method === 'PUT' && r.path.includes('/manifests/'), respond: () => reply(500) });
    const mark1 = mp.requests.length;
    const first = await mirror({ ...opts(ws.dir), to: [`${mp.host}/d2`] });
    expect(first.exitCode).toBe(3);
    expect(first.copies[0]!.error).toMatch(/putting manifest sha256:[0-9a-f]{64} in d2\/flt\/refused failed \(HTTP 500\)/);
    expect(uploadedBlobs(mp.requests.slice(mark1))).toHaveLength(6);

    mp.hooks.length = 0;
    const mark2 = mp.requests.length;
    const second = await mirror({ ...opts(ws.dir), to: [`${mp.host}/d2`] });
    expect(second.copies.map((c) => [c.status, c.blobs, c.uploaded, c.manifests, c.tags])).toEqual([['copied', 0, 0, 4, ['v1']]]);
    expect(uploadedBlobs(mp.requests.slice(mark2))).toEqual([]);
    await expectWhole(`${mreg.url}/v2/d2/flt/refused`, imgs.agent!);
  });

  it('a registry that refuses the one-PUT upload (413) gets every blob in PATCH chunks, and they hash right', async () => {
    const { ws, imgs } = await setup({ agent: 'flt/chunked' }, false);
    const monolithic = (r: ProxyRequest) =>
      r.method === 'PUT' && r.path.includes('/blobs/uploads/') && Number(r.headers['content-length'] ?? '0') > 0;
    mp.hooks.push({ match: monolithic, respond: () => reply(413) });
    const before = mp.requests.length;
    const r = await mirror({ ...opts(ws.dir), to: [`${mp.host}/e`] });
    expect(r.copies.map((c) => [c.status, c.error, c.uploaded])).toEqual([['copied', undefined, 6]]);
    const seen = mp.requests.slice(before);
    expect(seen.filter((q) => q.status === 413)).toHaveLength(6);
    expect(seen.filter((q) => q.method === 'PATCH' && q.status === 202)).toHaveLength(6);
    const checked = await expectWhole(`${mreg.url}/v2/e/flt/chunked`, imgs.agent!);
    expect([...uploadedBlobs(seen)].sort()).toEqual([...checked].sort());
  });
});
