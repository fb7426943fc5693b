import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AuthConfigError, RegistryError } from '../../src/errors.js';
import { authKey, credentialStore } from '../../src/registry/credentials.js';
import { fakeCredentialHelper } from '../helpers/cred-helper.js';
import { tempDir } from '../helpers/tmp.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const tmp = () => tempDir('lgp-cred-');

function configDir(content: unknown): string {
  const dir = tmp();
  writeFileSync(join(dir, 'config.json'), typeof content === 'string' ? content : JSON.stringify(content));
  return dir;
}

const fakeHelper = (name: string, known: Record<string, { Username: string; Secret: string }>, failWith?: string) =>
  fakeCredentialHelper(name, known, failWith).bin;

const PATH = process.env.PATH ?? '/usr/bin:/bin';

describe('Docker config: auths', () => {
  it('maps Docker Hub aliases to its canonical key and reduces URLs to host[:port]', () => {
    expect(authKey('docker.io')).toBe('https://index.docker.io/v1/');
    expect(authKey('https://index.docker.io/v1/')).toBe('https://index.docker.io/v1/');
    expect(authKey('https://Reg.Example:5000/v2/')).toBe('reg.example:5000');
  });

  it('decodes auth (first colon, trailing NULs), username/password, and identitytoken', async () => {
    const store = credentialStore({
      DOCKER_CONFIG: configDir({
        auths: {
          'https://index.docker.io/v1/': { auth: b64('hubuser:p:w') },
          'reg.example:5000': { auth: b64('u:secret\0\0') },
          'https://old.example/v1/': { username: 'o', password: 'x' },
          'id.example': { identitytoken: 'refresh-me' },
          'empty.example': {},
        },
      }),
    });
    expect(await store('docker.io')).toMatchObject({ username: 'hubuser', password: 'p:w' });
    expect(await store('reg.example:5000')).toMatchObject({ username: 'u', password: 'secret' });
    expect(await store('old.example')).toMatchObject({ username: 'o', password: 'x' });
    expect(await store('id.example')).toMatchObject({ identityToken: 'refresh-me' });
    expect(await store('empty.example')).toBeUndefined();
    expect(await store('other.example')).toBeUndefined();
  });

  it('treats missing files as anonymous', async () => {
    expect(await credentialStore({ DOCKER_CONFIG: tmp() })('reg.example')).toBeUndefined();
  });

  it('reports a broken file as bad input naming the file, without echoing secrets', async () => {
    await expect(credentialStore({ DOCKER_CONFIG: configDir('{"auths": {') })('x')).rejects.toThrow(AuthConfigError);
    await expect(credentialStore({ DOCKER_CONFIG: configDir('{"auths": {') })('x')).rejects.toThrow(
      /config\.json(:\d+:\d+)?: not valid JSON; fix or remove it/,
    );
    const err = await credentialStore({ DOCKER_CONFIG: configDir({ auths: { 'r.example': { auth: b64('hunter2') } } }) })(
      'r.example',
    ).catch((e: Error) => e);
    expect((err as Error).message).toMatch(/auths\."r\.example"\.auth is not base64 of "user:password"/);
    expect((err as Error).message).not.toContain('hunter2');
    expect((err as Error).message).not.toContain(b64('hunter2'));
    await expect(
      credentialStore({ DOCKER_CONFIG: configDir({ credHelpers: { 'r.example': 'bad name; rm -rf' } }) })('r.example'),
    ).rejects.toThrow(/credHelpers\."r\.example" must name a helper/);
    await expect(credentialStore({ DOCKER_CONFIG: configDir({ auths: [] }) })('r.example')).rejects.toThrow(/"auths" must be an object/);
  });

  it('never quotes the file around a JSON error, where a credential may sit', async () => {
    const secret = b64('alice:s3cr3tPassword');
    const err = await credentialStore({ DOCKER_CONFIG: configDir(`{"auths":{"r.example":{"auth":${secret}}}}`) })('r.example').catch(
      (e: Error) => e,
    );
    expect((err as Error).message).toMatch(/config\.json(:\d+:\d+)?: not valid JSON/);
    expect((err as Error).message).not.toContain(secret.slice(0, 6));
  });
});

describe('credential helpers (docker-credential-<name> get)', () => {
  it('credHelpers[host] wins over credsStore, which wins over auths; "<token>" means an identity token', async () => {
    const bin1 = fakeHelper('pass', { 'reg.example': { Username: 'helper-user', Secret: 'helper-secret' } });
    const bin2 = fakeHelper('desktop', {
      'https://index.docker.io/v1/': { Username: '<token>', Secret: 'refresh' },
      'auths.example': { Username: 'store-user', Secret: 'store-secret' },
    });
    const store = credentialStore({
      PATH: `${bin1}:${bin2}:${PATH}`,
      DOCKER_CONFIG: configDir({
        credHelpers: { 'reg.example': 'pass' },
        credsStore: 'desktop',
        auths: { 'auths.example': { auth: b64('file-user:file-secret') } },
      }),
    });
    expect(await store('reg.example')).toMatchObject({ username: 'helper-user', password: 'helper-secret' });
    expect(await store('docker.io')).toMatchObject({ identityToken: 'refresh' });
    expect(await store('auths.example')).toMatchObject({ username: 'store-user', password: 'store-secret' });
    // "credentials not found" is anonymous, not an error.
    expect(await store('unknown.example')).toBeUndefined();
  });

  it('a failing helper is exit 3 with its exit code, never its output; a missing one names it', async () => {
    const bin = fakeHelper('broken', {}, 'error getting credentials - err: exec: "gpg": not found');
    const err = await credentialStore({ PATH: `${bin}:${PATH}`, DOCKER_CONFIG: configDir({ credsStore: 'broken' }) })('reg.example').catch(
      (e: Error) => e,
    );
    expect(err).toBeInstanceOf(RegistryError);
    expect((err as RegistryError).exitCode).toBe(3);
    expect((err as Error).message).toMatch(
      /credential helper docker-credential-broken \(from .*config\.json\) failed for reg\.example: exit 1$/,
    );
    expect((err as Error).message).not.toContain('gpg');
    const missing = await credentialStore({ PATH, DOCKER_CONFIG: configDir({ credsStore: 'nosuchhelper' }) })('reg.example').catch(
      (e: Error) => e,
    );
    expect((missing as Error).message).toMatch(/docker-credential-nosuchhelper is not on PATH/);
  });

  it('a helper that outlives helperTimeoutMs is killed: exit 3 naming it, soon after the timeout', async () => {
    const bin = tmp();
    writeFileSync(join(bin, 'docker-credential-stuck'), '#!/bin/sh\nexec sleep 1000\n', { mode: 0o755 });
    const start = Date.now();
    const err = await credentialStore(
      { PATH: `${bin}:${PATH}`, DOCKER_CONFIG: configDir({ credsStore: 'stuck' }) },
      { helperTimeoutMs: 300 },
    )('reg.example').catch((e: Error) => e);
    expect(err).toBeInstanceOf(RegistryError);
    expect((err as Error).message).toMatch(/docker-credential-stuck .* failed for reg\.example: no answer within 0\.3 s \(killed\)$/);
    expect(Date.now() - start).toBeLessThan(5000);
  });

  it('a helper that answers and exits, leaving a child on its stdout: the answer is used at once, the child killed', async () => {
    const bin = tmp();
    const pidFile = join(bin, 'child.pid');
    const creds = JSON.stringify({ ServerURL: 'reg.example', Username: 'u', Secret: 'kept-secret' });
    writeFileSync(
      join(bin, 'docker-credential-forker'),
      `#!/bin/sh\nread server\nsleep 30 &\necho $! > ${pidFile}\necho '${creds}'\nexit 0\n`,
      { mode: 0o755 },
    );
    const start = Date.now();
    const found = await credentialStore(
      { PATH: `${bin}:${PATH}`, DOCKER_CONFIG: configDir({ credsStore: 'forker' }) },
      { helperTimeoutMs: 5000 },
    )('reg.example');
    expect(found).toMatchObject({ username: 'u', password: 'kept-secret' });
    expect(Date.now() - start).toBeLessThan(3000);
    const child = Number(readFileSync(pidFile, 'utf8'));
    await new Promise((r) => setTimeout(r, 100));
    // Gone, or a zombie waiting for init to reap it (the helper that started it has exited).
    const state = existsSync(`/proc/${child}/stat`) ? readFileSync(`/proc/${child}/stat`, 'utf8').replace(/^.*\) /s, '')[0] : 'gone';
    expect(['gone', 'Z']).toContain(state);
  });
});

describe('the order of sources, and Podman auth.json', () => {
  it('LG_PINS_REGISTRY_AUTH beats REGISTRY_AUTH_FILE beats Docker config beats Podman', async () => {
    const run = tmp();
    mkdirSync(join(run, 'containers'));
    writeFileSync(
      join(run, 'containers', 'auth.json'),
      JSON.stringify({
        auths: {
          'a.example': { auth: b64('podman:1') },
          'b.example': { auth: b64('podman:2') },
          'c.example': { auth: b64('podman:3') },
          'd.example': { auth: b64('podman:4') },
        },
      }),
    );
    const explicit = join(tmp(), 'auth.json');
    writeFileSync(explicit, JSON.stringify({ auths: { 'a.example': { auth: b64('file:1') }, 'b.example': { auth: b64('file:2') } } }));
    const store = credentialStore({
      LG_PINS_REGISTRY_AUTH: JSON.stringify({ auths: { 'a.example': { auth: b64('env:1') } } }),
      REGISTRY_AUTH_FILE: explicit,
      DOCKER_CONFIG: configDir({
        auths: { 'a.example': { auth: b64('docker:1') }, 'b.example': { auth: b64('docker:2') }, 'c.example': { auth: b64('docker:3') } },
      }),
      XDG_RUNTIME_DIR: run,
    });
    expect((await store('a.example'))?.username).toBe('env');
    expect((await store('b.example'))?.username).toBe('file');
    expect((await store('c.example'))?.username).toBe('docker');
    expect((await store('d.example'))?.username).toBe('podman');
  });

  it('Podman keys may name a namespace, matched most specific first', async () => {
    const file = join(tmp(), 'auth.json');
    writeFileSync(
      file,
      JSON.stringify({
        auths: {
          'quay.example/team/app': { auth: b64('app:x') },
          'quay.example/team': { auth: b64('team:x') },
          'quay.example': { auth: b64('host:x') },
          'docker.io/myorg': { auth: b64('hub-org:x') },
        },
      }),
    );
    const store = credentialStore({ REGISTRY_AUTH_FILE: file });
    expect((await store('quay.example', 'team/app'))?.username).toBe('app');
    expect((await store('quay.example', 'team/other'))?.username).toBe('team');
    expect((await store('quay.example', 'else/x'))?.username).toBe('host');
    expect((await store('docker.io', 'myorg/tool'))?.username).toBe('hub-org');
  });

  it('a broken LG_PINS_REGISTRY_AUTH is bad input naming the variable', async () => {
    await expect(credentialStore({ LG_PINS_REGISTRY_AUTH: '{nope' })('x')).rejects.toThrow(
      /\$LG_PINS_REGISTRY_AUTH(:\d+:\d+)?: not valid JSON/,
    );
  });
});

describe('auth files are read with bounds (issue 10, item 4)', () => {
  it('a config.json that is a FIFO, a device or too large is exit 2 naming it, at once', async () => {
    const fifoDir = tmp();
    execFileSync('mkfifo', [join(fifoDir, 'config.json')]);
    await expect(credentialStore({ DOCKER_CONFIG: fifoDir })('x')).rejects.toThrow(
      new AuthConfigError(
        `${join(fifoDir, 'config.json')}: it is a FIFO (named pipe); an auth file must be a regular file; fix or remove it`,
      ),
    );
    const devDir = tmp();
    symlinkSync('/dev/zero', join(devDir, 'config.json'));
    await expect(credentialStore({ DOCKER_CONFIG: devDir })('x')).rejects.toThrow(/config\.json: it is a character device/);
    const bigDir = tmp();
    writeFileSync(join(bigDir, 'config.json'), '');
    truncateSync(join(bigDir, 'config.json'), 5 * 1024 * 1024);
    await expect(credentialStore({ DOCKER_CONFIG: bigDir })('x')).rejects.toThrow(
      /config\.json: it is 5 MiB; lg-pins reads at most 4 MiB of an auth file/,
    );
    await expect(
      credentialStore({ LG_PINS_REGISTRY_AUTH: `{"auths":{"x":{"auth":"${'a'.repeat(5 * 1024 * 1024)}"}}}` })('x'),
    ).rejects.toThrow(/\$LG_PINS_REGISTRY_AUTH: it is 5 MiB/);
  });

  it('a config.json that is not JSON is located, never quoted', async () => {
    const secret = 'dXNlcjpzM2NyM3Q=';
    const err = (await credentialStore({ DOCKER_CONFIG: configDir(`{"auths": {"r": {"auth": "${secret}" x}}}`) })('x').then(
      () => undefined,
      (e: unknown) => e,
    )) as Error;
    expect(err).toBeInstanceOf(AuthConfigError);
    expect(err.message).toMatch(/config\.json:1:\d+: not valid JSON; fix or remove it$/);
    expect(err.message).not.toContain(secret.slice(0, 6));
  });
});
