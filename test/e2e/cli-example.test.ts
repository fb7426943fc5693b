import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { ROOT, runCli, STACK } from '../helpers/cli.js';
import { exampleDir } from '../helpers/example.js';

const OUTPUTS = [
  'deploy/arm-servers.env',
  'deploy/datacenter.env',
  'deploy/edge.env',
  'deploy/kustomize/kustomization.yaml',
  'deploy/riscv-lab.env',
];

describe('the README quick start, offline, on the bundled example', () => {
  let dir: string;
  beforeEach(() => {
    dir = exampleDir('lgp-e2e-');
  });

  it('locks the example into exactly the committed lock, then reruns byte-identically without rewriting', async () => {
    const first = await runCli(['lock'], dir);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/^wrote lg-pins\.lock\.yaml\n\s+agent\s+v3\.0\.0\s+sha256:e763b4bf2da9\s+4 platforms\n/);
    // The example's deploy outputs, written with it: exactly the committed ones.
    for (const out of OUTPUTS) {
      expect(first.stdout).toContain(`wrote ${out}\n`);
      expect(readFileSync(join(dir, out), 'utf8')).toBe(readFileSync(join(ROOT, out), 'utf8'));
    }
    const text = readFileSync(join(dir, 'lg-pins.lock.yaml'), 'utf8');
    expect(text).toBe(readFileSync(join(ROOT, 'lg-pins.lock.yaml'), 'utf8'));
    const mtime = statSync(join(dir, 'lg-pins.lock.yaml')).mtimeMs;
    const second = await runCli(['lock'], dir);
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/is up to date/);
    expect(readFileSync(join(dir, 'lg-pins.lock.yaml'), 'utf8')).toBe(text);
    expect(statSync(join(dir, 'lg-pins.lock.yaml')).mtimeMs).toBe(mtime);
  });

  it('pins --host web-01 --image agent prints exactly one repo@digest line for that host', async () => {
    await runCli(['lock'], dir);
    const r = await runCli(['pins', '--host', 'web-01', '--image', 'agent'], dir);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      'oci-layout://examples/linuxguard-agent@sha256:b13778b808f3a20a09a7c4fc1e3181e99329493ea6d5ee6fc64a584cb9e33d0f\n',
    );
    const edge = await runCli(['pins', '--host', 'gw-lyon', '--image', 'agent'], dir);
    expect(edge.stdout).toBe(
      'oci-layout://examples/linuxguard-agent@sha256:23339d025c83488dc8563e9b6149d1241b96cc69df2a858b26d9949679d68c38\n',
    );
    const fromFile = await runCli(['pins', '--host', 'cache-01', '--image', 'agent'], dir);
    expect(fromFile.stdout).toMatch(/@sha256:6f7d3cf1625e902f6756ee919b58210279a9a616b50abd823cb3bc6a1ab22207\n$/);
    const json = await runCli(['pins', '--group', 'edge', '--json'], dir);
    expect(JSON.parse(json.stdout)).toEqual([
      expect.objectContaining({
        group: 'edge',
        image: 'agent',
        platform: 'linux/arm/v7',
        hosts: ['gw-berlin', 'gw-lyon', 'gw-oslo'],
        tag: 'v3.0.0',
      }),
    ]);
    const table = await runCli(['pins'], dir);
    expect(table.stdout.split('\n')[0]).toMatch(/^GROUP\s+IMAGE\s+PLATFORM\s+HOSTS\s+TAG\s+REFERENCE$/);
    expect(table.stdout.trim().split('\n')).toHaveLength(5);
  });

  it('pins with an unknown host, or before any lock, is exit 2 with a pointed message', async () => {
    const nolock = await runCli(['pins', '--host', 'web-01', '--image', 'agent'], dir);
    expect(nolock.code).toBe(2);
    expect(nolock.stderr).toMatch(/no lock yet; run `lg-pins lock` first/);
    await runCli(['lock'], dir);
    const r = await runCli(['pins', '--host', 'nope', '--image', 'agent'], dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/host "nope" is not in any group/);
  });

  it('holds riscv-lab when the tag moves to a release without riscv64, and fails without hold, keeping the lock', async () => {
    await runCli(['lock'], dir);
    const spec = readFileSync(join(dir, 'lg-pins.yaml'), 'utf8');
    writeFileSync(join(dir, 'lg-pins.yaml'), spec.replace('tag: v3.0.0', 'tag: v3.1.0'));
    const held = await runCli(['lock'], dir);
    expect(held.code).toBe(0);
    expect(held.stderr).toMatch(/held: group riscv-lab stays on agent v3\.0\.0: linux\/riscv64 is not in v3\.1\.0/);
    const lock = readFileSync(join(dir, 'lg-pins.lock.yaml'), 'utf8');
    expect(lock).toMatch(
      /riscv-lab:\n\s+agent: \{ platform: linux\/riscv64, digest: sha256:5a550b42c36ec58aae1b865df75518433928a776dafe22b2ba27e8319d11b0de, tag: v3\.0\.0, index: sha256:e763b4bf2da94c69be146ad1634db18cd84b84b6f3e70ebf29e366f8233b38d8, held: linux\/riscv64 is not in v3\.1\.0 \}/,
    );
    expect(lock).toMatch(/tag: v3\.1\.0/);

    writeFileSync(join(dir, 'lg-pins.yaml'), spec.replace('tag: v3.0.0', 'tag: v3.1.1').replace(/\n\s+onMissing: hold.*/, ''));
    const failed = await runCli(['lock'], dir);
    expect(failed.code).toBe(3);
    expect(failed.stderr).toMatch(
      /agent: group "riscv-lab" \(1 host\) needs linux\/riscv64, which oci-layout:\/\/examples\/linuxguard-agent:v3\.1\.1 does not ship/,
    );
    expect(failed.stderr).not.toMatch(STACK);
    expect(readFileSync(join(dir, 'lg-pins.lock.yaml'), 'utf8')).toBe(lock);
  });

  it('a first run in which every image fails creates no lock file', async () => {
    const spec = readFileSync(join(dir, 'lg-pins.yaml'), 'utf8');
    writeFileSync(join(dir, 'lg-pins.yaml'), spec.replace('tag: v3.0.0', 'tag: v9.9.9'));
    const r = await runCli(['lock'], dir);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/agent: tag "v9\.9\.9" not found in oci-layout:\/\//);
    expect(existsSync(join(dir, 'lg-pins.lock.yaml'))).toBe(false);
  });

  it('a broken spec is exit 2, names file, line, column and key, prints no stack, writes nothing', async () => {
    writeFileSync(
      join(dir, 'lg-pins.yaml'),
      'version: 1\nimages:\n  agent:\n    ref: oci-layout://examples/linuxguard-agent\n    tag: v3.0.0\nfleet:\n  dc:\n    arch: x86-64x\n    hosts: [a]\n  edge:\n    arch: armv7l\n    hosts: [a]\n',
    );
    const r = await runCli(['lock'], dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/lg-pins\.yaml:8:11: fleet\.dc\.arch: "x86-64x" is not a known `uname -m` value \(did you mean "x86_64"\?\)/);
    expect(r.stderr).not.toMatch(STACK);
    expect(r.stdout).toBe('');
    expect(existsSync(join(dir, 'lg-pins.lock.yaml'))).toBe(false);
  });

  it('--config points at a spec elsewhere; a missing one is exit 2', async () => {
    const other = mkdtempSync(join(tmpdir(), 'lgp-cwd-'));
    const r = await runCli(['lock', '--config', join(dir, 'lg-pins.yaml'), '--json'], other);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { written: boolean; images: Record<string, { tag: string }> };
    expect(out.written).toBe(true);
    expect(out.images.agent!.tag).toBe('v3.0.0');
    expect(existsSync(join(dir, 'lg-pins.lock.yaml'))).toBe(true);
    const missing = await runCli(['lock', '-c', 'nope.yaml'], other);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/nope\.yaml: cannot read the spec: no such file/);
    rmSync(other, { recursive: true });
  });

  it('inspect shows platforms, digests, media types and sizes of a layout tag', async () => {
    const r = await runCli(['inspect', '--json', 'oci-layout://examples/linuxguard-agent:v3.1.0'], dir);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { digest: string; platforms: Array<{ platform: string; size: number; mediaType: string }> };
    expect(out.digest).toBe('sha256:740d6d29daba237ac675edc91c18d313266faee2c19987c9e9be2b3678fb46f6');
    expect(out.platforms.map((p) => p.platform)).toEqual(['linux/amd64', 'linux/arm64/v8', 'linux/arm/v7']);
    expect(out.platforms.every((p) => p.size > 0 && p.mediaType.includes('manifest'))).toBe(true);
    const human = await runCli(['inspect', 'oci-layout://examples/linuxguard-agent:v2.9.0'], dir);
    expect(human.stdout).toMatch(/PLATFORM\s+DIGEST\s+MEDIA TYPE\s+SIZE\n\s+linux\/amd64\s+sha256:07ea5e8b/);
  });

  it('--help, --version and usage errors', async () => {
    const help = await runCli(['--help'], dir);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/Commands:[\s\S]*lock[\s\S]*pins[\s\S]*inspect/);
    expect(help.stdout).toMatch(/Exit codes: 0 success/);
    const version = await runCli(['--version'], dir);
    expect(version.stdout.trim()).toBe(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version);
    const bad = await runCli(['lock', '--frobnicate'], dir);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/unknown option '--frobnicate'/);
  });
});

describe('progress goes to stderr only on a terminal', () => {
  it('prints one line per image on a TTY, nothing otherwise', async () => {
    const dir = exampleDir('lgp-e2e-');
    const run = async (tty: boolean) => {
      let out = '';
      let err = '';
      const code = await main(['lock', '--dry-run'], {
        stdout: { write: (s: string) => (out += s), isTTY: tty },
        stderr: { write: (s: string) => (err += s), isTTY: tty },
        cwd: dir,
        env: { NO_COLOR: '1' },
      });
      return { code, out, err };
    };
    const tty = await run(true);
    expect(tty.code).toBe(0);
    expect(tty.err).toBe('✓ agent v3.0.0 sha256:e763b4bf2da9\n');
    expect(tty.out).toMatch(/would change \(dry run\)/);
    const pipe = await run(false);
    expect(pipe.err).toBe('');
    expect(existsSync(join(dir, 'lg-pins.lock.yaml'))).toBe(false);
  });
});
