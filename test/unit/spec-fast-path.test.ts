import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseSpec, parseSpecLocated } from '../../src/config/load.js';
import { SpecError } from '../../src/errors.js';

const ROOT = new URL('../../', import.meta.url).pathname;

describe('the fast spec reader agrees with the located one', () => {
  it('on the bundled example', () => {
    const text = readFileSync(join(ROOT, 'lg-pins.yaml'), 'utf8');
    expect(parseSpec(text, join(ROOT, 'lg-pins.yaml'))).toEqual(parseSpecLocated(text, join(ROOT, 'lg-pins.yaml')));
  });

  it('on a spec using every field, anchors, quoting styles, a hosts file and JSON in package.json', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lgp-fast-'));
    mkdirSync(join(dir, 'inv'));
    writeFileSync(join(dir, 'inv', 'hosts.txt'), '# inventory\nh1\n\nh2 # trailing\n');
    const yaml = `
version: 1
registries:
  "127.0.0.1:5000": { insecure: true, concurrency: 4 }
  Mirror.Example: { mirrors: [m.example/x] }
images:
  agent: { ref: "127.0.0.1:5000/team/agent", track: '^1.0.0', cadence: minor, prerelease: false, notes: { linux/arm64: 'arm "note"' } }
  tool: { ref: busybox, tag: "1.36" }
fleet:
  base: &base { arch: x86_64, hosts: [a, b] }
  edge: { platform: linux/arm/v7, hostsFile: inv/hosts.txt, images: [agent], onMissing: hold }
`;
    expect(parseSpec(yaml, join(dir, 'lg-pins.yaml'))).toEqual(parseSpecLocated(yaml, join(dir, 'lg-pins.yaml')));
    const pkg = JSON.stringify({
      name: 'x',
      'lg-pins': { version: 1, images: { a: { ref: 'x/y', tag: 'v1' } }, fleet: { g: { arch: 'aarch64', hosts: ['n1'] } } },
    });
    expect(parseSpec(pkg, join(dir, 'package.json'))).toEqual(parseSpecLocated(pkg, join(dir, 'package.json')));
  });

  it('leaves every problem to the located reader (same issues, with lines)', () => {
    const bad = 'version: 1\nimages:\n  a: { ref: x/y, tag: v1 }\n  a: { ref: x/z, tag: v2 }\n';
    const err = (() => {
      try {
        parseSpec(bad, '/s/lg-pins.yaml');
      } catch (e) {
        return e as SpecError;
      }
      throw new Error('expected a SpecError');
    })();
    expect(err).toBeInstanceOf(SpecError);
    expect(err.issues[0]).toMatchObject({ line: 4, path: 'images.a' });
    // YAML 1.1 merge keys are not YAML 1.2: neither reader merges them.
    expect(() => parseSpec('version: 1\nimages:\n  a: { <<: { ref: x/y }, tag: v1 }\n', '/s/lg-pins.yaml')).toThrow(/unknown key "<<"/);
  });
});
