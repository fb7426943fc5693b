/**
 * Bearer token auth against real token-auth registries (distribution 2.8 + the test token
 * server): anonymous tokens in the `token` field, credentialed tokens in the `access_token`
 * field, and the token cache (one token request per scope per run, however many images).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryError } from '../../src/errors.js';
import { credentialStore } from '../../src/registry/credentials.js';
import { lock } from '../../src/run/lock.js';
import { basicAuth, pushMultiArch, tokenPushTarget, type MultiArchResult } from '../helpers/push.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { startTokenServer, type TokenServer } from '../helpers/token-server.js';
import { cleanupWorkspaces, dockerConfigDir, emptyDockerConfigDir, workspace, type SpecInput } from '../helpers/workspace.js';

const PLATFORMS = [
  { os: 'linux', architecture: 'amd64' },
  { os: 'linux', architecture: 'arm64' },
];
const FLEET: SpecInput['fleet'] = {
  datacenter: { arch: 'x86_64', hosts: ['web-01'] },
  'arm-servers': { arch: 'aarch64', hosts: ['arm-01'] },
};

/** Token requests made since `mark`, grouped by their (decoded) scope parameters. */
function scopesRequested(ts: TokenServer, mark: number): { scopes: string[]; authorization: string | undefined }[] {
  return ts.requests.slice(mark).map((r) => ({
    scopes: new URL(r.url, 'http://x').searchParams.getAll('scope'),
    authorization: r.authorization,
  }));
}

/** Three images in team/agent (three tags) and one in team/tools. */
const IMAGES: Record<string, { repo: string; tag: string }> = {
  agent: { repo: 'team/agent', tag: 'v1' },
  'agent-next': { repo: 'team/agent', tag: 'v2' },
  'agent-lts': { repo: 'team/agent', tag: 'v3' },
  tools: { repo: 'team/tools', tag: 't1' },
};

function specFor(host: string): SpecInput {
  return {
    images: Object.fromEntries(Object.entries(IMAGES).map(([id, i]) => [id, { ref: `${host}/${i.repo}`, tag: i.tag }])),
    fleet: FLEET,
  };
}

async function pushAll(
  reg: TestRegistry,
  ts: TokenServer,
  creds?: { user: string; pass: string },
): Promise<Record<string, MultiArchResult>> {
  const agent = await tokenPushTarget(reg.url, ts, 'team/agent', creds);
  const tools = await tokenPushTarget(reg.url, ts, 'team/tools', creds);
  const out: Record<string, MultiArchResult> = {};
  for (const [id, i] of Object.entries(IMAGES)) {
    out[id] = await pushMultiArch(i.repo === 'team/tools' ? tools : agent, i.repo, i.tag, PLATFORMS, { salt: i.tag });
  }
  return out;
}

afterAll(() => cleanupWorkspaces());

describe('anonymous bearer tokens (`token` field)', () => {
  let ts: TokenServer;
  let reg: TestRegistry;
  let pushed: Record<string, MultiArchResult>;
  beforeAll(async () => {
    ts = await startTokenServer({ field: 'token' });
    reg = await startRegistry({ auth: { kind: 'token', tokenServer: ts } });
    pushed = await pushAll(reg, ts);
  });
  afterAll(async () => {
    await reg?.stop();
    await ts?.stop();
  });

  it('locks every image with one anonymous token request per repository scope', async () => {
    const ws = workspace(specFor(reg.host));
    const mark = ts.requests.length;
    const r = await lock({ cwd: ws.dir, client: { credentials: credentialStore({ DOCKER_CONFIG: emptyDockerConfigDir() }) } });
    expect(r.failures).toEqual([]);
    expect(r.exitCode).toBe(0);
    for (const [id, p] of Object.entries(pushed)) {
      expect(r.lock.images[id]!.digest).toBe(p.digest);
      expect(r.lock.fleet.datacenter![id]).toEqual({ platform: 'linux/amd64', digest: p.images[0]!.digest });
    }
    const requests = scopesRequested(ts, mark);
    expect(requests.map((q) => q.scopes).sort()).toEqual([['repository:team/agent:pull'], ['repository:team/tools:pull']]);
    expect(requests.every((q) => q.authorization === undefined)).toBe(true);
  });
});

describe('credentialed bearer tokens (`access_token` field)', () => {
  const USER = 'alice';
  const PASS = 's3cret-Token-Pass';
  let ts: TokenServer;
  let reg: TestRegistry;
  let pushed: Record<string, MultiArchResult>;
  beforeAll(async () => {
    ts = await startTokenServer({ users: { [USER]: PASS }, field: 'access_token', expiresIn: 300 });
    reg = await startRegistry({ auth: { kind: 'token', tokenServer: ts } });
    pushed = await pushAll(reg, ts, { user: USER, pass: PASS });
  });
  afterAll(async () => {
    await reg?.stop();
    await ts?.stop();
  });

  it('sends the Docker config credentials to the realm and caches the token per scope', async () => {
    const ws = workspace(specFor(reg.host));
    const credentials = credentialStore({ DOCKER_CONFIG: dockerConfigDir({ [reg.host]: { user: USER, pass: PASS } }) });
    const mark = ts.requests.length;
    const r = await lock({ cwd: ws.dir, client: { credentials } });
    expect(r.failures).toEqual([]);
    expect(r.written).toBe(true);
    for (const [id, p] of Object.entries(pushed)) {
      expect(r.lock.images[id]).toMatchObject({ tag: IMAGES[id]!.tag, digest: p.digest });
      expect(r.lock.fleet['arm-servers']![id]).toEqual({ platform: 'linux/arm64/v8', digest: p.images[1]!.digest });
    }
    const requests = scopesRequested(ts, mark);
    expect(requests).toHaveLength(2);
    expect(requests.map((q) => q.scopes[0]).sort()).toEqual(['repository:team/agent:pull', 'repository:team/tools:pull']);
    for (const q of requests) expect(q.authorization).toBe(basicAuth(USER, PASS));

    // A second run with nothing changed: same tokens story, byte-identical lock, nothing written.
    const again = await lock({ cwd: ws.dir, client: { credentials } });
    expect(again.exitCode).toBe(0);
    expect(again.written).toBe(false);
    expect(ws.lockText()).toBe(r.text);
  });

  it('without credentials the token server refuses: exit 3 naming the registry and HTTP 401', async () => {
    const ws = workspace(specFor(reg.host));
    const r = await lock({ cwd: ws.dir, client: { credentials: credentialStore({ DOCKER_CONFIG: emptyDockerConfigDir() }) } });
    expect(r.exitCode).toBe(3);
    expect(r.failures).toHaveLength(4);
    for (const f of r.failures) {
      expect(f.error).toBeInstanceOf(RegistryError);
      expect(f.error.message).toContain(reg.host);
      expect(f.error.message).toContain('HTTP 401');
    }
    expect(ws.lockExists()).toBe(false);
  });

  it('with a wrong password: exit 3, HTTP 401, and the password appears nowhere', async () => {
    const WRONG = 'not-the-Right-one-77';
    const ws = workspace(specFor(reg.host));
    const credentials = credentialStore({ DOCKER_CONFIG: dockerConfigDir({ [reg.host]: { user: USER, pass: WRONG } }) });
    const mark = ts.requests.length;
    const r = await lock({ cwd: ws.dir, client: { credentials } });
    expect(r.exitCode).toBe(3);
    expect(r.failures).toHaveLength(4);
    const all = r.failures.map((f) => `${f.error.message}\n${String(f.error.stack)}`).join('\n');
    expect(all).toContain('HTTP 401');
    for (const secret of [WRONG, basicAuth(USER, WRONG), Buffer.from(`${USER}:${WRONG}`).toString('base64')]) {
      expect(all).not.toContain(secret);
    }
    // The wrong credentials did go to the realm (and only there).
    expect(scopesRequested(ts, mark).every((q) => q.authorization === basicAuth(USER, WRONG))).toBe(true);
    expect(ws.lockExists()).toBe(false);
  });
});
