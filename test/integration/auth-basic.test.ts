/**
 * Basic auth against a real htpasswd-protected registry, with credentials read from a Docker
 * config file (`$DOCKER_CONFIG/config.json`, `auths.<host>.auth = base64(user:pass)`).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryError } from '../../src/errors.js';
import { credentialStore } from '../../src/registry/credentials.js';
import { inspect } from '../../src/run/inspect.js';
import { lock } from '../../src/run/lock.js';
import { main } from '../../src/cli/main.js';
import { basicAuth, pushMultiArch, type MultiArchResult } from '../helpers/push.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { cleanupWorkspaces, dockerConfigDir, emptyDockerConfigDir, workspace, type Workspace } from '../helpers/workspace.js';

const USER = 'ci-bot';
const PASS = 'hunter2-Sup3rSecret';
const WRONG = 'wrong-PaSsWoRd-42';

let reg: TestRegistry;
let pushed: MultiArchResult;
let ws: Workspace;

beforeAll(async () => {
  reg = await startRegistry({ auth: { kind: 'htpasswd', users: { [USER]: PASS } } });
  pushed = await pushMultiArch(
    { url: reg.url, authorization: basicAuth(USER, PASS) },
    'private/agent',
    'v1',
    [
      { os: 'linux', architecture: 'amd64' },
      { os: 'linux', architecture: 'arm', variant: 'v7' },
    ],
    { salt: 'basic' },
  );
  ws = workspace({
    images: { agent: { ref: `${reg.host}/private/agent`, tag: 'v1' } },
    fleet: { edge: { arch: 'armv7l', hosts: ['gw-01'] } },
  });
});
afterAll(async () => {
  await reg?.stop();
  cleanupWorkspaces();
});

const withConfig = (dir: string) => ({ credentials: credentialStore({ DOCKER_CONFIG: dir }) });

describe('htpasswd registry', () => {
  it('locks with the credentials of the Docker config auths entry', async () => {
    const r = await lock({ cwd: ws.dir, dryRun: true, client: withConfig(dockerConfigDir({ [reg.host]: { user: USER, pass: PASS } })) });
    expect(r.failures).toEqual([]);
    expect(r.exitCode).toBe(0);
    expect(r.lock.images.agent!.digest).toBe(pushed.digest);
    expect(r.lock.fleet.edge).toEqual({ agent: { platform: 'linux/arm/v7', digest: pushed.images[1]!.digest } });
    // Every authenticated request succeeded: the registry logged 200s for the tag.
    await reg.waitForLog(/"GET \/v2\/private\/agent\/manifests\/v1 HTTP\/1\.1" 200 /);
  });

  it('authenticates several images resolved concurrently (no race on the first 401)', async () => {
    const t = { url: reg.url, authorization: basicAuth(USER, PASS) };
    const tags = ['c1', 'c2', 'c3', 'c4'];
    const digests: Record<string, string> = {};
    for (const tag of tags)
      digests[tag] = (await pushMultiArch(t, 'private/many', tag, [{ os: 'linux', architecture: 'amd64' }], { salt: tag })).digest;
    const many = workspace({
      images: Object.fromEntries(tags.map((tag) => [`img-${tag}`, { ref: `${reg.host}/private/many`, tag }])),
      fleet: { datacenter: { arch: 'x86_64', hosts: ['web-01'] } },
    });
    const r = await lock({ cwd: many.dir, client: withConfig(dockerConfigDir({ [reg.host]: { user: USER, pass: PASS } })) });
    expect(r.failures.map((f) => f.error.message)).toEqual([]);
    for (const tag of tags) expect(r.lock.images[`img-${tag}`]!.digest).toBe(digests[tag]);
  });

  it('matches an auths key written with a scheme and path (https://host:port/v1/)', async () => {
    const dir = dockerConfigDir({ [`https://${reg.host}/v1/`]: { user: USER, pass: PASS } });
    const r = await inspect(`${reg.host}/private/agent:v1`, { client: withConfig(dir) });
    expect(r.digest).toBe(pushed.digest);
    expect(r.platforms.map((p) => p.key)).toEqual(['linux/amd64', 'linux/arm/v7']);
  });

  it('fails with exit 3 and HTTP 401 on a wrong password, never printing it', async () => {
    const r = await lock({ cwd: ws.dir, client: withConfig(dockerConfigDir({ [reg.host]: { user: USER, pass: WRONG } })) });
    expect(r.exitCode).toBe(3);
    expect(r.failures).toHaveLength(1);
    const err = r.failures[0]!.error;
    expect(err).toBeInstanceOf(RegistryError);
    expect((err as RegistryError).status).toBe(401);
    expect(err.message).toContain('HTTP 401');
    expect(err.message).toContain(reg.host);
    const leaks = [WRONG, Buffer.from(`${USER}:${WRONG}`).toString('base64'), basicAuth(USER, WRONG)];
    for (const secret of leaks) {
      expect(err.message).not.toContain(secret);
      expect(String(err.stack)).not.toContain(secret);
      expect(JSON.stringify(r.failures)).not.toContain(secret);
    }
    expect(ws.lockExists()).toBe(false);
  });

  it('without credentials fails with exit 3 and says none were found', async () => {
    const r = await lock({ cwd: ws.dir, client: withConfig(emptyDockerConfigDir()) });
    expect(r.exitCode).toBe(3);
    const err = r.failures[0]!.error;
    expect(err.message).toContain('HTTP 401');
    expect(err.message).toMatch(/no credentials/);
    expect(ws.lockExists()).toBe(false);
  });

  it('treats a broken Docker config file as bad input (exit 2) without echoing its content', async () => {
    const dir = emptyDockerConfigDir();
    writeFileSync(
      join(dir, 'config.json'),
      JSON.stringify({ auths: { [reg.host]: { auth: Buffer.from(`no-colon-${PASS}`).toString('base64') } } }),
    );
    const err = await lock({ cwd: ws.dir, client: withConfig(dir) }).then(
      (r) => r.failures[0]?.error,
      (e: unknown) => e as Error & { exitCode?: number },
    );
    expect(err?.exitCode).toBe(2);
    expect(err?.message).toContain('config.json');
    expect(err?.message).not.toContain(PASS);
  });
});

describe('the CLI environment reaches the credential lookup', () => {
  it.each([
    [['lock', '--dry-run'], 0],
    [['diff'], 1],
    [['inspect', 'REF'], 0],
  ] as const)('%s reads credentials from the environment main() is given, not the process', async (args, want) => {
    const out: string[] = [];
    const sink = { write: (s: string) => out.push(s) };
    const env = {
      LG_PINS_REGISTRY_AUTH: JSON.stringify({ auths: { [reg.host]: { auth: Buffer.from(`${USER}:${PASS}`).toString('base64') } } }),
      DOCKER_CONFIG: emptyDockerConfigDir(),
      NO_COLOR: '1',
    };
    const argv = args.map((a) => (a === 'REF' ? `${reg.host}/private/agent:v1` : a));
    const code = await main(argv, { stdout: sink, stderr: sink, cwd: ws.dir, env });
    expect(out.join('')).not.toContain('denied');
    // diff finds changes (there is no lock yet): exit 1, not a credential failure (3).
    expect(code).toBe(want);
  });
});
