/**
 * Secrets never show (issue 4 §6): the BUILT CLI run with `--verbose` (the request trace) and
 * with `--json`, against a real htpasswd registry and a real token registry, in success and in
 * failure (wrong password, revoked identity token, failing or misbehaving credential helper,
 * broken credential files). No password, no base64 of it or of `user:password`, no bearer token
 * the token server issued, no identity token, no helper Secret, and not even the word
 * `Authorization` may appear on stdout or stderr.
 */
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, STACK, type CliResult } from '../helpers/cli.js';
import { basicAuth, pushMultiArch, tokenPushTarget } from '../helpers/push.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { startTokenServer, type TokenServer } from '../helpers/token-server.js';
import { cleanupWorkspaces, workspace, type Workspace } from '../helpers/workspace.js';
import { removeTempDirs, tempDir } from '../helpers/tmp.js';

const USER = 'secret-keeper';
const PASS = 'Pa55-w0rd-never-printed';
const WRONG = 'Wr0ng-pa55-never-printed';
const HELPER_SECRET = 'helper-Secret-never-printed';
const REFRESH = 'identity-refresh-token-never-printed';
const PLATFORMS = [
  { os: 'linux', architecture: 'amd64' },
  { os: 'linux', architecture: 'arm64' },
];
const PATH = process.env.PATH ?? '/usr/bin:/bin';
const b64 = (s: string) => Buffer.from(s).toString('base64');

const tmp = () => tempDir('lgp-secrets-');
afterAll(() => {
  removeTempDirs();
  cleanupWorkspaces();
});

/** Every spelling of a secret that could leak: itself, its base64, and `user:secret` in base64. */
function spellings(secret: string, user = USER): string[] {
  return [secret, b64(secret), b64(`${user}:${secret}`), basicAuth(user, secret)];
}

/** The CLI's env: no credential source but those given (the user's own files and variables are shut out). */
function env(extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return {
    HOME: tmp(),
    DOCKER_CONFIG: tmp(),
    XDG_RUNTIME_DIR: '',
    XDG_CONFIG_HOME: '',
    REGISTRY_AUTH_FILE: '',
    LG_PINS_REGISTRY_AUTH: '',
    DOCKER_AUTH_CONFIG: '',
    ...extra,
  };
}

function dockerConfig(config: object | string): string {
  const dir = tmp();
  writeFileSync(join(dir, 'config.json'), typeof config === 'string' ? config : JSON.stringify(config));
  return dir;
}

/**
 * A fake `docker-credential-<name>`: `ok` answers with the credentials; `fail` exits 1 with an
 * error message on stdout (as helpers do); `leaky` prints the credentials JSON on stdout and an
 * error on stderr, then exits 1 anyway.
 */
function helper(name: string, mode: 'ok' | 'fail' | 'leaky', server: string, username = USER): string {
  const bin = tmp();
  const creds = JSON.stringify({ ServerURL: server, Username: username, Secret: HELPER_SECRET });
  const body = {
    ok: `echo '${creds}'; exit 0`,
    fail: `echo "error getting credentials - err: exit status 2, out: gpg: decryption failed: No secret key"; exit 1`,
    leaky: `echo '${creds}'; echo "keychain locked" >&2; exit 1`,
  }[mode];
  writeFileSync(join(bin, `docker-credential-${name}`), `#!/bin/sh\n[ "$1" = get ] || exit 2\nread server\n${body}\n`);
  chmodSync(join(bin, `docker-credential-${name}`), 0o755);
  return `${bin}:${PATH}`;
}

/** `lock --verbose` (the trace and the human messages on stderr). */
function lockVerbose(ws: () => Workspace, extra: NodeJS.ProcessEnv): Promise<CliResult> {
  return runCli(['lock', '--verbose'], ws().dir, env(extra));
}

/** Run `lock --verbose` and `lock --verbose --json` side by side, each in a workspace of its own. */
async function lockBoth(ws: () => Workspace, extra: NodeJS.ProcessEnv): Promise<{ human: CliResult; json: CliResult }> {
  const [human, json] = await Promise.all([
    runCli(['lock', '--verbose'], ws().dir, env(extra)),
    runCli(['lock', '--verbose', '--json'], ws().dir, env(extra)),
  ]);
  return { human, json };
}

function expectNoSecrets(r: CliResult, secrets: string[]): void {
  const all = `${r.stdout}\n${r.stderr}`;
  for (const s of secrets) expect(all, `output contains ${JSON.stringify(s)}`).not.toContain(s);
  expect(all).not.toMatch(/authorization/i);
  expect(all).not.toMatch(STACK);
}

describe('htpasswd registry', () => {
  let reg: TestRegistry;
  const ws = () =>
    workspace({
      images: { agent: { ref: `${reg.host}/private/agent`, tag: 'v1' } },
      fleet: { datacenter: { arch: 'x86_64', hosts: ['web-01'] } },
    });
  const secrets = () => [...spellings(PASS), ...spellings(WRONG), ...spellings(HELPER_SECRET), ...spellings(REFRESH)];
  const auths = (pass: string) => ({ auths: { [reg.host]: { auth: b64(`${USER}:${pass}`) } } });

  beforeAll(async () => {
    reg = await startRegistry({ auth: { kind: 'htpasswd', users: { [USER]: PASS } } });
    await pushMultiArch({ url: reg.url, authorization: basicAuth(USER, PASS) }, 'private/agent', 'v1', PLATFORMS, { salt: 'secrets' });
  });
  afterAll(async () => {
    await reg?.stop();
  });

  it('success: the trace shows methods, URLs and statuses, and no credential', async () => {
    const { human, json } = await lockBoth(ws, { DOCKER_CONFIG: dockerConfig(auths(PASS)) });
    expect(human.code).toBe(0);
    expect(human.stderr).toContain(`GET http://${reg.host}/v2/private/agent/manifests/v1 → 401`);
    expect(human.stderr).toContain(`GET http://${reg.host}/v2/private/agent/manifests/v1 → 200`);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ written: true, failures: [] });
    expectNoSecrets(human, secrets());
    expectNoSecrets(json, secrets());
  });

  it('a wrong password: exit 3 with HTTP 401, and neither password shows', async () => {
    const { human, json } = await lockBoth(ws, { DOCKER_CONFIG: dockerConfig(auths(WRONG)) });
    expect(human.code).toBe(3);
    expect(human.stderr).toMatch(
      /error: agent: registry .* access to private\/agent denied \(HTTP 401\); check the credentials for it in .*config\.json/,
    );
    expect(json.code).toBe(3);
    expect(JSON.parse(json.stdout).failures).toEqual([expect.objectContaining({ image: 'agent', exitCode: 3, status: 401 })]);
    expectNoSecrets(human, secrets());
    expectNoSecrets(json, secrets());
  });

  it('credentials from LG_PINS_REGISTRY_AUTH and from a helper never show', async () => {
    const fromEnv = await lockVerbose(ws, { LG_PINS_REGISTRY_AUTH: JSON.stringify(auths(PASS)) });
    expect(fromEnv.code).toBe(0);
    expect(fromEnv.stderr).toContain('→ 200');
    expectNoSecrets(fromEnv, secrets());
    const fromHelper = await lockVerbose(ws, {
      PATH: helper('okhelper', 'ok', reg.host),
      DOCKER_CONFIG: dockerConfig({ credsStore: 'okhelper' }),
    });
    // The helper's Secret is not the registry's password: 401, exit 3, and still nothing shows.
    expect(fromHelper.code).toBe(3);
    expect(fromHelper.stderr).toContain('check the credentials for it in docker-credential-okhelper');
    expectNoSecrets(fromHelper, secrets());
  });

  it('a failing helper: exit 3 with its exit code, never its message (a helper may print a secret anywhere)', async () => {
    const human = await lockVerbose(ws, {
      PATH: helper('gpgish', 'fail', reg.host),
      DOCKER_CONFIG: dockerConfig({ credsStore: 'gpgish' }),
    });
    expect(human.code).toBe(3);
    expect(human.stderr).toMatch(
      /credential helper docker-credential-gpgish \(from .*config\.json\) failed for 127\.0\.0\.1:\d+: exit 1\n/,
    );
    expect(human.stderr).not.toContain('decryption failed');
    expectNoSecrets(human, secrets());
  });

  it('a helper that prints its credentials and still fails: the Secret is not passed on', async () => {
    const human = await lockVerbose(ws, { PATH: helper('leaky', 'leaky', reg.host), DOCKER_CONFIG: dockerConfig({ credsStore: 'leaky' }) });
    expect(human.code).toBe(3);
    // Neither the stdout that held the Secret nor its message on stderr is passed on.
    expect(human.stderr).toMatch(/credential helper docker-credential-leaky \(from .*config\.json\) failed for 127\.0\.0\.1:\d+: exit 1\n/);
    expect(human.stderr).not.toContain('keychain locked');
    expectNoSecrets(human, secrets());
  });

  it('a broken config.json holding a password: exit 2 naming the file, never its content', async () => {
    const dir = dockerConfig(`{\n  "auths": {\n    "${reg.host}": { "auth": ${b64(`${USER}:${PASS}`)} }\n  }\n}\n`);
    const human = await lockVerbose(ws, { DOCKER_CONFIG: dir });
    expect(human.code).toBe(2);
    // Node 20's JSON.parse gives no position for an unexpected token, so there may be no line:column.
    expect(human.stderr).toContain(`error: agent: ${join(dir, 'config.json')}`);
    expect(human.stderr).toContain('not valid JSON; fix or remove it');
    expectNoSecrets(human, secrets());
  });

  it('a broken LG_PINS_REGISTRY_AUTH: exit 2 naming the variable, never its value', async () => {
    const value = `{"auths":{"${reg.host}":{"auth":"${b64(`${USER}:${PASS}`)}"}}`;
    const human = await lockVerbose(ws, { LG_PINS_REGISTRY_AUTH: value });
    expect(human.code).toBe(2);
    expect(human.stderr).toMatch(/\$LG_PINS_REGISTRY_AUTH(:\d+:\d+)?: not valid JSON/);
    expectNoSecrets(human, secrets());
  });

  it('inspect --verbose with a wrong password: exit 3, nothing shows', async () => {
    const r = await runCli(
      ['inspect', '--verbose', `${reg.host}/private/agent:v1`],
      tmp(),
      env({ DOCKER_CONFIG: dockerConfig(auths(WRONG)) }),
    );
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('HTTP 401');
    expectNoSecrets(r, secrets());
  });
});

describe('token registry', () => {
  const ALICE = 'alice';
  let ts: TokenServer;
  let reg: TestRegistry;
  const ws = () =>
    workspace({
      images: { app: { ref: `${reg.host}/team/app`, tag: 'v1' } },
      fleet: { datacenter: { arch: 'x86_64', hosts: ['web-01'] } },
    });
  /** Every token the server handed out so far, and its signature alone. */
  const tokens = () => ts.issued.flatMap((t) => [t, t.split('.')[2]!]);
  const secrets = () => [
    ...spellings(PASS, ALICE),
    ...spellings(WRONG, ALICE),
    ...spellings(REFRESH, ALICE),
    ...spellings(HELPER_SECRET, ALICE),
    ...tokens(),
  ];

  beforeAll(async () => {
    ts = await startTokenServer({ users: { [ALICE]: PASS }, refreshTokens: { [REFRESH]: ALICE } });
    reg = await startRegistry({ auth: { kind: 'token', tokenServer: ts } });
    await pushMultiArch(await tokenPushTarget(reg.url, ts, 'team/app', { user: ALICE, pass: PASS }), 'team/app', 'v1', PLATFORMS, {
      salt: 'secret-token',
    });
  });
  afterAll(async () => {
    await reg?.stop();
    await ts?.stop();
  });

  it('success with a password: the trace shows the token request, and no token or password', async () => {
    const before = ts.issued.length;
    const { human, json } = await lockBoth(ws, {
      LG_PINS_REGISTRY_AUTH: JSON.stringify({ auths: { [reg.host]: { auth: b64(`${ALICE}:${PASS}`) } } }),
    });
    expect(human.code).toBe(0);
    expect(json.code).toBe(0);
    expect(human.stderr).toContain(`GET ${ts.realm} → 200`);
    expect(human.stderr).toContain(`GET http://${reg.host}/v2/team/app/manifests/v1 → 200`);
    // Both runs got a token of their own; neither shows up anywhere.
    expect(ts.issued.length - before).toBe(2);
    expectNoSecrets(human, secrets());
    expectNoSecrets(json, secrets());
  });

  it('success with an identity token (refresh-token POST): neither token shows', async () => {
    const before = ts.issued.length;
    const human = await lockVerbose(ws, { DOCKER_CONFIG: dockerConfig({ auths: { [reg.host]: { identitytoken: REFRESH } } }) });
    expect(human.code).toBe(0);
    expect(human.stderr).toContain(`POST ${ts.realm} → 200`);
    expect(ts.issued.length - before).toBe(1);
    expectNoSecrets(human, secrets());
  });

  it('a wrong password: exit 3 naming the token server and HTTP 401', async () => {
    const { human, json } = await lockBoth(ws, {
      DOCKER_CONFIG: dockerConfig({ auths: { [reg.host]: { auth: b64(`${ALICE}:${WRONG}`) } } }),
    });
    expect(human.code).toBe(3);
    expect(human.stderr).toMatch(/token server http:\/\/127\.0\.0\.1:\d+ answered HTTP 401/);
    expect(json.code).toBe(3);
    expectNoSecrets(human, secrets());
    expectNoSecrets(json, secrets());
  });

  it('a helper\'s identity token ("<token>" user) that the server revoked: exit 3, nothing shows', async () => {
    const human = await lockVerbose(ws, {
      PATH: helper('tokhelper', 'ok', reg.host, '<token>'),
      DOCKER_CONFIG: dockerConfig({ credHelpers: { [reg.host]: 'tokhelper' } }),
    });
    expect(human.code).toBe(3);
    expect(human.stderr).toContain('HTTP 401');
    expect(human.stderr).toContain(`POST ${ts.realm} → 401`);
    expectNoSecrets(human, secrets());
  });
});
