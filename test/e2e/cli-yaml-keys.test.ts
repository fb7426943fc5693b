/**
 * Ids YAML reads as something else (issue 10, item 3), through the built CLI on a copy of the
 * bundled example: an image `007` and a group `on` are locked under quoted keys, a lock with a
 * comment added (read by the YAML fallback, not the fast reader) still agrees with the spec, and
 * when `007` then fails to resolve its entry and pins are kept byte for byte.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { exampleDir } from '../helpers/example.js';

const spec = (tag007: string, tagAgent: string) =>
  [
    'version: 1',
    'images:',
    `  007: { ref: oci-layout://examples/linuxguard-agent, tag: ${tag007} }`,
    `  agent: { ref: oci-layout://examples/linuxguard-agent, tag: ${tagAgent} }`,
    'fleet:',
    '  on: { arch: x86_64, hosts: [web-01] }',
    '  edge: { arch: armv7l, hosts: [gw-01], images: ["007"] }',
    '',
  ].join('\n');

/** The lines of image `007`'s entry, and every fleet pin of it. */
function entryOf007(lock: string): string[] {
  const lines = lock.split('\n');
  const start = lines.indexOf('  "007":');
  expect(start).toBeGreaterThan(0);
  let end = start + 1;
  while (end < lines.length && lines[end]!.startsWith('    ')) end++;
  return [...lines.slice(start, end), ...lines.filter((l) => l.startsWith('    "007": {'))];
}

describe('ids YAML would read as numbers or booleans', () => {
  it('007 and on are locked under quoted keys, checked through a hand-commented lock, and kept when 007 fails', async () => {
    const dir = exampleDir('lgp-yaml-keys-');
    const specFile = join(dir, 'lg-pins.yaml');
    const lockFile = join(dir, 'lg-pins.lock.yaml');
    writeFileSync(specFile, spec('v3.0.0', 'v3.1.0'));

    const locked = await runCli(['lock'], dir);
    expect(locked.stderr).toBe('');
    expect(locked.code).toBe(0);
    const lock = readFileSync(lockFile, 'utf8');
    expect(lock).toMatch(/^images:\n {2}"007":\n {4}ref: oci-layout:\/\/examples\/linuxguard-agent\n {4}tag: v3\.0\.0\n/m);
    expect(lock).toMatch(
      /^ {2}"on":\n {4}"007": \{ platform: linux\/amd64, digest: sha256:b13778b808f3a20a09a7c4fc1e3181e99329493ea6d5ee6fc64a584cb9e33d0f \}\n {4}agent: \{ platform: linux\/amd64, /m,
    );
    expect(lock).toMatch(/^ {2}edge:\n {4}"007": \{ platform: linux\/arm\/v7, /m);
    expect(lock).not.toMatch(/^ +(?:007|on):/m);
    expect((await runCli(['check'], dir)).code).toBe(0);

    // A reviewer's comment: the fast reader gives up on it and the YAML fallback reads the lock.
    writeFileSync(lockFile, lock.replace('images:\n', 'images:\n  # 007 is the legacy agent, kept on v3.0.0\n'));
    const check = await runCli(['check'], dir);
    expect(check.stdout + check.stderr).not.toMatch(/stale/);
    expect(check.code).toBe(0);
    const pins = await runCli(['pins', '--group', 'on', '--image', '007'], dir);
    expect(pins.code).toBe(0);
    expect(pins.stdout).toBe(
      'oci-layout://examples/linuxguard-agent@sha256:b13778b808f3a20a09a7c4fc1e3181e99329493ea6d5ee6fc64a584cb9e33d0f\n',
    );

    // 007 now names a tag the layout does not have, while agent moves on: the lock is rewritten for
    // agent, and 007 keeps its entry and its pins exactly as they were.
    writeFileSync(specFile, spec('v9.9.9', 'v3.1.1'));
    const failed = await runCli(['lock'], dir);
    expect(failed.code).toBe(3);
    expect(failed.stderr).toMatch(/007: tag "v9\.9\.9" not found in oci-layout:\/\//);
    const after = readFileSync(lockFile, 'utf8');
    expect(after).toMatch(/^ {4}tag: v3\.1\.1$/m);
    expect(entryOf007(after)).toEqual(entryOf007(lock));
    expect(entryOf007(lock).length).toBeGreaterThan(10);
  });
});
