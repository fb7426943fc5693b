/**
 * Redirects (issue 4 §3): a registry that answers manifest and blob GETs with a 307 to another
 * origin (as registries do to a CDN or blob store) is followed, and `Authorization` is dropped
 * whenever the origin changes; a same-origin redirect keeps it; a chain of more than 5 is refused.
 *
 * The front proxy sits before a real htpasswd or token registry, lets the registry check the
 * credentials, and turns its 200s into 307s to a second proxy on another origin
 * (`http://localhost:<port>` vs the front's `http://127.0.0.1:<port>`). That second proxy reads
 * the registry with access of its own, as a signed-URL blob store would, and records whatever
 * `Authorization` lg-pins sent it.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RegistryError } from '../../src/errors.js';
import { credentialStore } from '../../src/registry/credentials.js';
import { lock } from '../../src/run/lock.js';
import { basicAuth, fetchToken, pushMultiArch, pushPlatformImage, tokenPushTarget, type PushTarget } from '../helpers/push.js';
import { reply, startProxy, type ProxyHook, type TamperingProxy } from '../helpers/proxy.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { startTokenServer, type TokenServer } from '../helpers/token-server.js';
import { cleanupWorkspaces, dockerConfigDir, emptyDockerConfigDir, workspace, type SpecInput } from '../helpers/workspace.js';

const USER = 'redirect-bot';
const PASS = 'Redirect-S3cret-pw';
const AMD64 = { os: 'linux', architecture: 'amd64' };
const ARM64 = { os: 'linux', architecture: 'arm64' };
const DATACENTER = { datacenter: { arch: 'x86_64', hosts: ['web-01'] } };
const FAST = { backoffMs: 10, timeoutMs: 5000 };
const CONTENT = /^\/v2\/.+\/(manifests|blobs)\/[^?]+$/;

afterAll(() => cleanupWorkspaces());

/** Registry 200s for manifest and blob GETs become a 307 to `to(path)`. */
function redirectContent(to: (path: string) => string): ProxyHook {
  return {
    match: (r) => r.method === 'GET' && CONTENT.test(r.path),
    rewrite: (res, req) => (res.status === 200 ? reply(307, { location: to(req.path) }) : res),
  };
}

/** Push a multi-arch tag and a single-platform tag (whose config blob lg-pins must fetch). */
async function pushContent(t: PushTarget, repo: string) {
  const multi = await pushMultiArch(t, repo, 'multi', [AMD64, ARM64], { salt: `${repo}-multi` });
  const single = await pushPlatformImage(t, repo, AMD64, { salt: `${repo}-single`, tag: 'single' });
  return { multi, single };
}

function specFor(host: string, repo: string): SpecInput {
  return {
    images: { multi: { ref: `${host}/${repo}`, tag: 'multi' }, single: { ref: `${host}/${repo}`, tag: 'single' } },
    fleet: DATACENTER,
  };
}

describe('htpasswd registry behind a redirecting front', () => {
  let reg: TestRegistry;
  let front: TamperingProxy;
  let cdn: TamperingProxy;
  let pushed: Awaited<ReturnType<typeof pushContent>>;
  const credentials = () => credentialStore({ DOCKER_CONFIG: dockerConfigDir({ [front.host]: { user: USER, pass: PASS } }) });

  beforeAll(async () => {
    reg = await startRegistry({ auth: { kind: 'htpasswd', users: { [USER]: PASS } } });
    front = await startProxy(reg.url);
    cdn = await startProxy(reg.url, { upstreamHeaders: { authorization: basicAuth(USER, PASS) } });
    pushed = await pushContent({ url: reg.url, authorization: basicAuth(USER, PASS) }, 'private/app');
  });
  afterEach(() => {
    front.hooks.length = 0;
  });
  afterAll(async () => {
    await front?.stop();
    await cdn?.stop();
    await reg?.stop();
  });

  it('follows a 307 to another origin, which never sees Authorization while the registry does', async () => {
    front.hooks.push(redirectContent((path) => `http://localhost:${cdn.port}${path}`));
    const ws = workspace(specFor(front.host, 'private/app'));
    const frontMark = front.requests.length;
    const cdnMark = cdn.requests.length;
    const r = await lock({ cwd: ws.dir, client: { credentials: credentials(), policy: FAST } });
    expect(r.failures).toEqual([]);
    expect(r.lock.images.multi!.digest).toBe(pushed.multi.digest);
    expect(r.lock.images.single!.digest).toBe(pushed.single.digest);

    const atFront = front.requests.slice(frontMark);
    const atCdn = cdn.requests.slice(cdnMark);
    const redirected = atFront.filter((q) => q.status === 307);
    // Both tag manifests and the single-platform image's config blob came from the second origin.
    expect(redirected.map((q) => q.path.replace(/sha256:[0-9a-f]{64}/, 'DIGEST')).sort()).toEqual([
      '/v2/private/app/blobs/DIGEST',
      '/v2/private/app/manifests/multi',
      '/v2/private/app/manifests/single',
    ]);
    expect(redirected.every((q) => q.authorization === basicAuth(USER, PASS))).toBe(true);
    expect(atCdn.map((q) => q.path).sort()).toEqual(redirected.map((q) => q.path).sort());
    expect(atCdn.every((q) => q.status === 200)).toBe(true);
    expect(atCdn.filter((q) => q.authorization !== undefined)).toEqual([]);
  });

  it('keeps Authorization on a same-origin redirect', async () => {
    front.hooks.push(redirectContent((path) => `${path}?same-origin=1`));
    const ws = workspace(specFor(front.host, 'private/app'));
    const mark = front.requests.length;
    const r = await lock({ cwd: ws.dir, client: { credentials: credentials(), policy: FAST } });
    expect(r.failures).toEqual([]);
    expect(r.lock.images.single!.digest).toBe(pushed.single.digest);
    const followed = front.requests.slice(mark).filter((q) => q.path.endsWith('?same-origin=1'));
    expect(followed.length).toBeGreaterThanOrEqual(3);
    // Had the header been dropped, the htpasswd registry would have answered 401.
    for (const q of followed) {
      expect(q.authorization).toBe(basicAuth(USER, PASS));
      expect(q.status).toBe(200);
    }
  });
});

describe('token registry behind a redirecting front', () => {
  const ALICE = 'alice';
  const ALICE_PASS = 'Alice-T0ken-Pass';
  let ts: TokenServer;
  let reg: TestRegistry;
  let front: TamperingProxy;
  let cdn: TamperingProxy;
  let pushed: Awaited<ReturnType<typeof pushContent>>;

  beforeAll(async () => {
    ts = await startTokenServer({ users: { [ALICE]: ALICE_PASS } });
    reg = await startRegistry({ auth: { kind: 'token', tokenServer: ts } });
    pushed = await pushContent(await tokenPushTarget(reg.url, ts, 'team/app', { user: ALICE, pass: ALICE_PASS }), 'team/app');
    const cdnToken = await fetchToken(ts.realm, ts.service, ['repository:team/app:pull'], { user: ALICE, pass: ALICE_PASS });
    front = await startProxy(reg.url);
    cdn = await startProxy(reg.url, { upstreamHeaders: { authorization: `Bearer ${cdnToken}` } });
  });
  afterAll(async () => {
    await front?.stop();
    await cdn?.stop();
    await reg?.stop();
    await ts?.stop();
  });

  it('sends the bearer token to the registry only, never to the redirect target', async () => {
    front.hooks.push(redirectContent((path) => `http://localhost:${cdn.port}${path}`));
    const ws = workspace(specFor(front.host, 'team/app'));
    const credentials = credentialStore({ DOCKER_CONFIG: dockerConfigDir({ [front.host]: { user: ALICE, pass: ALICE_PASS } }) });
    const r = await lock({ cwd: ws.dir, client: { credentials, policy: FAST } });
    expect(r.failures).toEqual([]);
    expect(r.lock.images.multi!.digest).toBe(pushed.multi.digest);
    expect(r.lock.images.single!.digest).toBe(pushed.single.digest);
    const redirected = front.requests.filter((q) => q.status === 307);
    expect(redirected).toHaveLength(3);
    expect(redirected.every((q) => q.authorization?.startsWith('Bearer ey'))).toBe(true);
    expect(cdn.requests).toHaveLength(redirected.length);
    expect(cdn.requests.filter((q) => q.authorization !== undefined)).toEqual([]);
    // The password went to the token realm and nowhere else.
    expect(ts.requests.some((q) => q.authorization === basicAuth(ALICE, ALICE_PASS))).toBe(true);
    expect(front.requests.some((q) => q.authorization?.startsWith('Basic'))).toBe(false);
  });
});

describe('redirect chains', () => {
  let reg: TestRegistry;
  let front: TamperingProxy;
  beforeAll(async () => {
    reg = await startRegistry();
    front = await startProxy(reg.url);
    for (const repo of ['chain/five', 'chain/six']) await pushMultiArch({ url: reg.url }, repo, 'v1', [AMD64], { salt: repo });
  });
  afterAll(async () => {
    await front?.stop();
    await reg?.stop();
  });

  /** `/v2/<repo>/manifests/v1?hop=N` → `?hop=N+1`, while N < hops. */
  const chain = (repo: string, hops: number): ProxyHook => {
    const base = `/v2/${repo}/manifests/v1`;
    const hop = (path: string) => Number(new URL(path, 'http://x').searchParams.get('hop') ?? 0);
    return {
      match: (r) => r.method === 'GET' && r.path.startsWith(base) && hop(r.path) < hops,
      respond: (r) => reply(307, { location: `${base}?hop=${hop(r.path) + 1}` }),
    };
  };

  it('follows 5 redirects, and refuses a 6th with exit 3 (not retried)', async () => {
    front.hooks.push(chain('chain/five', 5), chain('chain/six', 6));
    const ws = workspace({
      images: { five: { ref: `${front.host}/chain/five`, tag: 'v1' }, six: { ref: `${front.host}/chain/six`, tag: 'v1' } },
      fleet: DATACENTER,
    });
    const r = await lock({
      cwd: ws.dir,
      client: { credentials: credentialStore({ DOCKER_CONFIG: emptyDockerConfigDir() }), policy: FAST },
    });
    expect(r.exitCode).toBe(3);
    expect(Object.keys(r.lock.images)).toEqual(['five']);
    expect(r.failures.map((f) => f.image)).toEqual(['six']);
    const err = r.failures[0]!.error;
    expect(err).toBeInstanceOf(RegistryError);
    expect(err.message).toContain(front.host);
    expect(err.message).toContain('more than 5 redirects');
    const six = front.requests.filter((q) => q.path.startsWith('/v2/chain/six/manifests/v1'));
    expect(six.map((q) => q.status)).toEqual([307, 307, 307, 307, 307, 307]);
    const five = front.requests.filter((q) => q.path.startsWith('/v2/chain/five/manifests/v1'));
    expect(five.map((q) => q.status)).toEqual([307, 307, 307, 307, 307, 200]);
  });
});
