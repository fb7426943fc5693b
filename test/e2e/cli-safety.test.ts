import { existsSync, readFileSync, rmSync, statSync, chmodSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, STACK } from '../helpers/cli.js';
import { exampleDir } from '../helpers/example.js';

/** The bundled example without its lock, in a temp dir. */
const edit = (file: string, from: string | RegExp, to: string) => writeFileSync(file, readFileSync(file, 'utf8').replace(from, to));

describe('nothing that was pinned is lost', () => {
  it('a spec with another name gets its own lock beside it and never overwrites lg-pins.lock.yaml', async () => {
    const dir = exampleDir('lgp-safe-');
    expect((await runCli(['lock'], dir)).code).toBe(0);
    const main = readFileSync(join(dir, 'lg-pins.lock.yaml'), 'utf8');
    writeFileSync(join(dir, 'staging.yaml'), 'version: 1\nimages:\n  old: { ref: oci-layout://examples/linuxguard-agent, tag: v2.9.0 }\n');
    const r = await runCli(['lock', '-c', 'staging.yaml'], dir);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^wrote staging\.lock\.yaml\n\s+old\s+v2\.9\.0\s+sha256:07ea5e8ba50e\s+1 platform\n$/);
    expect(readFileSync(join(dir, 'lg-pins.lock.yaml'), 'utf8')).toBe(main);
    expect(readFileSync(join(dir, 'staging.lock.yaml'), 'utf8')).toMatch(
      /old:\n\s+ref: oci-layout:\/\/examples\/linuxguard-agent\n\s+tag: v2\.9\.0/,
    );
  });

  it('keeps the lock file mode when it rewrites it', async () => {
    const dir = exampleDir('lgp-safe-');
    await runCli(['lock'], dir);
    chmodSync(join(dir, 'lg-pins.lock.yaml'), 0o600);
    edit(join(dir, 'lg-pins.yaml'), 'tag: v3.0.0', 'tag: v3.1.0');
    expect((await runCli(['lock'], dir)).code).toBe(0);
    expect(statSync(join(dir, 'lg-pins.lock.yaml')).mode & 0o777).toBe(0o600);
  });

  it('a track image whose older releases cannot all be read still finds the held group a release that ships its platform', async () => {
    const dir = exampleDir('lgp-safe-');
    // Lose the v3.1.0 index blob: that release can no longer be read.
    rmSync(join(dir, 'examples/linuxguard-agent/blobs/sha256/740d6d29daba237ac675edc91c18d313266faee2c19987c9e9be2b3678fb46f6'));
    edit(join(dir, 'lg-pins.yaml'), 'tag: v3.0.0', 'track: "^3.0.0"');
    const r = await runCli(['lock'], dir);
    expect(r.stderr).toMatch(/held: group riscv-lab stays on agent v3\.0\.0: linux\/riscv64 is not in v3\.1\.1/);
    expect(r.code).toBe(0);
    const lock = readFileSync(join(dir, 'lg-pins.lock.yaml'), 'utf8');
    expect(lock).toMatch(/tag: v3\.1\.1/);
    expect(lock).toMatch(
      /riscv-lab:\n\s+agent: \{ platform: linux\/riscv64, digest: sha256:5a550b42c36ec58aae1b865df75518433928a776dafe22b2ba27e8319d11b0de, tag: v3\.0\.0, index: sha256:e763b4bf2da94c69be146ad1634db18cd84b84b6f3e70ebf29e366f8233b38d8, held: linux\/riscv64 is not in v3\.1\.1 \}/,
    );
  });
});

describe('lock never writes a lock it could not read back', () => {
  it('a tag that offers only attestation entries fails (exit 3) instead of locking an empty platform list', async () => {
    const dir = exampleDir('lgp-safe-');
    const layout = join(dir, 'examples/linuxguard-agent');
    const blob = (d: string) => join(layout, 'blobs/sha256', d.slice('sha256:'.length));
    type Desc = { digest: string; mediaType: string; size: number; platform?: { os: string }; annotations?: Record<string, string> };
    const top = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) as { manifests: Desc[] };
    const v300 = top.manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === 'v3.0.0')!;
    const index = JSON.parse(readFileSync(blob(v300.digest), 'utf8')) as { manifests: Desc[] };
    const onlyAtt = Buffer.from(JSON.stringify({ ...index, manifests: index.manifests.filter((m) => m.platform?.os === 'unknown') }));
    const digest = `sha256:${createHash('sha256').update(onlyAtt).digest('hex')}`;
    writeFileSync(blob(digest), onlyAtt);
    top.manifests.push({
      mediaType: v300.mediaType,
      digest,
      size: onlyAtt.length,
      annotations: { 'org.opencontainers.image.ref.name': 'only-att' },
    });
    writeFileSync(join(layout, 'index.json'), JSON.stringify(top));
    writeFileSync(
      join(dir, 'lg-pins.yaml'),
      'version: 1\nimages:\n  att: { ref: oci-layout://examples/linuxguard-agent, tag: only-att }\n  ok: { ref: oci-layout://examples/linuxguard-agent, tag: v3.0.0 }\n',
    );
    const r = await runCli(['lock'], dir);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/att: oci-layout:\/\/examples\/linuxguard-agent:only-att offers no runnable platform/);
    // The other image is locked, and the lock reads back.
    expect((await runCli(['check'], dir)).stdout).toMatch(/image "att" is in the spec but not in the lock/);
    expect((await runCli(['pins', '--json'], dir)).code).toBe(0);
  });
});

describe('pins never hands out a digest the spec no longer agrees with', () => {
  it('a group whose arch changed since the lock is exit 2, pointing at the lock and `lg-pins lock`', async () => {
    const dir = exampleDir('lgp-safe-');
    await runCli(['lock'], dir);
    edit(join(dir, 'lg-pins.yaml'), 'arch: x86_64', 'arch: riscv64');
    const r = await runCli(['pins', '--host', 'web-01', '--image', 'agent'], dir);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(
      /lg-pins\.lock\.yaml: group "datacenter" is linux\/riscv64, but its pin of "agent" is for linux\/amd64; the lock is stale, run `lg-pins lock`/,
    );
  });

  it('host names match without regard to case', async () => {
    const dir = exampleDir('lgp-safe-');
    await runCli(['lock'], dir);
    const r = await runCli(['pins', '--host', 'WEB-01', '--image', 'agent'], dir);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/@sha256:b13778b808f3/);
  });
});

describe('--json always gives scripts one document, errors included', () => {
  it.each([
    [['lock', '--json', '-c', 'missing.yaml'], 2, /missing\.yaml: cannot read the spec/],
    [['pins', '--json'], 2, /no lock yet/],
    [['inspect', '--json', 'oci-layout://examples/linuxguard-agent@sha256:xyz'], 2, /is not a digest|needs exactly 64/],
  ])('%j', async (args, code, message) => {
    const dir = exampleDir('lgp-safe-');
    const r = await runCli(args, dir);
    expect(r.code).toBe(code);
    const doc = JSON.parse(r.stdout) as { error: { exitCode: number; message: string } };
    expect(doc.error.exitCode).toBe(code);
    expect(doc.error.message).toMatch(message);
    expect(r.stderr).not.toMatch(STACK);
  });

  it('a broken spec lists every issue with file, line and column', async () => {
    const dir = exampleDir('lgp-safe-');
    writeFileSync(
      join(dir, 'lg-pins.yaml'),
      'version: 1\nimages:\n  a: { ref: x/y, tag: v1, track: "^1" }\nfleet:\n  g: { platform: linux/amd64/v9 }\n',
    );
    const r = await runCli(['lock', '--json'], dir);
    expect(r.code).toBe(2);
    const doc = JSON.parse(r.stdout) as { error: { issues: Array<{ line: number; column: number; path: string; message: string }> } };
    expect(doc.error.issues.map((i) => [i.line, i.path])).toEqual([
      [3, 'images.a'],
      [5, 'fleet.g.platform'],
    ]);
    expect(doc.error.issues[1]!.message).toMatch(/amd64 has no variant "v9"/);
    expect(existsSync(join(dir, 'lg-pins.lock.yaml'))).toBe(false);
  });
});
