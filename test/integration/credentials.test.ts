/**
 * Credentials the way Docker and Podman users store them (issue 4 §5), against REAL registries:
 * htpasswd (Basic on every request) and token auth (the test token server issuing JWTs the
 * registry verifies). A fake `docker-credential-<name>` script on a PATH made here stands in for
 * a keychain; credentials are read through `credentialStore({...env})`, never process.env.
 * The unit tests (test/unit/credentials.test.ts) cover lookup order and parsing; these prove the
 * registry accepts what each source yields, and that each source's secret goes where it must.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryError } from '../../src/errors.js';
import { credentialStore } from '../../src/registry/credentials.js';
import { lock } from '../../src/run/lock.js';
import { basicAuth, pushMultiArch, tokenPushTarget, type MultiArchResult } from '../helpers/push.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { startTokenServer, type TokenServer } from '../helpers/token-server.js';
import { cleanupWorkspaces, workspace, type SpecInput } from '../helpers/workspace.js';
import { fakeCredentialHelper } from '../helpers/cred-helper.js';
import { removeTempDirs, tempDir } from '../helpers/tmp.js';

const PLATFORMS = [
  { os: 'linux', architecture: 'amd64' },
  { os: 'linux', architecture: 'arm64' },
];
const DATACENTER: SpecInput['fleet'] = { datacenter: { arch: 'x86_64', hosts: ['web-01'] } };
const FAST = { backoffMs: 10, timeoutMs: 5000 };
const PATH = process.env.PATH ?? '/usr/bin:/bin';
const b64 = (s: string) => Buffer.from(s).toString('base64');

const tmp = () => tempDir('lgp-creds-it-');
afterAll(() => {
  removeTempDirs();
  cleanupWorkspaces();
});

const fakeHelper = fakeCredentialHelper;

/** A $DOCKER_CONFIG dir holding `config` as config.json. */
function dockerConfig(config: object): string {
  const dir = tmp();
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  return dir;
}

/** Env that isolates a test from the user's own files: an empty HOME, no XDG dirs. */
function isolated(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { HOME: tmp(), DOCKER_CONFIG: tmp(), PATH, ...env };
}

const runLock = (dir: string, env: NodeJS.ProcessEnv) =>
  lock({ cwd: dir, client: { credentials: credentialStore(isolated(env)), policy: FAST } });

describe('htpasswd registry', () => {
  const USER = 'keychain-user';
  const PASS = 'Keych41n-pass-word';
  const WRONG = 'n0t-the-pass';
  let reg: TestRegistry;
  let agent: MultiArchResult;
  let tool: MultiArchResult;
  const spec = () => ({ images: { agent: { ref: `${reg.host}/private/agent`, tag: 'v1' } }, fleet: DATACENTER });

  beforeAll(async () => {
    reg = await startRegistry({ auth: { kind: 'htpasswd', users: { [USER]: PASS } } });
    const t = { url: reg.url, authorization: basicAuth(USER, PASS) };
    agent = await pushMultiArch(t, 'private/agent', 'v1', PLATFORMS, { salt: 'cred-agent' });
    tool = await pushMultiArch(t, 'public/tool', 'v1', PLATFORMS, { salt: 'cred-tool' });
  });
  afterAll(async () => {
    await reg?.stop();
  });

  it('credsStore: asks docker-credential-<name> once per run and locks with what it returns', async () => {
    const helper = fakeHelper('lgtest', { [reg.host]: { Username: USER, Secret: PASS } });
    const ws = workspace({
      images: { agent: { ref: `${reg.host}/private/agent`, tag: 'v1' }, tool: { ref: `${reg.host}/public/tool`, tag: 'v1' } },
      fleet: DATACENTER,
    });
    // Docker leaves an empty auths entry behind when a credsStore holds the secret.
    const r = await runLock(ws.dir, {
      PATH: `${helper.bin}:${PATH}`,
      DOCKER_CONFIG: dockerConfig({ credsStore: 'lgtest', auths: { [reg.host]: {} } }),
    });
    expect(r.failures).toEqual([]);
    expect(r.lock.images.agent!.digest).toBe(agent.digest);
    expect(r.lock.images.tool!.digest).toBe(tool.digest);
    expect(helper.calls()).toEqual([reg.host]);
  });

  it('credHelpers[host] wins over credsStore and auths', async () => {
    const chosen = fakeHelper('chosen', { [reg.host]: { Username: USER, Secret: PASS } });
    const store = fakeHelper('store', { [reg.host]: { Username: USER, Secret: WRONG } });
    const ws = workspace(spec());
    const r = await runLock(ws.dir, {
      PATH: `${chosen.bin}:${store.bin}:${PATH}`,
      DOCKER_CONFIG: dockerConfig({
        credHelpers: { [reg.host]: 'chosen' },
        credsStore: 'store',
        auths: { [reg.host]: { auth: b64(`${USER}:${WRONG}`) } },
      }),
    });
    expect(r.failures).toEqual([]);
    expect(r.lock.images.agent!.digest).toBe(agent.digest);
    expect(chosen.calls()).toEqual([reg.host]);
    expect(store.calls()).toEqual([]);
  });

  it('a helper that has nothing for the registry means anonymous: exit 3, HTTP 401, "no credentials"', async () => {
    const helper = fakeHelper('empty', {});
    const ws = workspace(spec());
    const r = await runLock(ws.dir, { PATH: `${helper.bin}:${PATH}`, DOCKER_CONFIG: dockerConfig({ credsStore: 'empty' }) });
    expect(r.exitCode).toBe(3);
    expect(r.failures[0]!.error.message).toContain('HTTP 401');
    expect(r.failures[0]!.error.message).toMatch(/no credentials found/);
    expect(helper.calls()).toEqual([reg.host]);
    expect(ws.lockExists()).toBe(false);
  });

  it('LG_PINS_REGISTRY_AUTH (CI secret, JSON) wins over a Docker config with a wrong password', async () => {
    const ws = workspace(spec());
    const r = await runLock(ws.dir, {
      LG_PINS_REGISTRY_AUTH: JSON.stringify({ auths: { [reg.host]: { auth: b64(`${USER}:${PASS}`) } } }),
      DOCKER_CONFIG: dockerConfig({ auths: { [reg.host]: { auth: b64(`${USER}:${WRONG}`) } } }),
    });
    expect(r.failures).toEqual([]);
    expect(r.lock.images.agent!.digest).toBe(agent.digest);
  });

  it('DOCKER_AUTH_CONFIG works the same way, with username/password fields', async () => {
    const ws = workspace(spec());
    const r = await runLock(ws.dir, {
      DOCKER_AUTH_CONFIG: JSON.stringify({ auths: { [`https://${reg.host}/v1/`]: { username: USER, password: PASS } } }),
    });
    expect(r.failures).toEqual([]);
    expect(r.lock.images.agent!.digest).toBe(agent.digest);
  });

  it('Podman auth.json (REGISTRY_AUTH_FILE): a namespace key beats the host key, for that namespace only', async () => {
    const file = join(tmp(), 'auth.json');
    writeFileSync(
      file,
      JSON.stringify({
        auths: { [`${reg.host}/private`]: { auth: b64(`${USER}:${PASS}`) }, [reg.host]: { auth: b64(`${USER}:${WRONG}`) } },
      }),
    );
    const ws = workspace({
      images: { agent: { ref: `${reg.host}/private/agent`, tag: 'v1' }, tool: { ref: `${reg.host}/public/tool`, tag: 'v1' } },
      fleet: DATACENTER,
    });
    const r = await runLock(ws.dir, { REGISTRY_AUTH_FILE: file });
    expect(r.exitCode).toBe(3);
    expect(r.lock.images.agent!.digest).toBe(agent.digest);
    expect(r.failures.map((f) => f.image)).toEqual(['tool']);
    const err = r.failures[0]!.error;
    expect(err).toBeInstanceOf(RegistryError);
    expect(err.message).toContain('access to public/tool denied (HTTP 401)');
    expect(err.message).toContain(`check the credentials for it in ${file}`);
    expect(err.message).not.toContain(WRONG);
  });

  it('Podman auth.json under $XDG_RUNTIME_DIR/containers is read when nothing else has the registry', async () => {
    const run = tmp();
    mkdirSync(join(run, 'containers'));
    writeFileSync(join(run, 'containers', 'auth.json'), JSON.stringify({ auths: { [reg.host]: { auth: b64(`${USER}:${PASS}`) } } }));
    const ws = workspace(spec());
    const r = await runLock(ws.dir, {
      XDG_RUNTIME_DIR: run,
      DOCKER_CONFIG: dockerConfig({ auths: { 'other.example': { auth: b64('x:y') } } }),
    });
    expect(r.failures).toEqual([]);
    expect(r.lock.images.agent!.digest).toBe(agent.digest);
  });
});

describe('token registry', () => {
  const ALICE = 'alice';
  const ALICE_PASS = 'Alice-keychain-Pass';
  const REFRESH = 'refresh-7f3c9a-identity-token';
  let ts: TokenServer;
  let reg: TestRegistry;
  let pushed: MultiArchResult;
  const spec = () => ({ images: { app: { ref: `${reg.host}/team/app`, tag: 'v1' } }, fleet: DATACENTER });

  beforeAll(async () => {
    ts = await startTokenServer({ users: { [ALICE]: ALICE_PASS }, refreshTokens: { [REFRESH]: ALICE }, expiresIn: 300 });
    reg = await startRegistry({ auth: { kind: 'token', tokenServer: ts } });
    pushed = await pushMultiArch(
      await tokenPushTarget(reg.url, ts, 'team/app', { user: ALICE, pass: ALICE_PASS }),
      'team/app',
      'v1',
      PLATFORMS,
      { salt: 'token-creds' },
    );
  });
  afterAll(async () => {
    await reg?.stop();
    await ts?.stop();
  });

  it("a credsStore helper's user and secret go to the token realm as Basic", async () => {
    const helper = fakeHelper('tokstore', { [reg.host]: { Username: ALICE, Secret: ALICE_PASS } });
    const ws = workspace(spec());
    const mark = ts.requests.length;
    const r = await runLock(ws.dir, { PATH: `${helper.bin}:${PATH}`, DOCKER_CONFIG: dockerConfig({ credsStore: 'tokstore' }) });
    expect(r.failures).toEqual([]);
    expect(r.lock.images.app!.digest).toBe(pushed.digest);
    const asked = ts.requests.slice(mark);
    expect(asked).toHaveLength(1);
    expect(asked[0]).toMatchObject({ method: 'GET', authorization: basicAuth(ALICE, ALICE_PASS) });
  });

  it('a helper answering Username "<token>" gives an identity token: an OAuth2 refresh-token POST, no password anywhere', async () => {
    const helper = fakeHelper('tokid', { [reg.host]: { Username: '<token>', Secret: REFRESH } });
    const ws = workspace(spec());
    const mark = ts.requests.length;
    const r = await runLock(ws.dir, {
      PATH: `${helper.bin}:${PATH}`,
      DOCKER_CONFIG: dockerConfig({ credHelpers: { [reg.host]: 'tokid' } }),
    });
    expect(r.failures).toEqual([]);
    expect(r.lock.images.app!.digest).toBe(pushed.digest);
    const asked = ts.requests.slice(mark);
    expect(asked).toHaveLength(1);
    expect(asked[0]!.method).toBe('POST');
    expect(asked[0]!.authorization).toBeUndefined();
    expect(asked[0]!.form).toMatchObject({
      grant_type: 'refresh_token',
      refresh_token: REFRESH,
      service: ts.service,
      scope: 'repository:team/app:pull',
    });
  });

  it('an identitytoken in the Docker config is sent as a refresh-token POST', async () => {
    const ws = workspace(spec());
    const mark = ts.requests.length;
    const r = await runLock(ws.dir, { DOCKER_CONFIG: dockerConfig({ auths: { [reg.host]: { auth: '', identitytoken: REFRESH } } }) });
    expect(r.failures).toEqual([]);
    expect(r.lock.images.app!.digest).toBe(pushed.digest);
    const asked = ts.requests.slice(mark);
    expect(asked.map((q) => q.method)).toEqual(['POST']);
    expect(asked[0]!.form).toMatchObject({
      grant_type: 'refresh_token',
      refresh_token: REFRESH,
      client_id: 'lg-pins',
      access_type: 'offline',
    });
  });

  it('a revoked identity token is exit 3 naming the registry and HTTP 401, never the token', async () => {
    const REVOKED = 'revoked-identity-token-42';
    const ws = workspace(spec());
    const r = await runLock(ws.dir, { DOCKER_CONFIG: dockerConfig({ auths: { [reg.host]: { identitytoken: REVOKED } } }) });
    expect(r.exitCode).toBe(3);
    const err = r.failures[0]!.error;
    expect(err.message).toContain(reg.host);
    expect(err.message).toContain('HTTP 401');
    expect(err.message).toMatch(/check the credentials for this registry in .*config\.json/);
    expect(`${err.message}\n${String(err.stack)}`).not.toContain(REVOKED);
    expect(ws.lockExists()).toBe(false);
  });
});

describe('token registry whose token server has no OAuth2 endpoint', () => {
  let ts: TokenServer;
  let reg: TestRegistry;
  let pushed: MultiArchResult;
  beforeAll(async () => {
    ts = await startTokenServer();
    reg = await startRegistry({ auth: { kind: 'token', tokenServer: ts } });
    pushed = await pushMultiArch(await tokenPushTarget(reg.url, ts, 'team/app'), 'team/app', 'v1', PLATFORMS, { salt: 'no-oauth' });
  });
  afterAll(async () => {
    await reg?.stop();
    await ts?.stop();
  });

  it('falls back from the refresh-token POST (404) to the GET form', async () => {
    const ws = workspace({ images: { app: { ref: `${reg.host}/team/app`, tag: 'v1' } }, fleet: DATACENTER });
    const mark = ts.requests.length;
    const r = await runLock(ws.dir, { DOCKER_CONFIG: dockerConfig({ auths: { [reg.host]: { identitytoken: 'some-refresh-token' } } }) });
    expect(r.failures).toEqual([]);
    expect(r.lock.images.app!.digest).toBe(pushed.digest);
    expect(ts.requests.slice(mark).map((q) => q.method)).toEqual(['POST', 'GET']);
  });
});
