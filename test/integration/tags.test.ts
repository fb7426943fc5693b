/**
 * Tag listing for `track` images against a real registry, through a paginating proxy that splits
 * the list with relative `Link` headers (and directly, as distribution 2.8 serves it: no Link, `n`
 * ignored): the newest candidate in range is pinned whatever page it is on, bookkeeping tags and
 * pre-releases never are, a Link that loops fails clearly, and each repository is listed once.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RegistryError } from '../../src/errors.js';
import { diff } from '../../src/run/diff.js';
import { lock } from '../../src/run/lock.js';
import { startPaginatingProxy, type PaginateOptions, type PaginatingProxy } from '../helpers/paginate.js';
import { MT, pushManifest, pushMultiArch, type MultiArchResult } from '../helpers/push.js';
import { workspace, type SpecImage, type SpecInput, useRegistry } from '../helpers/workspace.js';
import { settledAccessLog } from '../helpers/registry.js';

const ctx = useRegistry();

const SEMVER = [
  '0.9.0',
  'v0.9.1',
  'v0.1.0',
  '1.0.0',
  'v1.0.1',
  '1.1.0',
  'v1.2.0',
  '1.3.0',
  'v1.4.0',
  '1.5.0',
  'v1.6.0',
  '1.7.0',
  'v1.8.0',
  '1.9.0',
  'v1.9.1',
  '1.10.0',
  'v1.10.1',
  '1.10.2-rc.1',
  'v1.11.0-beta.1',
  '2.0.0',
  'v2.0.1',
  '2.1.0-rc.1',
  'v3.0.0',
  '10.0.0',
  'v10.1.0',
];
const HEX = 'c0ffee'.repeat(10) + 'abcd';
const BOOKKEEPING = ['latest', 'nightly', `sha256-${HEX}.sig`, `sha256-${HEX}.att`, `sha256-${HEX}`];

/** Index digest of every tag pushed to team/app (each tag its own index over the same images). */
const digests: Record<string, string> = {};
let other: MultiArchResult;

beforeAll(async () => {
  const t = { url: ctx.reg.url };
  const base = await pushMultiArch(t, 'team/app', 'base', [{ os: 'linux', architecture: 'amd64' }], { salt: 'app' });
  digests.base = base.digest;
  for (const tag of [...SEMVER, ...BOOKKEEPING]) {
    const index = {
      schemaVersion: 2,
      mediaType: MT.ociIndex,
      manifests: base.children,
      annotations: { 'org.opencontainers.image.version': tag },
    };
    digests[tag] = (await pushManifest(t, 'team/app', tag, index, MT.ociIndex)).digest;
  }
  other = await pushMultiArch(t, 'team/other', 'v0.3.0', [{ os: 'linux', architecture: 'amd64' }], { salt: 'other' });
});

let proxy: PaginatingProxy | undefined;
afterEach(async () => {
  await proxy?.stop();
  proxy = undefined;
});

type TrackImage = SpecImage & { prerelease?: boolean };

function spec(host: string): SpecInput {
  const images: Record<string, TrackImage> = {
    stable: { ref: `${host}/team/app`, track: '^1.0.0' },
    pre: { ref: `${host}/team/app`, track: '^1.0.0', prerelease: true },
    two: { ref: `${host}/team/app`, track: '2.x' },
    other: { ref: `${host}/team/other`, track: '*' },
  };
  return { images, fleet: { datacenter: { arch: 'x86_64', hosts: ['web-01'] } } };
}

/** Newest in range, whatever page it is on; pre-releases only when asked for. */
const EXPECTED = { stable: 'v1.10.1', pre: 'v1.11.0-beta.1', two: 'v2.0.1' } as const;

async function lockThrough(host: string) {
  const ws = workspace(spec(host));
  const r = await lock({ cwd: ws.dir, client: { credentials: ctx.anonymous } });
  return { ws, r };
}

function expectNewestPinned(r: Awaited<ReturnType<typeof lock>>): void {
  expect(r.failures).toEqual([]);
  expect(r.exitCode).toBe(0);
  for (const [id, tag] of Object.entries(EXPECTED)) {
    expect(r.lock.images[id]).toMatchObject({ tag, digest: digests[tag] });
  }
  expect(r.lock.images.other).toMatchObject({ tag: 'v0.3.0', digest: other.digest });
}

async function withProxy(opts: PaginateOptions): Promise<PaginatingProxy> {
  proxy = await startPaginatingProxy(ctx.reg.url, opts);
  return proxy;
}

describe('a paginating registry (relative Link headers)', () => {
  it('the proxy pages like the spec: sorted, n and last honoured, a relative Link while more remain', async () => {
    const p = await withProxy({ pageSize: 4 });
    const res = await fetch(`${p.url}/v2/team/app/tags/list?n=2&last=1.9.0`);
    expect(res.headers.get('link')).toBe('</v2/team/app/tags/list?last=2.0.0&n=2>; rel="next"');
    expect(await res.json()).toEqual({ name: 'team/app', tags: ['10.0.0', '2.0.0'] });
    const end = await fetch(`${p.url}/v2/team/app/tags/list?last=v3`);
    expect(end.headers.get('link')).toBeNull();
    expect(((await end.json()) as { tags: string[] }).tags).toEqual(['v3.0.0']);
  });

  it('pins the newest candidate in range across pages of 4, listing each repository once', async () => {
    const p = await withProxy({ pageSize: 4 });
    const { ws, r } = await lockThrough(p.host);
    expectNewestPinned(r);
    expect(ws.lockText()).toBe(r.text);

    // Three images share team/app: ONE walk through its pages, each page requested once.
    const all = [...SEMVER, ...BOOKKEEPING, 'base'];
    const pages = p.tagListRequests('team/app');
    expect(pages).toHaveLength(Math.ceil(all.length / 4));
    expect(pages.filter((q) => !q.path.includes('last='))).toHaveLength(1);
    expect(new Set(pages.map((q) => q.path)).size).toBe(pages.length);
    expect(pages.flatMap((q) => q.tags ?? [])).toEqual([...all].sort());
    expect(pages.every((q) => (q.tags ?? []).length <= 4)).toBe(true);
    // The winner is on a late page: only following every Link finds it.
    const winnerPage = pages.findIndex((q) => q.tags?.includes('v1.10.1'));
    expect(winnerPage).toBeGreaterThan(pages.length / 2);
    expect(pages.slice(0, -1).every((q) => q.link?.startsWith('</v2/team/app/tags/list?last='))).toBe(true);
    expect(pages.at(-1)!.link).toBeUndefined();
    expect(p.tagListRequests('team/other')).toHaveLength(1);
    // Nothing else went to the tag list, and manifests were fetched with the client's Accept header.
    const manifests = p.requests.filter((q) => q.path.startsWith('/v2/team/app/manifests/'));
    expect(manifests.map((q) => q.path.slice('/v2/team/app/manifests/'.length))).toEqual(expect.arrayContaining(Object.values(EXPECTED)));
    expect(manifests.every((q) => q.headers.accept?.includes(MT.ociIndex))).toBe(true);
    expect(manifests.some((q) => /latest|nightly|sha256-|1\.10\.2-rc|2\.1\.0-rc|v3\.0\.0/.test(q.path))).toBe(false);
  });

  it('a registry that ignores n (pages of 3 whatever is asked) gives the same pins', async () => {
    const p = await withProxy({ pageSize: 3, ignoreN: true });
    const direct = await fetch(`${p.url}/v2/team/app/tags/list?n=1`);
    expect(((await direct.json()) as { tags: string[] }).tags).toHaveLength(3);
    const before = p.tagListRequests('team/app').length;
    const { r } = await lockThrough(p.host);
    expectNewestPinned(r);
    const pages = p.tagListRequests('team/app').slice(before);
    expect(pages).toHaveLength(Math.ceil((SEMVER.length + BOOKKEEPING.length + 1) / 3));
    expect(pages[0]!.path).toBe('/v2/team/app/tags/list?n=1000');
    expect(pages.every((q) => (q.tags ?? []).length <= 3)).toBe(true);
  });

  it('a Link that loops back to a page already read fails at once with exit 3 naming the registry, and writes nothing', async () => {
    const p = await withProxy({ pageSize: 4, loopLink: true });
    const ws = workspace({
      images: { stable: { ref: `${p.host}/team/app`, track: '^1.0.0' } },
      fleet: { datacenter: { arch: 'x86_64', hosts: ['web-01'] } },
    });
    const r = await lock({ cwd: ws.dir, client: { credentials: ctx.anonymous } });
    expect(r.exitCode).toBe(3);
    expect(r.failures).toHaveLength(1);
    const error = r.failures[0]!.error;
    expect(error).toBeInstanceOf(RegistryError);
    expect((error as RegistryError).registry).toBe(p.host);
    expect(error.message).toContain(`registry ${p.host}`);
    expect(error.message).toMatch(/the tag list of team\/app loops \(its Link header points back to \/v2\/team\/app\/tags\/list\?n=1000\)/);
    expect(p.tagListRequests('team/app')).toHaveLength(1);
    expect(ws.lockExists()).toBe(false);
  });

  it('a Link that never ends stops at the page cap with exit 3', async () => {
    const p = await withProxy({ pageSize: 4, endlessLink: true });
    const ws = workspace({ images: { stable: { ref: `${p.host}/team/app`, track: '^1.0.0' } } });
    const r = await lock({ cwd: ws.dir, client: { credentials: ctx.anonymous } });
    expect(r.exitCode).toBe(3);
    expect(r.failures[0]!.error.message).toMatch(/tag list of team\/app has more than 1000 pages; giving up/);
    expect(p.tagListRequests('team/app')).toHaveLength(1000);
    expect(ws.lockExists()).toBe(false);
  });
});

describe('distribution 2.8 directly (no Link, n ignored)', () => {
  it('serves every tag in one answer without a Link, even when asked for 2', async () => {
    const res = await fetch(`${ctx.reg.url}/v2/team/app/tags/list?n=2`);
    expect(res.headers.get('link')).toBeNull();
    const tags = ((await res.json()) as { tags: string[] }).tags;
    expect([...tags].sort()).toEqual([...SEMVER, ...BOOKKEEPING, 'base'].sort());
  });

  it('pins the same tags, with one tag list request per repository', async () => {
    const before = (await settledAccessLog(ctx.reg)).length;
    const { r } = await lockThrough(ctx.reg.host);
    expectNewestPinned(r);
    const lists = (await settledAccessLog(ctx.reg)).slice(before).filter((e) => e.method === 'GET' && e.path.includes('/tags/list'));
    expect(lists.map((e) => e.path).sort()).toEqual(['/v2/team/app/tags/list?n=1000', '/v2/team/other/tags/list?n=1000']);
  });
});

describe('one version spelled with and without v', () => {
  it('is one release: the pin stays, and nothing is reported as passed over', async () => {
    const t = { url: ctx.reg.url };
    const v = await pushMultiArch(t, 'team/dup', 'v1.0.0', [{ os: 'linux', architecture: 'amd64' }], { salt: 'dup-v' });
    const ws = workspace({
      images: { dup: { ref: `${ctx.reg.host}/team/dup`, track: '^1.0.0' } },
      fleet: { datacenter: { arch: 'x86_64', hosts: ['web-01'] } },
    });
    expect((await lock({ cwd: ws.dir, client: { credentials: ctx.anonymous } })).lock.images.dup).toMatchObject({
      tag: 'v1.0.0',
      digest: v.digest,
    });
    await pushMultiArch(t, 'team/dup', '1.0.0', [{ os: 'linux', architecture: 'amd64' }], { salt: 'dup-plain' });
    const d = await diff({ cwd: ws.dir, client: { credentials: ctx.anonymous } });
    expect(d.exitCode).toBe(0);
    expect(d.changes).toEqual([]);
    expect(d.passedOver).toEqual([]);
    // A genuinely newer release under a cadence that skips it IS mentioned.
    await pushMultiArch(t, 'team/dup', '1.0.1', [{ os: 'linux', architecture: 'amd64' }], { salt: 'dup-next' });
    ws.writeSpec({
      images: { dup: { ref: `${ctx.reg.host}/team/dup`, track: '^1.0.0', cadence: 'minor' } },
      fleet: { datacenter: { arch: 'x86_64', hosts: ['web-01'] } },
    });
    const skipped = await diff({ cwd: ws.dir, client: { credentials: ctx.anonymous } });
    expect(skipped.exitCode).toBe(0);
    expect(skipped.passedOver).toEqual([{ image: 'dup', tag: '1.0.1', pinned: 'v1.0.0', cadence: 'minor' }]);
  });
});
