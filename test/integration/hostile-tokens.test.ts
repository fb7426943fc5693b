/**
 * Tokens and credentials against hostile registries and token servers (issue 10, items 0 and 1):
 * a token is only ever sent to the registry (scheme, host, port) it was obtained for, with the
 * credentials it was obtained with; no credential crosses a redirect to another origin.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { pushMultiArch, tokenPushTarget } from '../helpers/push.js';
import { startProxy, type ProxiedResponse, type TamperingProxy } from '../helpers/proxy.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { startTokenServer, type TokenServer } from '../helpers/token-server.js';
import { cleanupWorkspaces, emptyDockerConfigDir, workspace, type SpecInput } from '../helpers/workspace.js';

const FLEET: SpecInput['fleet'] = { datacenter: { arch: 'x86_64', hosts: ['web-01'] } };
const AMD64 = [{ os: 'linux', architecture: 'amd64' }];

/** The claims of a Bearer JWT the test token server minted. */
function claims(authorization: string | undefined): { sub?: string; access?: Array<{ name: string }> } {
  const jwt = authorization?.replace(/^Bearer /, '') ?? '';
  return JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8') || '{}') as { sub?: string };
}

/**
 * `lg-pins lock` as a user runs it, with credentials for exactly these registries in
 * LG_PINS_REGISTRY_AUTH (Docker's config.json shape), and no other credential source.
 */
function lockWith(dir: string, auths: Record<string, { user?: string; pass?: string; identitytoken?: string }>) {
  const empty = emptyDockerConfigDir();
  const entries = Object.fromEntries(
    Object.entries(auths).map(([host, a]) => [
      host,
      {
        ...(a.user !== undefined ? { auth: Buffer.from(`${a.user}:${a.pass ?? ''}`).toString('base64') } : {}),
        ...(a.identitytoken ? { identitytoken: a.identitytoken } : {}),
      },
    ]),
  );
  return runCli(['lock', '--json'], dir, {
    LG_PINS_REGISTRY_AUTH: JSON.stringify({ auths: entries }),
    DOCKER_CONFIG: empty,
    XDG_CONFIG_HOME: empty,
    XDG_RUNTIME_DIR: empty,
  });
}
const failures = (stdout: string) => (JSON.parse(stdout) as { failures: Array<{ image: string; message: string }> }).failures;

afterAll(() => cleanupWorkspaces());

describe('two registries sharing one token server', () => {
  let ts: TokenServer;
  let first: TestRegistry;
  let second: TestRegistry;
  let firstProxy: TamperingProxy;
  let secondProxy: TamperingProxy;
  let hostile: TamperingProxy;
  beforeAll(async () => {
    ts = await startTokenServer({ users: { alice: 'alice-pw', bob: 'bob-pw' }, authorize: (subject, r) => (subject ? r.actions : []) });
    first = await startRegistry({ auth: { kind: 'token', tokenServer: ts } });
    second = await startRegistry({ auth: { kind: 'token', tokenServer: ts } });
    await pushMultiArch(await tokenPushTarget(first.url, ts, 'team/app', { user: 'alice', pass: 'alice-pw' }), 'team/app', 'v1', AMD64, {
      salt: 'first',
    });
    await pushMultiArch(await tokenPushTarget(second.url, ts, 'team/app', { user: 'bob', pass: 'bob-pw' }), 'team/app', 'v1', AMD64, {
      salt: 'second',
    });
    firstProxy = await startProxy(first.url);
    secondProxy = await startProxy(second.url);
    hostile = await startProxy(first.url);
  });
  afterAll(async () => {
    await Promise.all([firstProxy?.stop(), secondProxy?.stop(), hostile?.stop()]);
    await Promise.all([first?.stop(), second?.stop()]);
    await ts?.stop();
  });

  it('each registry gets tokens made with its own credentials, for the same realm, service and scope', async () => {
    const ws = workspace({
      images: { a: { ref: `${firstProxy.host}/team/app`, tag: 'v1' }, b: { ref: `${secondProxy.host}/team/app`, tag: 'v1' } },
      fleet: FLEET,
    });
    const r = await lockWith(ws.dir, {
      [firstProxy.host]: { user: 'alice', pass: 'alice-pw' },
      [secondProxy.host]: { user: 'bob', pass: 'bob-pw' },
    });
    expect(r.code).toBe(0);
    const subjects = (p: TamperingProxy) => new Set(p.requests.filter((x) => x.authorization).map((x) => claims(x.authorization).sub));
    expect(subjects(firstProxy)).toEqual(new Set(['alice']));
    expect(subjects(secondProxy)).toEqual(new Set(['bob']));
  });

  it("a hostile registry that names a private registry's realm, service and scope never receives its token", async () => {
    // The hostile registry answers with the private registry's challenge, a little late so that the
    // private registry's token is already cached when it asks.
    hostile.hooks.push({
      match: (req) => req.path.startsWith('/v2/evil/'),
      delayMs: 300,
      respond: (req): ProxiedResponse =>
        req.headers.authorization
          ? { status: 404, headers: { 'content-type': 'application/json' }, body: Buffer.from('{"errors":[{"code":"MANIFEST_UNKNOWN"}]}') }
          : {
              status: 401,
              headers: {
                'www-authenticate': `Bearer realm="${ts.realm}",service="${ts.service}",scope="repository:team/app:pull"`,
                'content-type': 'application/json',
              },
              body: Buffer.from('{"errors":[{"code":"UNAUTHORIZED"}]}'),
            },
    });
    const ws = workspace({
      images: { private: { ref: `${firstProxy.host}/team/app`, tag: 'v1' }, evil: { ref: `${hostile.host}/evil/app`, tag: 'v1' } },
      fleet: FLEET,
    });
    const r = await lockWith(ws.dir, { [firstProxy.host]: { user: 'alice', pass: 'alice-pw' } });
    expect(r.code).toBe(3);
    expect(failures(r.stdout).map((f) => f.image)).toEqual(['evil']);
    expect(ws.lockText()).toMatch(/^ {2}private:/m);
    expect(hostile.requests.some((x) => x.path.startsWith('/v2/evil/'))).toBe(true);
    // It has no credentials of its own, so its token request was anonymous (and refused by this
    // token server): whatever reached it, none of it is the private registry's token.
    for (const x of hostile.requests) expect(claims(x.authorization).sub ?? '').not.toBe('alice');
    const privateTokens = new Set(firstProxy.requests.map((x) => x.authorization).filter(Boolean));
    expect(hostile.requests.filter((x) => x.authorization && privateTokens.has(x.authorization))).toEqual([]);
  });
});

describe('token servers that redirect', () => {
  let ts: TokenServer;
  let reg: TestRegistry;
  let redirector: TamperingProxy;
  let elsewhere: TamperingProxy;
  beforeAll(async () => {
    ts = await startTokenServer({ users: { carol: 'carol-pw' }, refreshTokens: { 'refresh-secret-4711': 'carol' } });
    elsewhere = await startProxy(new URL(ts.realm).origin);
    redirector = await startProxy(new URL(ts.realm).origin);
    // The registry's realm is the redirector; its hooks decide what the token endpoint does.
    reg = await startRegistry({ auth: { kind: 'token', tokenServer: { ...ts, realm: `${redirector.url}/token` } } });
    await pushMultiArch(await tokenPushTarget(reg.url, ts, 'team/app', { user: 'carol', pass: 'carol-pw' }), 'team/app', 'v1', AMD64, {
      salt: 'redirect',
    });
  });
  afterAll(async () => {
    await Promise.all([redirector?.stop(), elsewhere?.stop()]);
    await reg?.stop();
    await ts?.stop();
  });

  const redirectTo = (status: number, method: string) => {
    redirector.hooks.length = 0;
    elsewhere.requests.length = 0;
    redirector.hooks.push({
      match: (req) => req.method === method && req.path.startsWith('/token'),
      respond: () => ({ status, headers: { location: `${elsewhere.url}/token` }, body: Buffer.alloc(0) }),
    });
  };

  it.each([307, 308, 302])(
    'an identity-token (OAuth2 refresh) exchange answered with %i to another host is exit 3; the refresh token never leaves',
    async (status) => {
      redirectTo(status, 'POST');
      const ws = workspace({ images: { app: { ref: `${reg.host}/team/app`, tag: 'v1' } }, fleet: FLEET });
      const r = await lockWith(ws.dir, { [reg.host]: { identitytoken: 'refresh-secret-4711' } });
      expect(r.code).toBe(3);
      expect(failures(r.stdout)[0]!.message).toMatch(/token server http:\/\/127\.0\.0\.1:\d+ redirected to another origin/);
      expect(`${r.stdout}${r.stderr}`).not.toContain('refresh-secret-4711');
      expect(elsewhere.requests).toEqual([]);
    },
  );

  it('a Basic-authenticated token request redirected to another host is exit 3; the other host is never asked', async () => {
    redirectTo(302, 'GET');
    const ws = workspace({ images: { app: { ref: `${reg.host}/team/app`, tag: 'v1' } }, fleet: FLEET });
    const r = await lockWith(ws.dir, { [reg.host]: { user: 'carol', pass: 'carol-pw' } });
    expect(r.code).toBe(3);
    expect(failures(r.stdout)[0]!.message).toContain('redirected to another origin');
    expect(elsewhere.requests).toEqual([]);
  });

  it('a redirect within the token server itself is followed', async () => {
    redirector.hooks.length = 0;
    redirector.hooks.push({
      match: (req) => req.method === 'POST' && req.path === '/token',
      respond: () => ({ status: 307, headers: { location: '/token?moved=1' }, body: Buffer.alloc(0) }),
    });
    const ws = workspace({ images: { app: { ref: `${reg.host}/team/app`, tag: 'v1' } }, fleet: FLEET });
    const r = await lockWith(ws.dir, { [reg.host]: { identitytoken: 'refresh-secret-4711' } });
    expect(r.code).toBe(0);
    expect(
      ts.requests.some((x) => x.method === 'POST' && x.url.includes('moved=1') && x.form?.refresh_token === 'refresh-secret-4711'),
    ).toBe(true);
  });
});
