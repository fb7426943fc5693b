import { generateKeyPairSync } from 'node:crypto';
/**
 * Valid specs: what loadSpec/parseSpec make of them (defaults, platform keys, host inventories,
 * oci-layout refs), and how the spec is found (cosmiconfig-style discovery, --config).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { findSpec, loadSpec, parseSpec } from '../../src/config/load.js';
import type { Spec } from '../../src/config/spec.js';
import { ExitCode, SpecError } from '../../src/errors.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lg-pins-spec-load-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const y = (...lines: string[]): string => `${lines.join('\n')}\n`;

/** A fresh directory under the test's temp dir, with the given files (parents created). */
function tree(files: Record<string, string>): string {
  const root = fs.mkdtempSync(path.join(tmp, 'case-'));
  for (const [rel, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    fs.writeFileSync(path.join(root, rel), content);
  }
  return root;
}

/** Files that make `dir` an OCI image layout. */
function layout(dir: string): Record<string, string> {
  return {
    [`${dir}/oci-layout`]: '{"imageLayoutVersion":"1.0.0"}\n',
    [`${dir}/index.json`]: '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}\n',
  };
}

const MINIMAL = y('version: 1', 'images:', '  agent:', '    ref: example.com/agent', '    tag: v1');

async function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e,
  );
}

describe('a valid spec', () => {
  const root = tree({
    'inventory/arm.txt': y(
      '# Graviton build and cache servers',
      'build-01',
      '',
      '  build-02   # the big one',
      'build-01',
      '# retired: build-00',
      '',
      'cache-01',
    ),
    ...layout('layouts/agent'),
    'keys/release.pub': generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    'lg-pins.yaml': y(
      '# yaml-language-server: $schema=./schemas/lg-pins.schema.json',
      'version: 1',
      'registries:',
      '  "127.0.0.1:5000":',
      '    insecure: true',
      '  packages.linuxguard.io:',
      '    concurrency: 8',
      '    mirrors: [mirror.corp.example/linuxguard]',
      'images:',
      '  agent:',
      '    ref: packages.linuxguard.io/linuxguard-agent',
      '    track: "^3.0.0"',
      '    notes:',
      '      linux/arm64: "arm64 note"',
      '      linux/arm/v7: "no eBPF probe"',
      '    verify:',
      '      cosign:',
      '        key: keys/release.pub',
      '  tools:',
      '    ref: busybox',
      '    track: ">=1.36.0 <2"',
      '    cadence: minor',
      '    prerelease: true',
      '  mirror:',
      '    ref: oci-layout://layouts/agent/linuxguard/agent',
      '    tag: v3.0.0',
      'fleet:',
      '  datacenter:',
      '    arch: x86_64',
      '    hosts: [web-01, web-02]',
      '  arm-servers:',
      '    arch: aarch64',
      '    hosts: [build-01, arm-01]',
      '    hostsFile: inventory/arm.txt',
      '    images: [agent]',
      '  edge:',
      '    arch: armv7l',
      '    hosts: [gw-01]',
      '    onMissing: hold',
      '  riscv-lab:',
      '    platform: linux/riscv64',
      '    hosts: [rv-01]',
      '    images: [tools, agent]',
    ),
  });
  const file = path.join(root, 'lg-pins.yaml');

  it('loads into the expected Spec', async () => {
    const spec = await loadSpec({ cwd: root });
    const expected: Spec = {
      file,
      dir: root,
      lockFile: path.join(root, 'lg-pins.lock.yaml'),
      registries: {
        '127.0.0.1:5000': { insecure: true },
        'packages.linuxguard.io': { concurrency: 8, mirrors: ['mirror.corp.example/linuxguard'] },
      },
      images: {
        agent: {
          id: 'agent',
          ref: 'packages.linuxguard.io/linuxguard-agent',
          source: { kind: 'registry', ref: { registry: 'packages.linuxguard.io', repository: 'linuxguard-agent' } },
          track: '^3.0.0',
          cadence: 'patch',
          prerelease: false,
          // keys normalized: linux/arm64 → linux/arm64/v8
          notes: { 'linux/arm64/v8': 'arm64 note', 'linux/arm/v7': 'no eBPF probe' },
          verify: {
            cosign: {
              kind: 'key',
              key: 'keys/release.pub',
              file: path.join(root, 'keys/release.pub'),
              publicKey: expect.anything(),
              fingerprint: expect.stringMatching(/^sha256:[a-f0-9]{64}$/),
            },
          },
        },
        tools: {
          id: 'tools',
          ref: 'busybox',
          source: { kind: 'registry', ref: { registry: 'docker.io', repository: 'library/busybox' } },
          track: '>=1.36.0 <2',
          cadence: 'minor',
          prerelease: true,
          notes: {},
        },
        mirror: {
          id: 'mirror',
          ref: 'oci-layout://layouts/agent/linuxguard/agent',
          source: { kind: 'layout', dir: path.join(root, 'layouts/agent'), repo: 'linuxguard/agent' },
          tag: 'v3.0.0',
          cadence: 'patch',
          prerelease: false,
          notes: {},
        },
      },
      fleet: {
        datacenter: {
          id: 'datacenter',
          wants: { arch: 'x86_64' },
          platform: { os: 'linux', architecture: 'amd64' },
          platformKey: 'linux/amd64',
          hosts: ['web-01', 'web-02'],
          images: ['agent', 'tools', 'mirror'],
          onMissing: 'fail',
          soakMs: 0,
        },
        'arm-servers': {
          id: 'arm-servers',
          wants: { arch: 'aarch64' },
          platform: { os: 'linux', architecture: 'arm64' },
          platformKey: 'linux/arm64/v8',
          // the list first, then the file; comments, blank lines and repeats dropped
          hosts: ['build-01', 'arm-01', 'build-02', 'cache-01'],
          images: ['agent'],
          onMissing: 'fail',
          soakMs: 0,
        },
        edge: {
          id: 'edge',
          wants: { arch: 'armv7l' },
          platform: { os: 'linux', architecture: 'arm', variant: 'v7' },
          platformKey: 'linux/arm/v7',
          hosts: ['gw-01'],
          images: ['agent', 'tools', 'mirror'],
          onMissing: 'hold',
          soakMs: 0,
        },
        'riscv-lab': {
          id: 'riscv-lab',
          wants: { platform: 'linux/riscv64' },
          platform: { os: 'linux', architecture: 'riscv64' },
          platformKey: 'linux/riscv64',
          hosts: ['rv-01'],
          images: ['tools', 'agent'],
          onMissing: 'fail',
          soakMs: 0,
        },
      },
    };
    expect(spec).toEqual(expected);
  });

  it('parseSpec gives the same Spec for the same text and path', async () => {
    expect(parseSpec(fs.readFileSync(file, 'utf8'), file)).toEqual(await loadSpec({ config: file }));
  });

  it('maps uname -m values to platform keys', () => {
    const cases: [string, string][] = [
      ['x86_64', 'linux/amd64'],
      ['amd64', 'linux/amd64'],
      ['aarch64', 'linux/arm64/v8'],
      ['arm64', 'linux/arm64/v8'],
      ['armv7l', 'linux/arm/v7'],
      ['armhf', 'linux/arm/v7'],
      ['armv6l', 'linux/arm/v6'],
      ['armel', 'linux/arm/v6'],
      ['i686', 'linux/386'],
      ['riscv64', 'linux/riscv64'],
      ['ppc64le', 'linux/ppc64le'],
      ['s390x', 'linux/s390x'],
    ];
    for (const [arch, key] of cases) {
      const spec = parseSpec(`${MINIMAL}fleet:\n  g:\n    arch: ${arch}\n`, path.join(root, 'lg-pins.yaml'));
      expect(spec.fleet.g?.platformKey, arch).toBe(key);
      expect(spec.fleet.g?.wants, arch).toEqual({ arch });
    }
  });

  it('normalizes platform strings: linux/arm64 and linux/arm64/v8 are one platform, linux/arm means v7', () => {
    const spec = parseSpec(
      `${MINIMAL}fleet:\n  a:\n    platform: linux/arm64\n  b:\n    platform: linux/arm64/v8\n  c:\n    platform: linux/arm\n  d:\n    platform: linux/amd64/v3\n`,
      path.join(root, 'lg-pins.yaml'),
    );
    expect(Object.values(spec.fleet).map((g) => g.platformKey)).toEqual([
      'linux/arm64/v8',
      'linux/arm64/v8',
      'linux/arm/v7',
      'linux/amd64/v3',
    ]);
    expect(spec.fleet.a?.wants).toEqual({ platform: 'linux/arm64' });
  });

  it('defaults: every image, onMissing fail, cadence patch, no prerelease, no notes, no fleet', () => {
    const spec = parseSpec(
      y(
        'version: 1',
        'images:',
        '  b:',
        '    ref: b',
        '    track: "^1"',
        '  a:',
        '    ref: a',
        '    tag: v1',
        'fleet:',
        '  g:',
        '    arch: x86_64',
      ),
      path.join(root, 'lg-pins.yaml'),
    );
    expect(spec.images.b).toMatchObject({ cadence: 'patch', prerelease: false, notes: {} });
    expect(spec.images.a).toMatchObject({ cadence: 'patch', prerelease: false, notes: {}, tag: 'v1' });
    expect(spec.images.a).not.toHaveProperty('track');
    expect(spec.images.b).not.toHaveProperty('tag');
    expect(spec.fleet.g).toMatchObject({ images: ['b', 'a'], onMissing: 'fail', hosts: [] });
    expect(parseSpec(MINIMAL, path.join(root, 'lg-pins.yaml'))).toMatchObject({ fleet: {}, registries: {} });
  });

  it('accepts a $schema key and YAML anchors', () => {
    const spec = parseSpec(
      y(
        '$schema: ./schemas/lg-pins.schema.json',
        'version: 1',
        'images:',
        '  a: &img',
        '    ref: example.com/a',
        '    tag: v1',
        '  b: *img',
      ),
      path.join(root, 'lg-pins.yaml'),
    );
    expect(Object.keys(spec.images)).toEqual(['a', 'b']);
    expect(spec.images.b?.ref).toBe('example.com/a');
  });

  it('loads the bundled example spec of this repository', async () => {
    const spec = await loadSpec({ cwd: REPO, config: 'lg-pins.yaml' });
    expect(spec.file).toBe(path.join(REPO, 'lg-pins.yaml'));
    expect(spec.images.agent?.source).toEqual({ kind: 'layout', dir: path.join(REPO, 'examples/linuxguard-agent') });
    expect(spec.fleet['arm-servers']?.hosts).toEqual(['build-01', 'build-02', 'cache-01']);
    expect(spec.fleet.edge?.platformKey).toBe('linux/arm/v7');
  });
});

describe('hostsFrom: hosts from an Ansible inventory', () => {
  const root = tree({
    'inventory/hosts.yml': y(
      'all:',
      '  children:',
      '    edge:',
      '      children:',
      '        edge-eu:',
      '          hosts:',
      '            gw-berlin:',
      '            gw-lyon: { ansible_host: 10.0.0.2 }',
      '        edge-us:',
      '          hosts: { gw-austin: }',
      '    dc:',
      '      hosts:',
      '        web-[01:02]:',
    ),
    'inventory/edge.txt': y('gw-extra', 'gw-berlin'),
    'inventory/hosts.ini': y('[arm]', 'build-01 ansible_user=ci', 'build-[02:03]', '[arm-all:children]', 'arm'),
    'lg-pins.yaml': y(
      ...MINIMAL.trimEnd().split('\n'),
      'fleet:',
      '  edge:',
      '    arch: armv7l',
      '    hosts: [gw-oslo, gw-lyon]',
      '    hostsFile: inventory/edge.txt',
      '    hostsFrom: { ansible: inventory/hosts.yml, group: edge }',
      '  datacenter:',
      '    arch: x86_64',
      '    hostsFrom: { ansible: inventory/hosts.yml, group: dc }',
      '  arm-servers:',
      '    arch: aarch64',
      '    hosts: [arm-01]',
      '    hostsFrom:',
      '      ansible: inventory/hosts.ini',
      '      group: arm-all',
    ),
  });

  it('adds the hosts of the inventory group, children included, to hosts and hostsFile (YAML and INI)', async () => {
    const spec = await loadSpec({ cwd: root });
    expect(spec.fleet.edge?.hosts).toEqual(['gw-oslo', 'gw-lyon', 'gw-extra', 'gw-berlin', 'gw-austin']);
    expect(spec.fleet.datacenter?.hosts).toEqual(['web-01', 'web-02']);
    expect(spec.fleet['arm-servers']?.hosts).toEqual(['arm-01', 'build-01', 'build-02', 'build-03']);
  });

  it('reads the inventory relative to the spec, not the working directory', async () => {
    const spec = await loadSpec({ cwd: tmp, config: path.join(root, 'lg-pins.yaml') });
    expect(spec.fleet.datacenter?.hosts).toEqual(['web-01', 'web-02']);
  });
});

describe('oci-layout refs', () => {
  const root = tree({
    ...layout('mirrors/air-gap'),
    'config/lg-pins.yaml': y(
      'version: 1',
      'images:',
      '  whole:',
      '    ref: oci-layout://../mirrors/air-gap',
      '    tag: v1',
      '  repo:',
      '    ref: oci-layout://../mirrors/air-gap/linuxguard/agent',
      '    tag: v1',
      '  short:',
      '    ref: oci:../mirrors/air-gap',
      '    tag: v1',
    ),
  });

  it('resolve relative to the spec directory, not the working directory', async () => {
    const cwd = path.join(root, 'elsewhere');
    fs.mkdirSync(cwd);
    const spec = await loadSpec({ cwd, config: '../config/lg-pins.yaml' });
    const dir = path.join(root, 'mirrors/air-gap');
    expect(spec.images.whole?.source).toEqual({ kind: 'layout', dir });
    expect(spec.images.repo?.source).toEqual({ kind: 'layout', dir, repo: 'linuxguard/agent' });
    expect(spec.images.short?.source).toEqual({ kind: 'layout', dir });
  });

  it('accept an absolute directory', () => {
    const dir = path.join(root, 'mirrors/air-gap');
    const spec = parseSpec(
      y('version: 1', 'images:', '  a:', `    ref: oci-layout://${dir}/team/app`, '    tag: v1'),
      path.join(tmp, 'lg-pins.yaml'),
    );
    expect(spec.images.a?.source).toEqual({ kind: 'layout', dir, repo: 'team/app' });
  });
});

describe('discovery', () => {
  it('finds lg-pins.yaml in a parent directory', async () => {
    const root = tree({ 'lg-pins.yaml': MINIMAL, 'a/b/.keep': '' });
    const spec = await loadSpec({ cwd: path.join(root, 'a/b') });
    expect(spec.file).toBe(path.join(root, 'lg-pins.yaml'));
    expect(spec.dir).toBe(root);
    expect(spec.lockFile).toBe(path.join(root, 'lg-pins.lock.yaml'));
  });

  it.each(['lg-pins.yml', '.lg-pinsrc', '.lg-pinsrc.yaml', '.lg-pinsrc.yml'])('finds %s', async (name) => {
    const root = tree({ [name]: MINIMAL, 'sub/.keep': '' });
    expect(await findSpec({ cwd: path.join(root, 'sub') })).toBe(path.join(root, name));
    expect(Object.keys((await loadSpec({ cwd: path.join(root, 'sub') })).images)).toEqual(['agent']);
  });

  it('finds .lg-pinsrc.json', async () => {
    const root = tree({
      '.lg-pinsrc.json': JSON.stringify({ version: 1, images: { agent: { ref: 'example.com/agent', tag: 'v1' } } }, null, 2),
    });
    const spec = await loadSpec({ cwd: root });
    expect(spec.file).toBe(path.join(root, '.lg-pinsrc.json'));
    expect(spec.images.agent?.tag).toBe('v1');
  });

  it('finds an "lg-pins" key in package.json, with paths relative to package.json', async () => {
    const root = tree({
      'package.json': JSON.stringify(
        {
          name: 'fleet',
          private: true,
          'lg-pins': {
            version: 1,
            images: { agent: { ref: 'example.com/agent', tag: 'v1' } },
            fleet: { edge: { arch: 'armv7l', hostsFile: 'hosts.txt' } },
          },
        },
        null,
        2,
      ),
      'hosts.txt': 'gw-01\ngw-02\n',
      'src/deep/.keep': '',
    });
    const spec = await loadSpec({ cwd: path.join(root, 'src/deep') });
    expect(spec.file).toBe(path.join(root, 'package.json'));
    expect(spec.lockFile).toBe(path.join(root, 'lg-pins.lock.yaml'));
    expect(spec.fleet.edge?.hosts).toEqual(['gw-01', 'gw-02']);
  });

  it('skips a package.json without an "lg-pins" key and keeps looking upward', async () => {
    const root = tree({ 'lg-pins.yaml': MINIMAL, 'app/package.json': '{ "name": "app" }\n', 'app/empty/package.json': '' });
    expect(await findSpec({ cwd: path.join(root, 'app/empty') })).toBe(path.join(root, 'lg-pins.yaml'));
  });

  it('takes the nearest spec: a subdirectory one beats a parent one', async () => {
    const root = tree({ 'lg-pins.yaml': MINIMAL, 'team/.lg-pinsrc.yaml': MINIMAL });
    expect(await findSpec({ cwd: path.join(root, 'team') })).toBe(path.join(root, 'team/.lg-pinsrc.yaml'));
  });

  it('prefers lg-pins.yaml over package.json in the same directory', async () => {
    const root = tree({ 'lg-pins.yaml': MINIMAL, 'package.json': JSON.stringify({ 'lg-pins': { version: 1 } }) });
    expect(await findSpec({ cwd: root })).toBe(path.join(root, 'lg-pins.yaml'));
  });

  it('--config overrides discovery, relative to cwd', async () => {
    const root = tree({
      'lg-pins.yaml': y('version: 1', 'images:', '  discovered:', '    ref: a', '    tag: v1'),
      'specs/staging.yaml': y('version: 1', 'images:', '  staging:', '    ref: a', '    tag: v1'),
    });
    const spec = await loadSpec({ cwd: root, config: 'specs/staging.yaml' });
    expect(spec.file).toBe(path.join(root, 'specs/staging.yaml'));
    expect(Object.keys(spec.images)).toEqual(['staging']);
    expect(spec.lockFile).toBe(path.join(root, 'specs/staging.lock.yaml')); // a non-default spec name gets its own lock
    expect(await findSpec({ cwd: root, config: path.join(root, 'specs/staging.yaml') })).toBe(path.join(root, 'specs/staging.yaml'));
  });

  it('--config pointing at a package.json reads its "lg-pins" key', async () => {
    const root = tree({
      'conf/package.json': JSON.stringify({ name: 'x', 'lg-pins': { version: 1, images: { a: { ref: 'a', tag: 'v1' } } } }),
    });
    const spec = await loadSpec({ cwd: root, config: 'conf/package.json' });
    expect(Object.keys(spec.images)).toEqual(['a']);
  });

  it('--config naming a missing file is a SpecError (exit 2) naming the file', async () => {
    const root = tree({ 'lg-pins.yaml': MINIMAL });
    const err = await rejection(loadSpec({ cwd: root, config: 'nope.yaml' }));
    expect(err).toBeInstanceOf(SpecError);
    expect((err as SpecError).exitCode).toBe(ExitCode.badInput);
    expect((err as SpecError).message).toContain(path.join(root, 'nope.yaml'));
    expect((err as SpecError).message).toMatch(/no such file/);
  });

  it('no spec found is a SpecError (exit 2) that mentions --config', async () => {
    const root = tree({ 'a/b/.keep': '', 'a/package.json': '{ "name": "a" }\n' });
    const err = await rejection(loadSpec({ cwd: path.join(root, 'a/b') }));
    expect(err).toBeInstanceOf(SpecError);
    expect((err as SpecError).exitCode).toBe(2);
    expect((err as SpecError).message).toMatch(/no lg-pins spec found/);
    expect((err as SpecError).message).toContain(path.join(root, 'a/b'));
    expect((err as SpecError).message).toContain('--config');
  });
});
