/**
 * Odd and hostile files, through the built CLI (issue 10, items 2, 4, 9, 14): secrets in the
 * files a spec points at are never printed, nothing hangs on a FIFO or a device, nothing is read
 * without bound, and the lock path is written through or refused, never silently replaced.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, runCli, STACK } from '../helpers/cli.js';
import { editFile, exampleDir } from '../helpers/example.js';

const edit = editFile;
const fifo = (path: string) => execFileSync('mkfifo', [path]);
/** A run that hangs is killed after this and fails its exit-code check. */
const QUICK = 15_000;
const SECRET = 'S3cr3tTokenValue-4711-never-print-me';
const both = (r: { stdout: string; stderr: string }) => `${r.stdout}\n${r.stderr}`;

describe('files full of secrets are never quoted', () => {
  it.each([
    [
      '/proc/self/environ (through a symlink)',
      (dir: string) => symlinkSync('/proc/self/environ', join(dir, 'hosts.txt')),
      /not a text file \(it holds NUL bytes\)/,
    ],
    [
      'a Docker config.json',
      (dir: string) =>
        writeFileSync(
          join(dir, 'hosts.txt'),
          JSON.stringify(
            { auths: { 'registry.example': { auth: Buffer.from(`user:${SECRET}`).toString('base64'), identitytoken: SECRET } } },
            null,
            2,
          ),
        ),
      /does not look like a hosts file: \d+ of \d+ lines are not host names; nothing from it is quoted/,
    ],
    [
      'an env file',
      (dir: string) =>
        writeFileSync(
          join(dir, 'hosts.txt'),
          `# deploy secrets\nTOKEN=${SECRET}\nPASSWORD=${SECRET}\nAPI_KEY=${SECRET}\nDB_URL=postgres://u:${SECRET}@db\nX=1\nY=2\n`,
        ),
      /does not look like a hosts file/,
    ],
  ])('a hostsFile that is %s is exit 2 naming the file, and prints none of it', async (_name, make, why) => {
    const dir = exampleDir('lgp-hostile-');
    make(dir);
    edit(join(dir, 'lg-pins.yaml'), 'hostsFile: examples/inventory/arm-servers.txt', 'hostsFile: hosts.txt');
    for (const args of [['lock'], ['lock', '--json'], ['check', '--verbose']]) {
      const r = await runCli(args, dir, { LG_PINS_TEST_SECRET: SECRET });
      expect(r.code, args.join(' ')).toBe(2);
      expect(both(r)).toMatch(why);
      expect(both(r)).toContain('hosts.txt');
      expect(both(r)).not.toContain(SECRET);
      expect(both(r)).not.toContain(Buffer.from(`user:${SECRET}`).toString('base64').slice(0, 12));
    }
  });

  it('a spec that is a symlink to a secrets file shows at most a short excerpt of the line it stopped at', async () => {
    const dir = exampleDir('lgp-hostile-');
    writeFileSync(join(dir, 'secrets.env'), `version: 1\npassword_for_the_production_database_is: here: ${SECRET}${'x'.repeat(5000)}\n`);
    rmSync(join(dir, 'lg-pins.yaml'));
    symlinkSync(join(dir, 'secrets.env'), join(dir, 'lg-pins.yaml'));
    for (const args of [['lock'], ['lock', '--json']]) {
      const r = await runCli(args, dir);
      expect(r.code).toBe(2);
      expect(both(r)).toMatch(/lg-pins\.yaml:2:\d+: .*\(at \\?"password_for_the_production_database[^"\\]*…\\?"\)/);
      expect(both(r).length).toBeLessThan(2000);
      expect(both(r)).not.toContain(SECRET.slice(0, 8));
    }
  });

  it("an OCI layout's index.json that is a symlink to a token file does not print its first characters (exit 3)", async () => {
    const dir = exampleDir('lgp-hostile-');
    writeFileSync(join(dir, 'token'), `ghp_${SECRET}\n`);
    rmSync(join(dir, 'examples/linuxguard-agent/index.json'));
    symlinkSync(join(dir, 'token'), join(dir, 'examples/linuxguard-agent/index.json'));
    const r = await runCli(['lock'], dir);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/index\.json is not valid JSON \(line 1, column 1: expected a value/);
    expect(both(r)).not.toContain('ghp_');
    expect(both(r)).not.toContain(SECRET.slice(0, 8));
  });
});

describe('reads are bounded: no hang, no gigabyte of memory', () => {
  it.each([
    [
      '/dev/zero',
      (dir: string) => symlinkSync('/dev/zero', join(dir, 'hosts.txt')),
      /it is a character device; a hosts file must be a regular file/,
    ],
    ['/dev/urandom', (dir: string) => symlinkSync('/dev/urandom', join(dir, 'hosts.txt')), /it is a character device/],
    ['a FIFO', (dir: string) => fifo(join(dir, 'hosts.txt')), /it is a FIFO \(named pipe\)/],
    [
      'a 20 GiB sparse file',
      (dir: string) => {
        writeFileSync(join(dir, 'hosts.txt'), '');
        truncateSync(join(dir, 'hosts.txt'), 20 * 1024 ** 3);
      },
      /it is 20480 MiB; lg-pins reads at most 16 MiB of a hosts file/,
    ],
  ])('a hostsFile that is %s is exit 2 at once', async (_name, make, why) => {
    const dir = exampleDir('lgp-hostile-');
    make(dir);
    edit(join(dir, 'lg-pins.yaml'), 'hostsFile: examples/inventory/arm-servers.txt', 'hostsFile: hosts.txt');
    const r = await runCli(['lock'], dir, {}, QUICK);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(why);
    expect(r.stderr).not.toMatch(STACK);
  });

  it('a spec that is a FIFO is exit 2, given with --config or found by discovery', async () => {
    const dir = exampleDir('lgp-hostile-');
    fifo(join(dir, 'other.yaml'));
    const given = await runCli(['check', '--config', 'other.yaml'], dir, {}, QUICK);
    expect(given.code).toBe(2);
    expect(given.stderr).toMatch(/other\.yaml: cannot read the spec: it is a FIFO/);
    rmSync(join(dir, 'lg-pins.yaml'));
    fifo(join(dir, 'lg-pins.yaml'));
    const found = await runCli(['check'], dir, {}, QUICK);
    expect(found.code).toBe(2);
    expect(found.stderr).toMatch(/lg-pins\.yaml is not a regular file/);
  });

  it('a lock that is a FIFO or a directory is exit 2 for every command that reads it', async () => {
    for (const make of [(f: string) => fifo(f), (f: string) => mkdirSync(f)]) {
      const dir = exampleDir('lgp-hostile-');
      make(join(dir, 'lg-pins.lock.yaml'));
      for (const cmd of ['lock', 'check', 'pins', 'diff']) {
        const r = await runCli([cmd], dir, {}, QUICK);
        expect(r.code, cmd).toBe(2);
        expect(r.stderr).toMatch(/lg-pins\.lock\.yaml: cannot read the lock: it is a (FIFO|directory)/);
      }
    }
  });

  it("an OCI layout's index.json that is a FIFO, or a blob that is /dev/zero, fails that image (exit 3 or 4) at once", async () => {
    const dir = exampleDir('lgp-hostile-');
    rmSync(join(dir, 'examples/linuxguard-agent/index.json'));
    fifo(join(dir, 'examples/linuxguard-agent/index.json'));
    const r = await runCli(['lock'], dir, {}, QUICK);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/index\.json: it is a FIFO/);
    const dir2 = exampleDir('lgp-hostile-');
    const blob = join(dir2, 'examples/linuxguard-agent/blobs/sha256/e763b4bf2da94c69be146ad1634db18cd84b84b6f3e70ebf29e366f8233b38d8');
    rmSync(blob);
    symlinkSync('/dev/zero', blob);
    const r2 = await runCli(['lock'], dir2, {}, QUICK);
    expect(r2.code).toBe(3);
    expect(r2.stderr).toMatch(/e763b4bf2da9.*it is a character device/);
  });
});

describe('the lock path', () => {
  it('a lock that is a symlink is written through to its target; the link stays', async () => {
    const dir = exampleDir('lgp-hostile-');
    mkdirSync(join(dir, 'state'));
    writeFileSync(join(dir, 'state/pins.yaml'), '');
    symlinkSync('state/pins.yaml', join(dir, 'lg-pins.lock.yaml'));
    rmSync(join(dir, 'state/pins.yaml'));
    // A dangling link is refused, and left as it was.
    const dangling = await runCli(['lock'], dir);
    expect(dangling.code).toBe(2);
    expect(dangling.stderr).toMatch(/lg-pins\.lock\.yaml is a symbolic link to .*state\/pins\.yaml, which does not exist/);
    writeFileSync(join(dir, 'state/pins.yaml'), readFileSync(join(ROOT, 'lg-pins.lock.yaml'), 'utf8').replace('v3.0.0', 'v0.0.0'));
    edit(join(dir, 'lg-pins.yaml'), 'tag: v3.0.0', 'tag: v3.1.0');
    const r = await runCli(['lock'], dir);
    expect(r.code).toBe(0);
    expect(execFileSync('readlink', [join(dir, 'lg-pins.lock.yaml')], { encoding: 'utf8' }).trim()).toBe('state/pins.yaml');
    expect(readFileSync(join(dir, 'state/pins.yaml'), 'utf8')).toMatch(/tag: v3\.1\.0/);
    expect(readdirSync(join(dir, 'state'))).toEqual(['pins.yaml']);
    expect((await runCli(['check'], dir)).code).toBe(0);
  });
});

describe('messages stay short', () => {
  it('a 200 KB value in the spec gives a capped message', async () => {
    const dir = exampleDir('lgp-hostile-');
    edit(join(dir, 'lg-pins.yaml'), 'ref: oci-layout://examples/linuxguard-agent', `ref: "${'a'.repeat(200_000)}"`);
    const r = await runCli(['check'], dir);
    expect(r.code).toBe(2);
    expect(r.stderr.length).toBeLessThan(3000);
    expect(r.stderr).toMatch(/images\.agent\.ref/);
  });

  it('a hosts file with a 200 KB line quotes a short excerpt of it', async () => {
    const dir = exampleDir('lgp-hostile-');
    writeFileSync(join(dir, 'examples/inventory/arm-servers.txt'), `build-01\n${'bad host '.repeat(25_000)}\nbuild-02\n`);
    const r = await runCli(['check'], dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/arm-servers\.txt:2:1: "bad host bad host .*…" is not a host name/);
    expect(r.stderr.length).toBeLessThan(1000);
  });
});

describe('two registries keys for one registry', () => {
  it.each([
    ['Docker.io', 'docker.io'],
    ['registry.example:443', 'registry.example'],
    ['index.docker.io', 'docker.io'],
  ])('%s and %s with contradicting settings are exit 2 naming both', async (a, b) => {
    const dir = exampleDir('lgp-hostile-');
    edit(join(dir, 'lg-pins.yaml'), 'images:', `registries:\n  ${a}:\n    concurrency: 2\n  ${b}:\n    concurrency: 4\nimages:`);
    const r = await runCli(['check'], dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`"${b}" and "${a}" name the same registry`);
    expect(r.stderr).toMatch(/lg-pins\.yaml:\d+:3: registries\./);
  });

  it('the same settings under two spellings are accepted', async () => {
    const dir = exampleDir('lgp-hostile-');
    edit(join(dir, 'lg-pins.yaml'), 'images:', 'registries:\n  Docker.io:\n    concurrency: 2\n  docker.io:\n    concurrency: 2\nimages:');
    expect((await runCli(['lock'], dir)).code).toBe(0);
    expect(existsSync(join(dir, 'lg-pins.lock.yaml'))).toBe(true);
  });
});
