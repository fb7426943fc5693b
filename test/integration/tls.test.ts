/**
 * Registries over TLS, on real servers (issue 12): Debian's docker-registry serving HTTPS with a
 * certificate from a CA the test makes (openssl), with and without mutual TLS, and a token server
 * over TLS. Every trust source (the spec's `ca`, certs.d, NODE_EXTRA_CA_CERTS) and every failure
 * (unknown authority, expired, name mismatch, client certificate required, not TLS) through the CLI.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { makePki, type Pki } from '../helpers/pki.js';
import { pushMultiArch, type MultiArchResult } from '../helpers/push.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { tempDir } from '../helpers/tmp.js';
import { startTokenServer, type TokenServer } from '../helpers/token-server.js';
import { cleanupWorkspaces, emptyDockerConfigDir, workspace, type SpecInput } from '../helpers/workspace.js';

const FLEET: SpecInput['fleet'] = { datacenter: { arch: 'x86_64', hosts: ['web-01'] } };
let pki: Pki;
let plain: TestRegistry;
let pushed: MultiArchResult;
const regs: Record<string, TestRegistry> = {};
let ts: TokenServer;

beforeAll(async () => {
  pki = makePki();
  plain = await startRegistry();
  pushed = await pushMultiArch({ url: plain.url }, 'team/app', 'v1', [{ os: 'linux', architecture: 'amd64' }], { salt: 'tls' });
  // Each serves the plain registry's storage: content pushed over HTTP, served over TLS.
  const start = (tls: { cert: string; key: string; clientCas?: string[] }) => startRegistry({ tls, storageOf: plain.dir });
  regs.good = await start(pki.server);
  regs.expired = await start(pki.expired);
  regs.wrongName = await start(pki.wrongName);
  regs.stranger = await start(pki.stranger);
  regs.mtls = await start({ ...pki.server, clientCas: [pki.ca] });
  ts = await startTokenServer({ tls: pki.server });
  regs.token = await startRegistry({ tls: pki.server, storageOf: plain.dir, auth: { kind: 'token', tokenServer: ts } });
});
afterAll(async () => {
  await Promise.all(Object.values(regs).map((r) => r.stop()));
  await plain?.stop();
  await ts?.stop();
  cleanupWorkspaces();
});

/** `lg-pins lock --json` against one registry with these settings (paths relative to the spec, copied in). */
async function lockAt(
  reg: TestRegistry,
  settings: Record<string, string | boolean> = {},
  env: NodeJS.ProcessEnv = {},
  files: Record<string, string> = {},
) {
  const ws = workspace({
    images: { app: { ref: `${reg.host}/team/app`, tag: 'v1' } },
    fleet: FLEET,
    registries: { [reg.host]: { insecure: false, ...settings } },
  });
  for (const [name, from] of Object.entries(files)) copyFileSync(from, join(ws.dir, name));
  const r = await runCli(['lock', '--json'], ws.dir, { DOCKER_CONFIG: emptyDockerConfigDir(), LG_PINS_CERTS_D: '', ...env });
  const out = JSON.parse(r.stdout) as {
    images?: Record<string, { digest: string }>;
    failures?: Array<{ message: string }>;
    error?: { message: string };
  };
  return { code: r.code, out, message: out.failures?.[0]?.message ?? out.error?.message ?? '', all: `${r.stdout}${r.stderr}`, ws };
}

/** A certs.d root holding `<host:port>/` with these files. */
function certsD(host: string, files: Record<string, string>): string {
  const root = tempDir('lgp-certs-d-');
  mkdirSync(join(root, host));
  for (const [name, from] of Object.entries(files)) copyFileSync(from, join(root, host, name));
  return root;
}

describe('TLS trust', () => {
  it('the fixtures are known good: skopeo reads the registry with the same CA (--cert-dir)', () => {
    const dir = certsD('x', { 'ca.crt': pki.ca });
    const raw = execFileSync('skopeo', ['inspect', '--raw', '--cert-dir', join(dir, 'x'), `docker://${regs.good!.host}/team/app:v1`], {
      encoding: 'utf8',
    });
    expect(raw).toBe(Buffer.from(pushed.bytes).toString('utf8'));
  });

  it('registries.<host>.ca in the spec: locks over verified TLS', async () => {
    const r = await lockAt(regs.good!, { ca: 'ca.pem' }, {}, { 'ca.pem': pki.ca });
    expect(r.code).toBe(0);
    expect(r.out.images?.app?.digest).toBe(pushed.digest);
  });

  it('a CA in a certs.d directory (LG_PINS_CERTS_D): locks', async () => {
    const r = await lockAt(regs.good!, {}, { LG_PINS_CERTS_D: certsD(regs.good!.host, { 'ca.crt': pki.ca }) });
    expect(r.code).toBe(0);
  });

  it('NODE_EXTRA_CA_CERTS: locks, alone or beside a spec CA', async () => {
    expect((await lockAt(regs.good!, {}, { NODE_EXTRA_CA_CERTS: pki.ca })).code).toBe(0);
    const both = await lockAt(regs.stranger!, { ca: 'stranger.pem' }, { NODE_EXTRA_CA_CERTS: pki.ca }, { 'stranger.pem': pki.strangerCa });
    expect(both.code).toBe(0);
  });

  it.each([
    [
      'no CA for it',
      'good',
      {},
      /TLS with 127\.0\.0\.1:\d+ failed: its certificate is signed by an authority lg-pins does not trust .*registries\."127\.0\.0\.1:\d+"\.ca.*certs\.d/,
    ],
    ['a CA that did not issue it', 'stranger', { ca: 'ca.pem' }, /signed by an authority lg-pins does not trust/],
    [
      'an expired certificate',
      'expired',
      { ca: 'ca.pem' },
      /TLS with 127\.0\.0\.1:\d+ failed: its certificate has expired \(CERT_HAS_EXPIRED\)/,
    ],
    [
      'a certificate for another name',
      'wrongName',
      { ca: 'ca.pem' },
      /TLS with 127\.0\.0\.1:\d+ failed: its certificate does not name 127\.0\.0\.1:\d+/,
    ],
    [
      'no client certificate where one is required',
      'mtls',
      { ca: 'ca.pem' },
      /TLS with 127\.0\.0\.1:\d+ failed: it requires a client certificate .*clientCert.*clientKey/,
    ],
  ])('%s is exit 3 naming the host, the reason and how to trust it', async (_name, which, settings, why) => {
    const r = await lockAt(regs[which]!, settings, {}, { 'ca.pem': pki.ca });
    expect(r.code).toBe(3);
    expect(r.message).toMatch(why);
    expect(r.all).not.toMatch(/\n\s+at .+:\d+:\d+/);
  });

  it('a plain-HTTP registry with insecure: false is exit 3, never a silent fallback to HTTP', async () => {
    const r = await lockAt(plain);
    expect(r.code).toBe(3);
    expect(r.message).toMatch(/does not speak TLS there .*insecure: true/);
  });
});

describe('mutual TLS', () => {
  it('clientCert and clientKey in the spec: locks', async () => {
    const r = await lockAt(
      regs.mtls!,
      { ca: 'ca.pem', clientCert: 'client.crt', clientKey: 'client.key' },
      {},
      { 'ca.pem': pki.ca, 'client.crt': pki.client.cert, 'client.key': pki.client.key },
    );
    expect(r.code).toBe(0);
    expect(r.out.images?.app?.digest).toBe(pushed.digest);
  });

  it('a <name>.cert and <name>.key pair in certs.d: locks', async () => {
    const root = certsD(regs.mtls!.host, { 'ca.crt': pki.ca, 'me.cert': pki.client.cert, 'me.key': pki.client.key });
    expect((await lockAt(regs.mtls!, {}, { LG_PINS_CERTS_D: root })).code).toBe(0);
  });

  it.each([
    [
      'clientCert without clientKey',
      { clientCert: 'client.crt' },
      /registries\.127\.0\.0\.1:\d+\.clientCert: "clientCert" needs "clientKey"/,
    ],
    [
      'clientKey without clientCert',
      { clientKey: 'client.key' },
      /registries\.127\.0\.0\.1:\d+\.clientKey: "clientKey" needs "clientCert"/,
    ],
    [
      "a key that is not the certificate's",
      { clientCert: 'client.crt', clientKey: 'other.key' },
      /other\.key is not the private key of the certificate in .*client\.crt/,
    ],
    ['a CA file that holds no certificate', { ca: 'client.key' }, /"client\.key": .*holds no PEM certificate/],
  ])('%s is exit 2 naming the key', async (_name, settings, why) => {
    const r = await lockAt(
      regs.mtls!,
      settings,
      {},
      { 'client.crt': pki.client.cert, 'client.key': pki.client.key, 'other.key': pki.server.key },
    );
    expect(r.code).toBe(2);
    expect(r.all).toMatch(why);
  });

  it('a certs.d pair with a missing half is exit 2 naming the directory', async () => {
    const root = certsD(regs.mtls!.host, { 'me.cert': pki.client.cert });
    const r = await lockAt(regs.mtls!, {}, { LG_PINS_CERTS_D: root });
    expect(r.code).toBe(2);
    expect(r.message).toMatch(/client certificate me\.cert has no me\.key beside it/);
  });
});

describe('a token server over TLS', () => {
  it('is trusted as its registry is (the same CA); inspect, diff and verify go through the same trust', async () => {
    const r = await lockAt(regs.token!, { ca: 'ca.pem' }, {}, { 'ca.pem': pki.ca });
    expect(r.code).toBe(0);
    expect(ts.requests.length).toBeGreaterThan(0);
    const env = { DOCKER_CONFIG: emptyDockerConfigDir(), LG_PINS_CERTS_D: '' };
    expect((await runCli(['diff'], r.ws.dir, env)).code).toBe(0);
    expect((await runCli(['verify'], r.ws.dir, env)).code).toBe(0);
    expect((await runCli(['inspect', `${regs.token!.host}/team/app:v1`], r.ws.dir, env)).code).toBe(0);
  });
});
