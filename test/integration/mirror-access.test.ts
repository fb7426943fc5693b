/**
 * Reaching a mirror as any registry is reached, on real servers: over HTTPS with the spec's CA
 * (`registries.<mirror host>.ca`), or refused with an unknown one (exit 3 naming the host); with
 * htpasswd credentials from LG_PINS_REGISTRY_AUTH or a Docker config, or refused with wrong ones
 * (exit 3 "pushing to … denied", the password never shown); through a real tinyproxy (HTTPS_PROXY).
 * Read back and hashed here.
 */
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { credentialStore, type CredentialStore } from '../../src/registry/credentials.js';
import { lock } from '../../src/run/lock.js';
import { mirror } from '../../src/run/mirror.js';
import { expectWhole, FLEET, get, PLATFORMS, sha } from '../helpers/mirror.js';
import { makePki, type Pki } from '../helpers/pki.js';
import { basicAuth, pushMultiArch, type MultiArchResult } from '../helpers/push.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { startTinyproxy, type TestProxy } from '../helpers/tinyproxy.js';
import { dockerConfigDir, useRegistry, workspace, type SpecInput, type Workspace } from '../helpers/workspace.js';

const USER = 'mirror-bot';
const PASS = 'Mirr0r-s3cret-pass';
const WRONG = 'not-the-Passw0rd-77';
const b64 = (s: string) => Buffer.from(s).toString('base64');

const ctx = useRegistry();
let pki: Pki;
/** `tls` serves `plain`'s storage over HTTPS: pushed through one, read back through the other. */
let plain: TestRegistry;
let tls: TestRegistry;
let locked: TestRegistry;
let img: MultiArchResult;
let proxy: TestProxy;

beforeAll(async () => {
  pki = makePki();
  plain = await startRegistry();
  [tls, locked] = await Promise.all([
    startRegistry({ tls: pki.server, storageOf: plain.dir }),
    startRegistry({ auth: { kind: 'htpasswd', users: { [USER]: PASS } } }),
  ]);
  img = await pushMultiArch({ url: ctx.reg.url }, 'acc/agent', 'v1', PLATFORMS, { salt: 'access' });
  proxy = await startTinyproxy();
});
afterAll(async () => {
  await Promise.all([tls?.stop(), locked?.stop(), proxy?.stop()]);
  await plain?.stop();
});

/** The image locked from the (plain, anonymous) source, with these registry settings in the spec. */
async function setup(registries: SpecInput['registries'] = {}, files: Record<string, string> = {}): Promise<Workspace> {
  const ws = workspace({ images: { agent: { ref: `${ctx.reg.host}/acc/agent`, tag: 'v1' } }, fleet: FLEET, registries });
  for (const [name, from] of Object.entries(files)) copyFileSync(from, join(ws.dir, name));
  expect((await lock({ cwd: ws.dir, client: { credentials: ctx.anonymous } })).exitCode).toBe(0);
  return ws;
}
/** No certs.d, no NODE_EXTRA_CA_CERTS, no proxy: only the spec says whom to trust. */
const run = (ws: Workspace, to: string, credentials: CredentialStore = ctx.anonymous) =>
  mirror({ cwd: ws.dir, to: [to], client: { credentials, env: {}, policy: { backoffMs: 1 } } });

describe('mirror over TLS', () => {
  it("a mirror served over HTTPS with the spec's CA: copied, and whole when read back", async () => {
    const ws = await setup({ [tls.host]: { insecure: false, ca: 'ca.pem' } }, { 'ca.pem': pki.ca });
    const r = await run(ws, `${tls.host}/j`);
    expect(r.copies.map((c) => [c.destination, c.status, c.error])).toEqual([[`${tls.host}/j/acc/agent`, 'copied', undefined]]);
    expect(r.exitCode).toBe(0);
    await expectWhole(`${plain.url}/v2/j/acc/agent`, img);
    expect(sha((await get(`${plain.url}/v2/j/acc/agent/manifests/v1`)).bytes)).toBe(img.digest);
  });

  it('a mirror whose certificate no trusted CA issued: exit 3 naming the host and how to trust it; nothing written', async () => {
    const ws = await setup({ [tls.host]: { insecure: false } });
    const r = await run(ws, `${tls.host}/j2`);
    expect(r.exitCode).toBe(3);
    expect(r.copies[0]).toMatchObject({ status: 'failed', exitCode: 3 });
    expect(r.copies[0]!.error).toContain(`TLS with ${tls.host} failed: its certificate is signed by an authority lg-pins does not trust`);
    expect(r.copies[0]!.error).toContain(`registries."${tls.host}".ca`);
    expect((await get(`${plain.url}/v2/j2/acc/agent/manifests/${img.digest}`)).status).toBe(404);
  });
});

describe('mirror through a proxy', () => {
  it('HTTPS_PROXY: the TLS mirror is written through a CONNECT tunnel of a real tinyproxy, its certificate still verified', async () => {
    const ws = await setup({ [tls.host]: { insecure: false, ca: 'ca.pem' } }, { 'ca.pem': pki.ca });
    const before = proxy.requests().filter((l) => l.startsWith(`CONNECT ${tls.host} `)).length;
    // The source (plain HTTP on loopback) is reached directly; only HTTPS goes through the proxy.
    const r = await mirror({
      cwd: ws.dir,
      to: [`${tls.host}/p`],
      client: { credentials: ctx.anonymous, env: { HTTPS_PROXY: proxy.url }, policy: { backoffMs: 1 } },
    });
    expect(r.copies.map((c) => [c.status, c.error])).toEqual([['copied', undefined]]);
    expect(proxy.requests().filter((l) => l.startsWith(`CONNECT ${tls.host} `)).length).toBeGreaterThan(before);
    await expectWhole(`${plain.url}/v2/p/acc/agent`, img);
  });
});

describe('mirror with credentials', () => {
  /** The htpasswd mirror read back with the right credentials: the tag's digest. */
  const readBack = async (prefix: string) => {
    const auth = { authorization: basicAuth(USER, PASS) };
    await expectWhole(`${locked.url}/v2/${prefix}/acc/agent`, img, auth);
    return sha((await get(`${locked.url}/v2/${prefix}/acc/agent/manifests/v1`, undefined, auth)).bytes);
  };

  it('credentials from LG_PINS_REGISTRY_AUTH push to an htpasswd mirror', async () => {
    const ws = await setup();
    const env = { LG_PINS_REGISTRY_AUTH: JSON.stringify({ auths: { [locked.host]: { auth: b64(`${USER}:${PASS}`) } } }) };
    const r = await run(ws, `${locked.host}/k1`, credentialStore(env));
    expect(r.copies.map((c) => [c.status, c.error])).toEqual([['copied', undefined]]);
    expect(await readBack('k1')).toBe(img.digest);
  });

  it('credentials from a Docker config push to an htpasswd mirror', async () => {
    const ws = await setup();
    const r = await run(
      ws,
      `${locked.host}/k2`,
      credentialStore({ DOCKER_CONFIG: dockerConfigDir({ [locked.host]: { user: USER, pass: PASS } }) }),
    );
    expect(r.copies.map((c) => [c.status, c.error])).toEqual([['copied', undefined]]);
    expect(await readBack('k2')).toBe(img.digest);
  });

  it('wrong credentials: exit 3 "pushing to … denied", the password nowhere in the result', async () => {
    const ws = await setup();
    const docker = dockerConfigDir({ [locked.host]: { user: USER, pass: WRONG } });
    const r = await run(ws, `${locked.host}/k3`, credentialStore({ DOCKER_CONFIG: docker }));
    expect(r.exitCode).toBe(3);
    expect(r.copies[0]).toMatchObject({ status: 'failed', exitCode: 3 });
    expect(r.copies[0]!.error).toContain(
      `registry ${locked.host}: pushing to k3/acc/agent denied (HTTP 401); check the credentials for it`,
    );
    const text = JSON.stringify(r);
    for (const secret of [WRONG, PASS, b64(`${USER}:${WRONG}`)]) expect(text).not.toContain(secret);

    const none = await run(ws, `${locked.host}/k3`);
    expect(none.copies[0]!.error).toContain('pushing to k3/acc/agent denied (HTTP 401); no credentials found for it');
  });
});
