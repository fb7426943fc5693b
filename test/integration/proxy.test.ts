/**
 * Proxies on real servers (issue 12): Debian's tinyproxy (started on a free loopback port with a
 * config of its own) in front of real registries, over TLS (CONNECT) and plain HTTP, with and
 * without Basic credentials; HTTPS_PROXY / HTTP_PROXY / NO_PROXY read as curl reads them; the
 * GitHub API through the same proxy. A proxy's credentials never appear in any output.
 */
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GitHub } from '../../src/scm/github.js';
import { openHostTransport } from '../../src/scm/host.js';
import { runCli } from '../helpers/cli.js';
import { startFakeGitHub, type FakeGitHub } from '../helpers/fake-github.js';
import { makePki, type Pki } from '../helpers/pki.js';
import { pushMultiArch } from '../helpers/push.js';
import { freePort, startRegistry, type TestRegistry } from '../helpers/registry.js';
import { startTinyproxy, type TestProxy } from '../helpers/tinyproxy.js';
import { startTokenServer, type TokenServer } from '../helpers/token-server.js';
import { cleanupWorkspaces, emptyDockerConfigDir, workspace, type SpecInput } from '../helpers/workspace.js';

const FLEET: SpecInput['fleet'] = { datacenter: { arch: 'x86_64', hosts: ['web-01'] } };
const SECRET = 'pr0xy-S3cret-4711';
let pki: Pki;
let plain: TestRegistry;
let tls: TestRegistry;
let ts: TokenServer;
let tokenReg: TestRegistry;
let proxy: TestProxy;
let authProxy: TestProxy;
let gh: FakeGitHub;

beforeAll(async () => {
  pki = makePki();
  plain = await startRegistry();
  await pushMultiArch({ url: plain.url }, 'team/app', 'v1', [{ os: 'linux', architecture: 'amd64' }], { salt: 'proxy' });
  tls = await startRegistry({ tls: pki.server, storageOf: plain.dir });
  ts = await startTokenServer();
  tokenReg = await startRegistry({ storageOf: plain.dir, auth: { kind: 'token', tokenServer: ts } });
  proxy = await startTinyproxy();
  authProxy = await startTinyproxy({ auth: { user: 'alice', pass: SECRET } });
  gh = await startFakeGitHub({ repository: 'owner/repo', token: 'gh-token' });
});
afterAll(async () => {
  await Promise.all([plain, tls, tokenReg].map((r) => r?.stop()));
  await Promise.all([proxy?.stop(), authProxy?.stop(), ts?.stop(), gh?.close()]);
  cleanupWorkspaces();
});

/** `lg-pins lock` of one image on `reg` with this environment (no proxy variable inherited). */
async function lockVia(reg: TestRegistry, env: NodeJS.ProcessEnv, args: string[] = []) {
  const https = reg.url.startsWith('https:');
  const ws = workspace({
    images: { app: { ref: `${reg.host}/team/app`, tag: 'v1' } },
    fleet: FLEET,
    ...(https ? { registries: { [reg.host]: { insecure: false, ca: 'ca.pem' } } } : {}),
  });
  copyFileSync(pki.ca, join(ws.dir, 'ca.pem'));
  const clean = { HTTPS_PROXY: '', https_proxy: '', HTTP_PROXY: '', http_proxy: '', NO_PROXY: '', no_proxy: '' };
  const r = await runCli(['lock', ...args], ws.dir, { DOCKER_CONFIG: emptyDockerConfigDir(), LG_PINS_CERTS_D: '', ...clean, ...env });
  return { ...r, all: `${r.stdout}${r.stderr}` };
}
const seen = (p: TestProxy, what: RegExp) => p.requests().filter((l) => what.test(l)).length;

describe('through a proxy', () => {
  it('HTTPS_PROXY: a TLS registry is reached through a CONNECT tunnel, its certificate still verified', async () => {
    const before = seen(proxy, new RegExp(`^CONNECT ${tls.host} `));
    const r = await lockVia(tls, { HTTPS_PROXY: proxy.url });
    expect(r.code).toBe(0);
    expect(seen(proxy, new RegExp(`^CONNECT ${tls.host} `))).toBeGreaterThan(before);
  });

  it.each(['HTTP_PROXY', 'http_proxy'])('%s: a plain-HTTP registry and its token server are reached through the proxy', async (name) => {
    const before = proxy.requests().length;
    const r = await lockVia(tokenReg, { [name]: proxy.url });
    expect(r.code).toBe(0);
    // undici tunnels plain HTTP through the proxy too (CONNECT), as it does HTTPS.
    const lines = proxy.requests().slice(before);
    expect(lines).toContain(`CONNECT ${tokenReg.host} HTTP/1.1`);
    expect(lines).toContain(`CONNECT ${new URL(ts.realm).host} HTTP/1.1`);
  });

  it.each([
    ['the host', () => '127.0.0.1'],
    ['host:port', (r: TestRegistry) => r.host],
    ['*', () => '*'],
    ['a suffix among others', () => 'example.com, .0.0.1'],
  ])('NO_PROXY naming %s: reached directly', async (_name, entry) => {
    const before = proxy.requests().length;
    const r = await lockVia(tls, { https_proxy: proxy.url, NO_PROXY: entry(tls) });
    expect(r.code).toBe(0);
    expect(proxy.requests().length).toBe(before);
  });

  it('a proxy with credentials in its URL: used, and the credentials never shown (--verbose, --json)', async () => {
    for (const args of [['--verbose'], ['--json'], []]) {
      const r = await lockVia(tls, { HTTPS_PROXY: `http://alice:${SECRET}@${authProxy.host}` }, args);
      expect(r.code, args.join(' ')).toBe(0);
      expect(r.all).not.toContain(SECRET);
    }
    expect(seen(authProxy, /^CONNECT /)).toBeGreaterThan(0);
  });

  it.each([
    ['wrong credentials (HTTPS, CONNECT)', () => tls, () => ({ HTTPS_PROXY: `http://alice:wrong-${SECRET}@${authProxy.host}` })],
    ['no credentials (plain HTTP)', () => plain, () => ({ HTTP_PROXY: authProxy.url })],
  ])('a proxy that answers 407 to %s is exit 3 naming the proxy, never its credentials', async (_name, reg, env) => {
    for (const args of [['--json'], ['--verbose']]) {
      const r = await lockVia(reg(), env(), args);
      expect(r.code).toBe(3);
      expect(r.all).toMatch(
        new RegExp(`proxy http://${authProxy.host.replace(/\./g, '\\.')} refused: it requires authentication \\(HTTP 40[17]\\)`),
      );
      expect(r.all).not.toContain(SECRET);
    }
  });

  it('a proxy that refuses connections is exit 3 naming the proxy (without its credentials)', async () => {
    const port = await freePort();
    const r = await lockVia(tls, { HTTPS_PROXY: `http://alice:${SECRET}@127.0.0.1:${port}` }, ['--timeout', '2']);
    expect(r.code).toBe(3);
    expect(r.all).toMatch(new RegExp(`connection refused \\(ECONNREFUSED\\) \\(through proxy http://127\\.0\\.0\\.1:${port}\\)`));
    expect(r.all).not.toContain(SECRET);
  });

  it('a proxy value that is not a URL is exit 2 naming the variable', async () => {
    const r = await lockVia(tls, { HTTPS_PROXY: 'http://[not a url' });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/HTTPS_PROXY is not a proxy URL/);
  });
});

describe('the git host API through a proxy', () => {
  it('GitHub calls go through HTTP_PROXY (and past it with NO_PROXY)', async () => {
    const via = openHostTransport({ HTTP_PROXY: proxy.url });
    try {
      const before = proxy.requests().length;
      expect(
        await new GitHub('owner/repo', 'gh-token', gh.url, undefined, via.transport).findOpen('lg-pins/repin', 'main'),
      ).toBeUndefined();
      expect(proxy.requests().slice(before)).toContain(`CONNECT ${new URL(gh.url).host} HTTP/1.1`);
    } finally {
      await via.close();
    }
    const direct = openHostTransport({ HTTP_PROXY: proxy.url, NO_PROXY: '127.0.0.1' });
    try {
      const before = proxy.requests().length;
      await new GitHub('owner/repo', 'gh-token', gh.url, undefined, direct.transport).findOpen('lg-pins/repin', 'main');
      expect(proxy.requests().length).toBe(before);
    } finally {
      await direct.close();
    }
  });
});
