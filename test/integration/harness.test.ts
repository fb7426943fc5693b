/**
 * Proves the integration harness against a REAL distribution 2.8 registry: pushing indexes and
 * manifest lists, reading them back with the four-type Accept header, htpasswd and token auth,
 * and the access log.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { startTokenServer, type TokenServer } from '../helpers/token-server.js';
import {
  ACCEPT_ALL,
  basicAuth,
  deleteManifest,
  fetchToken,
  MT,
  pushMultiArch,
  pushPlatformImage,
  sha256,
  tokenPushTarget,
} from '../helpers/push.js';

const PLATFORMS = [
  { os: 'linux', architecture: 'amd64' },
  { os: 'linux', architecture: 'arm64' },
  { os: 'linux', architecture: 'arm', variant: 'v7' },
];

async function getManifest(url: string, authorization?: string): Promise<{ status: number; bytes: Uint8Array; headers: Headers }> {
  const headers: Record<string, string> = { Accept: ACCEPT_ALL };
  if (authorization !== undefined) headers.Authorization = authorization;
  const res = await fetch(url, { headers });
  return { status: res.status, bytes: new Uint8Array(await res.arrayBuffer()), headers: res.headers };
}

describe('plain registry', () => {
  let reg: TestRegistry;
  beforeAll(async () => {
    reg = await startRegistry();
  });
  afterAll(async () => {
    await reg?.stop();
  });

  it('serves a pushed OCI index with attestations byte-for-byte', async () => {
    const t = { url: reg.url };
    const pushed = await pushMultiArch(t, 'team/app', '1.0.0', PLATFORMS, { attestations: true, salt: '1.0.0' });
    expect(pushed.mediaType).toBe(MT.ociIndex);
    expect(pushed.children).toHaveLength(6);
    const att = pushed.children[3];
    expect(att?.platform).toEqual({ os: 'unknown', architecture: 'unknown' });
    expect(att?.annotations?.['vnd.docker.reference.type']).toBe('attestation-manifest');
    expect(att?.annotations?.['vnd.docker.reference.digest']).toBe(pushed.children[0]?.digest);

    const got = await getManifest(`${reg.url}/v2/team/app/manifests/1.0.0`);
    expect(got.status).toBe(200);
    expect(got.headers.get('content-type')).toBe(MT.ociIndex);
    expect(got.headers.get('docker-content-digest')).toBe(sha256(got.bytes));
    expect(sha256(got.bytes)).toBe(pushed.digest);
    expect(Buffer.from(got.bytes).equals(Buffer.from(pushed.bytes))).toBe(true);

    const child = await getManifest(`${reg.url}/v2/team/app/manifests/${pushed.children[2]?.digest ?? ''}`);
    expect(child.status).toBe(200);
    const config = (JSON.parse(Buffer.from(child.bytes).toString('utf8')) as { config: { digest: string } }).config;
    const blob = await fetch(`${reg.url}/v2/team/app/blobs/${config.digest}`);
    expect(await blob.json()).toMatchObject({ os: 'linux', architecture: 'arm', variant: 'v7' });
  });

  it('serves a pushed Docker manifest list and a nested index', async () => {
    const t = { url: reg.url };
    const list = await pushMultiArch(t, 'team/legacy', 'v2', PLATFORMS.slice(0, 2), { format: 'docker' });
    const got = await getManifest(`${reg.url}/v2/team/legacy/manifests/v2`);
    expect(got.status).toBe(200);
    expect(got.headers.get('content-type')).toBe(MT.dockerList);
    expect(got.headers.get('docker-content-digest')).toBe(sha256(got.bytes));
    expect(sha256(got.bytes)).toBe(list.digest);
    expect(list.children.map((c) => c.mediaType)).toEqual([MT.dockerManifest, MT.dockerManifest]);

    const nested = await pushMultiArch(t, 'team/nested', 'n1', PLATFORMS, { nested: true, attestations: true });
    expect(nested.images.map((d) => d.platform?.architecture)).toEqual(['amd64', 'arm64', 'arm']);
    expect(nested.children.at(-1)?.mediaType).toBe(MT.ociIndex);
    expect(nested.nested?.children).toHaveLength(4);
    const inner = await getManifest(`${reg.url}/v2/team/nested/manifests/${nested.nested?.digest ?? ''}`);
    expect(inner.headers.get('docker-content-digest')).toBe(sha256(inner.bytes));
  });

  it('salts content, tags single images and deletes by digest', async () => {
    const t = { url: reg.url };
    const a = await pushPlatformImage(t, 'team/single', PLATFORMS[0]!, { salt: 'a', tag: 'a' });
    const b = await pushPlatformImage(t, 'team/single', PLATFORMS[0]!, { salt: 'b', tag: 'b' });
    expect(a.digest).not.toBe(b.digest);
    expect((await getManifest(`${reg.url}/v2/team/single/manifests/a`)).status).toBe(200);
    await deleteManifest(t, 'team/single', a.digest);
    expect((await getManifest(`${reg.url}/v2/team/single/manifests/a`)).status).toBe(404);
    await expect(deleteManifest(t, 'team/single', 'b')).rejects.toThrow(/400/);
  });

  it('records manifest GETs in the access log', async () => {
    await getManifest(`${reg.url}/v2/team/app/manifests/1.0.0`);
    const line = await reg.waitForLog(/"GET \/v2\/team\/app\/manifests\/1\.0\.0 HTTP\/1\.1" 200 /);
    expect(line).toContain('127.0.0.1');
    expect(reg.accessLog()).toContain(line);
    const gets = reg.accessEntries().filter((e) => e.method === 'GET' && e.path === '/v2/team/app/manifests/1.0.0');
    expect(gets.length).toBeGreaterThanOrEqual(2);
  });
});

describe('htpasswd registry', () => {
  let reg: TestRegistry;
  beforeAll(async () => {
    reg = await startRegistry({ auth: { kind: 'htpasswd', users: { user: 'pass' } } });
  });
  afterAll(async () => {
    await reg?.stop();
  });

  it('answers 401 without and 200 with Basic auth', async () => {
    const anon = await fetch(`${reg.url}/v2/`);
    expect(anon.status).toBe(401);
    expect(anon.headers.get('www-authenticate')).toBe('Basic realm="lg-pins-test"');
    const wrong = await fetch(`${reg.url}/v2/`, { headers: { Authorization: basicAuth('user', 'nope') } });
    expect(wrong.status).toBe(401);
    const ok = await fetch(`${reg.url}/v2/`, { headers: { Authorization: basicAuth('user', 'pass') } });
    expect(ok.status).toBe(200);

    const t = { url: reg.url, authorization: basicAuth('user', 'pass') };
    const pushed = await pushMultiArch(t, 'private/app', '2.0', PLATFORMS.slice(0, 2));
    expect((await getManifest(`${reg.url}/v2/private/app/manifests/2.0`)).status).toBe(401);
    const got = await getManifest(`${reg.url}/v2/private/app/manifests/2.0`, t.authorization);
    expect(got.status).toBe(200);
    expect(got.headers.get('docker-content-digest')).toBe(pushed.digest);
  });
});

describe('token registry', () => {
  let ts: TokenServer;
  let reg: TestRegistry;
  beforeAll(async () => {
    ts = await startTokenServer({ users: { alice: 'secret' }, field: 'both', expiresIn: 300 });
    reg = await startRegistry({ auth: { kind: 'token', tokenServer: ts } });
  });
  afterAll(async () => {
    await reg?.stop();
    await ts?.stop();
  });

  it('challenges with a scoped Bearer realm and accepts a token from the token server', async () => {
    const t = await tokenPushTarget(reg.url, ts, 'ns/app', { user: 'alice', pass: 'secret' });
    const pushed = await pushMultiArch(t, 'ns/app', '3.1', PLATFORMS.slice(0, 2), { format: 'docker' });

    const ping = await fetch(`${reg.url}/v2/`);
    expect(ping.status).toBe(401);
    expect(ping.headers.get('www-authenticate')).not.toContain('scope=');

    const anon = await getManifest(`${reg.url}/v2/ns/app/manifests/3.1`);
    expect(anon.status).toBe(401);
    const challenge = anon.headers.get('www-authenticate') ?? '';
    expect(challenge).toBe(`Bearer realm="${ts.realm}",service="${ts.service}",scope="repository:ns/app:pull"`);

    await expect(fetchToken(ts.realm, ts.service, ['repository:ns/app:pull'])).rejects.toThrow(/401/);
    const token = await fetchToken(ts.realm, ts.service, ['repository:ns/app:pull'], { user: 'alice', pass: 'secret' });
    const last = ts.requests.at(-1);
    expect(last?.url).toContain('scope=repository%3Ans%2Fapp%3Apull');
    expect(last?.authorization).toBe(basicAuth('alice', 'secret'));

    const got = await getManifest(`${reg.url}/v2/ns/app/manifests/3.1`, `Bearer ${token}`);
    expect(got.status).toBe(200);
    expect(got.headers.get('docker-content-digest')).toBe(sha256(got.bytes));
    expect(sha256(got.bytes)).toBe(pushed.digest);

    // A pull-only token cannot push: insufficient_scope.
    const denied = await fetch(`${reg.url}/v2/ns/app/blobs/uploads/`, { method: 'POST', headers: { Authorization: `Bearer ${token}` } });
    expect(denied.status).toBe(401);
    expect(denied.headers.get('www-authenticate')).toContain('error="insufficient_scope"');
  });

  it('returns token and access_token plus expires_in, and rejects a forged token', async () => {
    const res = await fetch(`${ts.realm}?service=${ts.service}&scope=repository:ns/app:pull`, {
      headers: { Authorization: basicAuth('alice', 'secret') },
    });
    const body = (await res.json()) as { token: string; access_token: string; expires_in: number };
    expect(body.token).toBe(body.access_token);
    expect(body.expires_in).toBe(300);
    const [h, p] = body.token.split('.');
    const forged = `${h ?? ''}.${p ?? ''}.${Buffer.alloc(64).toString('base64url')}`;
    const bad = await getManifest(`${reg.url}/v2/ns/app/manifests/3.1`, `Bearer ${forged}`);
    expect(bad.status).toBe(401);
    expect(bad.headers.get('www-authenticate')).toContain('error="invalid_token"');
  });
});
