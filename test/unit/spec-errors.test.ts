/**
 * A corpus of broken specs. Every case says exactly which issues parseSpec reports: file, line,
 * column, key path, and a message that quotes the offending key or value (README "Exit codes", exit 2).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadSpec, parseSpec } from '../../src/config/load.js';
import { ExitCode, SpecError, formatIssue, type SpecIssue } from '../../src/errors.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lg-pins-spec-errors-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const SPEC = path.join(tmp, 'lg-pins.yaml');
const BAD_HOSTS = path.join(tmp, 'bad-hosts.txt');
// line 1 comment, 2 host, 3 blank, 4 a bad name (indented, with a trailing comment), 5 host
fs.writeFileSync(BAD_HOSTS, '# edge gateways\ngw-01\n\n  gw 02!  # typo\ngw-03\n');
// An Ansible inventory: edge has a bad host name (line 6), dc does not.
const INVENTORY = path.join(tmp, 'inventory.yml');
fs.writeFileSync(
  INVENTORY,
  'all:\n  children:\n    edge:\n      hosts:\n        gw-01:\n        "gw 02!":\n    dc:\n      hosts:\n        web-01:\n',
);
// An INI inventory with a junk line (3).
const INI_INVENTORY = path.join(tmp, 'hosts');
fs.writeFileSync(INI_INVENTORY, '[edge]\ngw-01\ngw-02 junk\n');
fs.mkdirSync(path.join(tmp, 'not-a-layout'));
fs.writeFileSync(path.join(tmp, 'not-a-root.json'), JSON.stringify({ mediaType: 'application/json', tlogs: [] }));

/** Lines of YAML, joined; line N of the spec is argument N. */
const y = (...lines: string[]): string => `${lines.join('\n')}\n`;

/** A valid head: version and one image (lines 1-5). */
const HEAD = ['version: 1', 'images:', '  agent:', '    ref: example.com/agent', '    tag: v1'];

interface Expected {
  line: number;
  column: number;
  path: string;
  message: RegExp;
  /** Defaults to the spec file. */
  file?: string;
}

interface Case {
  name: string;
  text: string;
  file?: string;
  issues: Expected[];
}

function specError(text: string, file: string): SpecError {
  try {
    parseSpec(text, file);
  } catch (e) {
    if (e instanceof SpecError) return e;
    throw e;
  }
  throw new Error('parseSpec accepted a broken spec');
}

const NOT_UNIQUE = 'a key may appear only once in a mapping';

const cases: Case[] = [
  // --- YAML itself ---
  {
    name: 'YAML syntax error (unclosed flow sequence)',
    text: y('version: 1', 'images:', '  agent:', '    ref: [example.com/agent', '    tag: v1'),
    issues: [
      {
        line: 5,
        column: 5,
        path: '',
        message: /^Flow sequence in block collection must be sufficiently indented and end with a \] \(at "tag: v1"\)$/,
      },
    ],
  },
  {
    name: 'duplicate key',
    text: y(...HEAD, '    tag: v2'),
    issues: [{ line: 6, column: 5, path: 'images.agent.tag', message: new RegExp(`^duplicate key "tag"; ${NOT_UNIQUE}$`) }],
  },
  {
    name: 'duplicate top-level key',
    text: y(...HEAD, 'images:', '  other:', '    ref: other', '    tag: v1'),
    issues: [{ line: 6, column: 1, path: 'images', message: /^duplicate key "images"/ }],
  },
  {
    name: 'tab used for indentation',
    text: y('version: 1', 'images:', '\tagent:', '    ref: example.com/agent', '    tag: v1'),
    issues: [{ line: 3, column: 1, path: '', message: /^Tabs are not allowed as indentation \(at "agent:"\)$/ }],
  },
  {
    name: 'mapping items at different indents',
    text: y('version: 1', 'images:', '  agent:', '    ref: example.com/agent', '   tag: v1'),
    issues: [{ line: 5, column: 1, path: '', message: /^All mapping items must start at the same column \(at "tag: v1"\)$/ }],
  },
  {
    name: 'two YAML documents',
    text: y(...HEAD, '---', 'version: 1'),
    issues: [{ line: 6, column: 1, path: '', message: /second YAML document starts here \("---"\)/ }],
  },
  {
    name: 'alias expansion bomb',
    text: y(
      'version: 1',
      'a: &a [x, x, x, x, x, x, x, x, x, x]',
      'b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]',
      'c: [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b, *b, *b]',
      'images: {agent: {ref: a, tag: v1}}',
    ),
    issues: [{ line: 1, column: 1, path: '', message: /^cannot expand the YAML aliases: .*alias count/ }],
  },
  // --- the document's shape ---
  {
    name: 'empty file',
    text: '',
    issues: [{ line: 1, column: 1, path: '', message: /^the spec is empty; it needs at least `version: 1` and `images:`$/ }],
  },
  {
    name: 'a file of comments only',
    text: y('# yaml-language-server: $schema=./schemas/lg-pins.schema.json', '# nothing yet'),
    issues: [{ line: 1, column: 1, path: '', message: /^the spec is empty/ }],
  },
  {
    name: 'a scalar instead of a mapping',
    text: y('lg-pins'),
    issues: [{ line: 1, column: 1, path: '', message: /^must be an object, got "lg-pins"$/ }],
  },
  {
    name: 'wrong version',
    text: y('version: 2', 'images:', '  agent:', '    ref: example.com/agent', '    tag: v1'),
    issues: [{ line: 1, column: 10, path: 'version', message: /^2 is not supported; the only value is 1$/ }],
  },
  {
    name: 'version as a string',
    text: y('version: "1"', 'images:', '  agent:', '    ref: example.com/agent', '    tag: v1'),
    issues: [{ line: 1, column: 10, path: 'version', message: /^"1" is not supported; the only value is 1$/ }],
  },
  {
    name: 'missing images',
    text: y('version: 1', 'fleet: {}'),
    issues: [{ line: 1, column: 1, path: '', message: /^missing required key "images"$/ }],
  },
  {
    name: 'images is an empty map',
    text: y('version: 1', 'images: {}'),
    issues: [{ line: 2, column: 1, path: 'images', message: /^needs at least 1 entry$/ }],
  },
  {
    name: 'images with no value',
    text: y('version: 1', 'images:'),
    issues: [{ line: 2, column: 8, path: 'images', message: /^must be an object, got null$/ }],
  },
  {
    name: 'unknown top-level key, with did-you-mean',
    text: y('version: 1', 'registry:', '  x.io: {}', 'images:', '  agent:', '    ref: example.com/agent', '    tag: v1'),
    issues: [{ line: 2, column: 1, path: 'registry', message: /^unknown key "registry" \(did you mean "registries"\?\)$/ }],
  },
  // --- images ---
  {
    name: 'unknown image key: cadense',
    text: y('version: 1', 'images:', '  agent:', '    ref: example.com/agent', '    track: ^3.0.0', '    cadense: minor'),
    issues: [{ line: 6, column: 5, path: 'images.agent.cadense', message: /^unknown key "cadense" \(did you mean "cadence"\?\)$/ }],
  },
  {
    name: 'an image that is a string, reported once',
    text: y('version: 1', 'images:', '  agent: example.com/agent:v1'),
    issues: [{ line: 3, column: 10, path: 'images.agent', message: /^must be an object, got "example.com\/agent:v1"$/ }],
  },
  {
    name: 'both tag and track',
    text: y(...HEAD, '    track: ^1.0.0'),
    issues: [{ line: 3, column: 3, path: 'images.agent', message: /^has both "tag" and "track"; set exactly one$/ }],
  },
  {
    name: 'neither tag nor track',
    text: y('version: 1', 'images:', '  agent:', '    ref: example.com/agent'),
    issues: [{ line: 3, column: 3, path: 'images.agent', message: /^needs one of "tag" or "track"$/ }],
  },
  {
    name: 'cadence without track',
    text: y(...HEAD, '    cadence: minor'),
    issues: [{ line: 6, column: 5, path: 'images.agent.cadence', message: /^"cadence" needs "track"$/ }],
  },
  {
    name: 'prerelease without track',
    text: y(...HEAD, '    prerelease: true'),
    issues: [{ line: 6, column: 5, path: 'images.agent.prerelease', message: /^"prerelease" needs "track"$/ }],
  },
  {
    name: 'cadence not one of the three',
    text: y('version: 1', 'images:', '  agent:', '    ref: example.com/agent', '    track: ^3.0.0', '    cadence: weekly'),
    issues: [{ line: 6, column: 14, path: 'images.agent.cadence', message: /^"weekly" is not one of "patch", "minor", "major"$/ }],
  },
  {
    name: 'bad semver range',
    text: y('version: 1', 'images:', '  agent:', '    ref: example.com/agent', '    track: "^^3"'),
    issues: [{ line: 5, column: 12, path: 'images.agent.track', message: /^"\^\^3" is not a valid semver range \(e\.g\. "\^3\.0\.0"/ }],
  },
  {
    name: 'bad tag pattern',
    text: y('version: 1', 'images:', '  agent:', '    ref: example.com/agent', '    tag: -v1'),
    issues: [{ line: 5, column: 10, path: 'images.agent.tag', message: /^"-v1" is not valid \(a tag is up to 128 of/ }],
  },
  {
    name: 'a tag YAML reads as a number',
    text: y('version: 1', 'images:', '  agent:', '    ref: example.com/agent', '    tag: 1.10'),
    issues: [{ line: 5, column: 10, path: 'images.agent.tag', message: /^must be a string, got 1\.1 \(put it in quotes/ }],
  },
  {
    name: 'uppercase repository in ref',
    text: y('version: 1', 'images:', '  agent:', '    ref: example.com/LinuxGuard/agent', '    tag: v1'),
    issues: [
      {
        line: 4,
        column: 10,
        path: 'images.agent.ref',
        message: /^"example\.com\/LinuxGuard\/agent": repository name must be lowercase \(component "LinuxGuard"\)$/,
      },
    ],
  },
  {
    name: 'ref with a tag',
    text: y('version: 1', 'images:', '  agent:', '    ref: app:v1', '    tag: v1'),
    issues: [
      {
        line: 4,
        column: 10,
        path: 'images.agent.ref',
        message: /^"app:v1": expected a repository \(no tag, no digest\) but it has tag "v1"$/,
      },
    ],
  },
  {
    name: 'ref with a digest',
    text: y('version: 1', 'images:', '  agent:', `    ref: app@sha256:${'a'.repeat(64)}`, '    tag: v1'),
    issues: [
      {
        line: 4,
        column: 10,
        path: 'images.agent.ref',
        message: /^"app@sha256:a{64}": expected a repository \(no tag, no digest\) but it has digest "sha256:a{64}"$/,
      },
    ],
  },
  {
    name: 'bad digest in ref',
    text: y('version: 1', 'images:', '  agent:', '    ref: app@sha256:abc', '    tag: v1'),
    issues: [{ line: 4, column: 10, path: 'images.agent.ref', message: /^"app@sha256:abc": digest "sha256:abc" is invalid: .*64/ }],
  },
  {
    name: 'empty ref, reported once',
    text: y('version: 1', 'images:', '  agent:', '    ref: ""', '    tag: v1'),
    issues: [{ line: 4, column: 10, path: 'images.agent.ref', message: /^must not be empty$/ }],
  },
  {
    name: 'invalid image id (uppercase)',
    text: y('version: 1', 'images:', '  Agent:', '    ref: example.com/agent', '    tag: v1'),
    issues: [{ line: 3, column: 3, path: 'images.Agent', message: /^image id "Agent" must be lowercase letters, digits/ }],
  },
  {
    name: 'an all-digit image id is a key, not an array index, in the path',
    text: y('version: 1', 'images:', '  "16":', '    ref: example.com/agent', '    tag: v1', '    cadense: minor'),
    issues: [{ line: 6, column: 5, path: 'images.16.cadense', message: /^unknown key "cadense" \(did you mean "cadence"\?\)$/ }],
  },
  {
    name: 'image id too long',
    text: y('version: 1', 'images:', `  ${'a'.repeat(64)}:`, '    ref: example.com/agent', '    tag: v1'),
    issues: [
      { line: 3, column: 3, path: `images.${'a'.repeat(64)}`, message: /^image id "a{64}" is 64 characters long; at most 63 are allowed$/ },
    ],
  },
  {
    name: 'notes key is not a platform',
    text: y(...HEAD, '    notes:', '      linux/arm/v7: fine', '      armv7: "no eBPF"'),
    issues: [
      {
        line: 8,
        column: 7,
        path: 'images.agent.notes.armv7',
        message: /^"armv7" is not a platform: expected os\/arch or os\/arch\/variant/,
      },
    ],
  },
  {
    name: 'notes for one platform under two spellings',
    text: y(...HEAD, '    notes:', '      linux/arm64: "first"', '      linux/aarch64/v8: "second"'),
    issues: [
      {
        line: 8,
        column: 7,
        path: 'images.agent.notes.linux/aarch64/v8',
        message: /^"linux\/aarch64\/v8" is the same platform as "linux\/arm64" \(linux\/arm64\/v8\); give one note per platform$/,
      },
    ],
  },
  {
    name: 'cosign key file missing',
    text: y(...HEAD, '    verify:', '      cosign:', '        key: keys/missing.pub'),
    issues: [{ line: 8, column: 14, path: 'images.agent.verify.cosign.key', message: /^"keys\/missing\.pub": no such file/ }],
  },
  {
    name: 'cosign: key and keyless settings together',
    text: y(
      ...HEAD,
      '    verify:',
      '      cosign:',
      '        key: keys/release.pub',
      '        identity: https://github.com/org/repo/.github/workflows/release.yml@refs/tags/v1',
    ),
    issues: [
      {
        line: 9,
        column: 9,
        path: 'images.agent.verify.cosign.identity',
        message: /^identity is keyless verification and key is key-based; give one of the two/,
      },
    ],
  },
  {
    name: 'cosign keyless: an identity without an issuer',
    text: y(
      ...HEAD,
      '    verify:',
      '      cosign:',
      '        identity: https://github.com/org/repo/.github/workflows/release.yml@refs/tags/v1',
    ),
    issues: [{ line: 8, column: 9, path: 'images.agent.verify.cosign', message: /^keyless verification needs issuer or issuerRegexp/ }],
  },
  {
    name: 'cosign keyless: an issuer without an identity',
    text: y(...HEAD, '    verify:', '      cosign:', '        issuerRegexp: https://token\\.actions\\.githubusercontent\\.com'),
    issues: [{ line: 8, column: 9, path: 'images.agent.verify.cosign', message: /^keyless verification needs identity or identityRegexp/ }],
  },
  {
    name: 'cosign keyless: identity and identityRegexp together',
    text: y(
      ...HEAD,
      '    verify:',
      '      cosign:',
      '        identity: a@example.com',
      '        identityRegexp: .*@example\\.com',
      '        issuer: https://accounts.google.com',
    ),
    issues: [
      {
        line: 9,
        column: 9,
        path: 'images.agent.verify.cosign.identityRegexp',
        message: /^give identity \(exact\) or identityRegexp, not both/,
      },
    ],
  },
  {
    name: 'cosign keyless: a regexp that does not compile',
    text: y(
      ...HEAD,
      '    verify:',
      '      cosign:',
      "        identityRegexp: '^https://github.com/(org'",
      '        issuer: https://token.actions.githubusercontent.com',
    ),
    issues: [
      {
        line: 8,
        column: 25,
        path: 'images.agent.verify.cosign.identityRegexp',
        message: /^"\^https:\/\/github.com\/\(org" is not a valid regular expression \(Unterminated group\)$/,
      },
    ],
  },
  {
    name: 'cosign keyless: trustedRoot missing',
    text: y(
      ...HEAD,
      '    verify:',
      '      cosign:',
      '        identity: a@example.com',
      '        issuer: https://accounts.google.com',
      '        trustedRoot: keys/nope.json',
    ),
    issues: [{ line: 10, column: 22, path: 'images.agent.verify.cosign.trustedRoot', message: /^"keys\/nope\.json": no such file/ }],
  },
  {
    name: 'cosign keyless: trustedRoot that is not a trusted root',
    text: y(
      ...HEAD,
      '    verify:',
      '      cosign:',
      '        identity: a@example.com',
      '        issuer: https://accounts.google.com',
      '        trustedRoot: not-a-root.json',
    ),
    issues: [
      {
        line: 10,
        column: 22,
        path: 'images.agent.verify.cosign.trustedRoot',
        message: /^"not-a-root\.json": .*not-a-root\.json is not a Sigstore trusted root/,
      },
    ],
  },
  {
    name: 'cosign: neither key nor keyless',
    text: y(...HEAD, '    verify:', '      cosign: {}'),
    issues: [{ line: 7, column: 15, path: 'images.agent.verify.cosign', message: /^give key \(a public key\) or keyless settings/ }],
  },
  {
    name: 'oci-layout ref pointing at a dir with no layout',
    text: y('version: 1', 'images:', '  agent:', '    ref: oci-layout://not-a-layout/agent', '    tag: v1'),
    issues: [
      {
        line: 4,
        column: 10,
        path: 'images.agent.ref',
        message:
          /^"oci-layout:\/\/not-a-layout\/agent": no OCI image layout found at .*not-a-layout\/agent \(a layout directory holds an "oci-layout" file/,
      },
    ],
  },
  {
    name: 'oci: ref to a missing dir',
    text: y('version: 1', 'images:', '  agent:', '    ref: oci:missing-dir', '    tag: v1'),
    issues: [{ line: 4, column: 10, path: 'images.agent.ref', message: /^"oci:missing-dir": no OCI image layout found/ }],
  },
  // --- registries ---
  {
    name: 'registries key is a URL, not host[:port]',
    text: y(
      'version: 1',
      'registries:',
      '  "https://registry.example.com":',
      '    insecure: true',
      'images:',
      '  agent:',
      '    ref: example.com/agent',
      '    tag: v1',
    ),
    issues: [
      {
        line: 3,
        column: 3,
        path: 'registries.https://registry.example.com',
        message: /^key "https:\/\/registry\.example\.com" must be host\[:port\] as written in refs$/,
      },
    ],
  },
  {
    name: 'registry concurrency 0',
    text: y(
      'version: 1',
      'registries:',
      '  example.com:',
      '    concurrency: 0',
      'images:',
      '  agent:',
      '    ref: example.com/agent',
      '    tag: v1',
    ),
    issues: [{ line: 4, column: 18, path: 'registries.example.com.concurrency', message: /^0 must be >= 1$/ }],
  },
  {
    name: 'registry mirror listed twice',
    text: y(
      'version: 1',
      'registries:',
      '  example.com:',
      '    mirrors: [m.example.com, m.example.com]',
      'images:',
      '  agent:',
      '    ref: example.com/agent',
      '    tag: v1',
    ),
    issues: [{ line: 4, column: 30, path: 'registries.example.com.mirrors[1]', message: /^duplicate entry "m\.example\.com"$/ }],
  },
  {
    name: 'registry mirror that is a URL, or an OCI layout (a --to of `mirror`, not a mirror)',
    text: y(
      'version: 1',
      'registries:',
      '  example.com:',
      '    mirrors: [https://m.example.com, oci-layout://carry, m.example.com/ok]',
      'images:',
      '  agent:',
      '    ref: example.com/agent',
      '    tag: v1',
    ),
    issues: [
      {
        line: 4,
        column: 15,
        path: 'registries.example.com.mirrors[0]',
        message: /^"https:\/\/m\.example\.com" is not host\[\/prefix\] or oci-layout:\/\/DIR/,
      },
      {
        line: 4,
        column: 38,
        path: 'registries.example.com.mirrors[1]',
        message: /^"oci-layout:\/\/carry": a mirror is a registry host\[\/prefix\]; an OCI layout is a --to of `lg-pins mirror`$/,
      },
    ],
  },
  // --- rollout rings ---
  {
    name: 'after names no group (with a suggestion); soak is not a duration',
    text: y(...HEAD, 'fleet:', '  canary: { arch: x86_64, hosts: [a] }', '  dc: { arch: x86_64, hosts: [b], after: canry, soak: 3days }'),
    issues: [
      { line: 8, column: 42, path: 'fleet.dc.after', message: /^"canry" is not a group of this fleet \(did you mean "canary"\?\)$/ },
      { line: 8, column: 55, path: 'fleet.dc.soak', message: /^"3days" is not a duration \(e\.g\. 30m, 12h, 3d, 1d12h\)$/ },
    ],
  },
  {
    name: 'soak without after',
    text: y(...HEAD, 'fleet:', '  canary: { arch: x86_64, hosts: [a], soak: 1d }'),
    issues: [{ line: 7, column: 39, path: 'fleet.canary.soak', message: /^soak needs after: the group whose release this one waits for$/ }],
  },
  {
    name: 'soak as a bare number other than 0',
    text: y(...HEAD, 'fleet:', '  canary: { arch: x86_64, hosts: [a] }', '  dc: { arch: x86_64, hosts: [b], after: canary, soak: 30 }'),
    issues: [{ line: 8, column: 56, path: 'fleet.dc.soak', message: /^30 is not a duration: give it a unit \(30m, 12h, 3d\)$/ }],
  },
  {
    name: 'a cycle of after, named once with every group in it',
    text: y(
      ...HEAD,
      'fleet:',
      '  a: { arch: x86_64, hosts: [h1], after: c }',
      '  b: { arch: x86_64, hosts: [h2], after: a }',
      '  c: { arch: x86_64, hosts: [h3], after: b }',
    ),
    issues: [
      {
        line: 7,
        column: 42,
        path: 'fleet.a.after',
        message: /^"a" → "c" → "b" → "a" is a cycle; a ring needs a first group without after$/,
      },
    ],
  },
  {
    name: 'a leader that does not run an image its follower runs',
    text: y(
      'version: 1',
      'images:',
      '  agent: { ref: example.com/agent, tag: v1 }',
      '  tool: { ref: example.com/tool, tag: v1 }',
      'fleet:',
      '  canary: { arch: x86_64, hosts: [a], images: [agent] }',
      '  dc: { arch: x86_64, hosts: [b], after: canary }',
    ),
    issues: [
      {
        line: 7,
        column: 42,
        path: 'fleet.dc.after',
        message:
          /^group "dc" runs image "tool", which its leader "canary" does not run; a follower takes a release only once its leader runs it$/,
      },
    ],
  },
  // --- fleet ---
  {
    name: 'arch unknown, with a suggestion',
    text: y(...HEAD, 'fleet:', '  edge:', '    arch: armv7', '    hosts: [gw-01]'),
    issues: [
      {
        line: 8,
        column: 11,
        path: 'fleet.edge.arch',
        message: /^"armv7" is not a known `uname -m` value \(did you mean "armv7l"\?\); known: x86_64, /,
      },
    ],
  },
  {
    name: 'both arch and platform',
    text: y(...HEAD, 'fleet:', '  edge:', '    arch: armv7l', '    platform: linux/arm/v7'),
    issues: [{ line: 7, column: 3, path: 'fleet.edge', message: /^has both "arch" and "platform"; set exactly one$/ }],
  },
  {
    name: 'neither arch nor platform',
    text: y(...HEAD, 'fleet:', '  edge:', '    hosts: [gw-01]'),
    issues: [{ line: 7, column: 3, path: 'fleet.edge', message: /^needs one of "arch" or "platform"$/ }],
  },
  {
    name: 'bad platform strings',
    text: y(
      ...HEAD,
      'fleet:',
      '  edge:',
      '    platform: linux/armv7',
      '  desktops:',
      '    platform: windoze/amd64',
      '  odd:',
      '    platform: linux',
    ),
    issues: [
      {
        line: 8,
        column: 15,
        path: 'fleet.edge.platform',
        message: /^"linux\/armv7" is not a valid platform: unknown architecture "armv7"/,
      },
      { line: 10, column: 15, path: 'fleet.desktops.platform', message: /^"windoze\/amd64" is not a valid platform: unknown os "windoze"/ },
      {
        line: 12,
        column: 15,
        path: 'fleet.odd.platform',
        message: /^"linux" is not a valid platform: expected os\/arch or os\/arch\/variant/,
      },
    ],
  },
  {
    name: 'empty arch, reported once',
    text: y(...HEAD, 'fleet:', '  edge:', '    arch: ""'),
    issues: [{ line: 8, column: 11, path: 'fleet.edge.arch', message: /^must not be empty$/ }],
  },
  {
    name: 'invalid group id',
    text: y(...HEAD, 'fleet:', '  Edge_Gateways!:', '    arch: armv7l'),
    issues: [{ line: 7, column: 3, path: 'fleet.Edge_Gateways!', message: /^group id "Edge_Gateways!" must be lowercase/ }],
  },
  {
    name: 'unknown group key: hostfile',
    text: y(...HEAD, 'fleet:', '  edge:', '    arch: armv7l', '    hostfile: edge.txt'),
    issues: [{ line: 9, column: 5, path: 'fleet.edge.hostfile', message: /^unknown key "hostfile" \(did you mean "hostsFile"\?\)$/ }],
  },
  {
    name: 'group images naming missing images',
    text: y(...HEAD, 'fleet:', '  edge:', '    arch: armv7l', '    images: [agnet, sidecar]'),
    issues: [
      { line: 9, column: 14, path: 'fleet.edge.images[0]', message: /^"agnet" is not an image of this spec \(did you mean "agent"\?\)$/ },
      { line: 9, column: 21, path: 'fleet.edge.images[1]', message: /^"sidecar" is not an image of this spec$/ },
    ],
  },
  {
    name: 'duplicate host in a list',
    text: y(...HEAD, 'fleet:', '  edge:', '    arch: armv7l', '    hosts: [gw-01, gw-02, gw-01]'),
    issues: [{ line: 9, column: 27, path: 'fleet.edge.hosts[2]', message: /^duplicate entry "gw-01"$/ }],
  },
  {
    name: 'hosts as a string, not a list',
    text: y(...HEAD, 'fleet:', '  edge:', '    arch: armv7l', '    hosts: gw-01, gw-02'),
    issues: [{ line: 9, column: 12, path: 'fleet.edge.hosts', message: /^must be an array, got "gw-01, gw-02"$/ }],
  },
  {
    name: 'a host name with a space',
    text: y(...HEAD, 'fleet:', '  edge:', '    arch: armv7l', '    hosts: [gw-01, "gw 02"]'),
    issues: [{ line: 9, column: 20, path: 'fleet.edge.hosts[1]', message: /^"gw 02" is not a host name$/ }],
  },
  {
    name: 'hostsFile missing',
    text: y(...HEAD, 'fleet:', '  edge:', '    arch: armv7l', '    hostsFile: inventory/edge.txt'),
    issues: [
      { line: 9, column: 16, path: 'fleet.edge.hostsFile', message: /^cannot read hosts file ".*inventory\/edge\.txt": no such file$/ },
    ],
  },
  {
    name: 'hostsFile is a directory',
    text: y(...HEAD, 'fleet:', '  edge:', '    arch: armv7l', '    hostsFile: not-a-layout'),
    issues: [
      {
        line: 9,
        column: 16,
        path: 'fleet.edge.hostsFile',
        message: /^cannot read hosts file ".*not-a-layout": it is a directory; a hosts file must be a regular file$/,
      },
    ],
  },
  {
    name: 'hostsFile with a bad line: the issue names the hosts file and its line',
    text: y(...HEAD, 'fleet:', '  edge:', '    arch: armv7l', '    hostsFile: bad-hosts.txt'),
    issues: [{ file: BAD_HOSTS, line: 4, column: 3, path: '', message: /^"gw 02!" is not a host name \(one host a line\)$/ }],
  },
  {
    name: 'hostsFrom: the inventory is missing',
    text: y(...HEAD, 'fleet:', '  edge:', '    arch: armv7l', '    hostsFrom: { ansible: inventory/hosts.yml, group: edge }'),
    issues: [
      {
        line: 9,
        column: 27,
        path: 'fleet.edge.hostsFrom.ansible',
        message: /^cannot read Ansible inventory ".*inventory\/hosts\.yml": no such file$/,
      },
    ],
  },
  {
    name: 'hostsFrom: the inventory is a directory',
    text: y(...HEAD, 'fleet:', '  edge:', '    arch: armv7l', '    hostsFrom: { ansible: not-a-layout, group: edge }'),
    issues: [
      {
        line: 9,
        column: 27,
        path: 'fleet.edge.hostsFrom.ansible',
        message: /^cannot read Ansible inventory ".*not-a-layout": it is a directory; an Ansible inventory must be a regular file$/,
      },
    ],
  },
  {
    name: 'hostsFrom: a group the inventory does not have',
    text: y(...HEAD, 'fleet:', '  edge:', '    arch: armv7l', '    hostsFrom: { ansible: inventory.yml, group: egde }'),
    issues: [
      {
        line: 9,
        column: 49,
        path: 'fleet.edge.hostsFrom.group',
        message: /^group "egde" is not in inventory\.yml \(did you mean "edge"\? it has: all, dc, edge, ungrouped\)$/,
      },
    ],
  },
  {
    name: 'hostsFrom: a bad host name in the inventory names the inventory, its line and the key that led there',
    text: y(...HEAD, 'fleet:', '  edge:', '    arch: armv7l', '    hostsFrom: { ansible: inventory.yml, group: edge }'),
    issues: [{ file: INVENTORY, line: 6, column: 9, path: 'fleet.edge.hostsFrom.ansible', message: /^"gw 02!" is not a host name$/ }],
  },
  {
    name: 'hostsFrom: a junk line in an INI inventory',
    text: y(...HEAD, 'fleet:', '  edge:', '    arch: armv7l', '    hostsFrom: { ansible: hosts, group: edge }'),
    issues: [
      {
        file: INI_INVENTORY,
        line: 3,
        column: 1,
        path: 'fleet.edge.hostsFrom.ansible',
        message: /^expected key=value variables after host "gw-02", got "junk"$/,
      },
    ],
  },
  {
    name: 'hostsFrom without a group',
    text: y(...HEAD, 'fleet:', '  edge:', '    arch: armv7l', '    hostsFrom: { ansible: inventory.yml }'),
    issues: [{ line: 9, column: 5, path: 'fleet.edge.hostsFrom', message: /^missing required key "group"$/ }],
  },
  {
    name: 'a host from an inventory that another group running the same image lists',
    text: y(
      ...HEAD,
      'fleet:',
      '  datacenter:',
      '    arch: x86_64',
      '    hosts: [web-01]',
      '  dc:',
      '    arch: aarch64',
      '    hostsFrom: { ansible: inventory.yml, group: dc }',
    ),
    issues: [{ line: 10, column: 3, path: 'fleet.dc', message: /^host "web-01" is also in group "datacenter" and both run image "agent"/ }],
  },
  {
    name: 'host in two groups running the same image',
    text: y(
      ...HEAD,
      'fleet:',
      '  datacenter:',
      '    arch: x86_64',
      '    hosts: [web-01, web-02]',
      '  arm:',
      '    arch: aarch64',
      '    hosts: [web-02, arm-01]',
    ),
    issues: [
      { line: 10, column: 3, path: 'fleet.arm', message: /^host "web-02" is also in group "datacenter" and both run image "agent"/ },
    ],
  },
  {
    name: 'host in two groups, one of them with a bad arch: both reported at once',
    text: y(
      ...HEAD,
      'fleet:',
      '  datacenter:',
      '    arch: x86_64',
      '    hosts: [web-01]',
      '  arm:',
      '    arch: arm65',
      '    hosts: [web-01]',
    ),
    issues: [
      { line: 10, column: 3, path: 'fleet.arm', message: /^host "web-01" is also in group "datacenter"/ },
      { line: 11, column: 11, path: 'fleet.arm.arch', message: /^"arm65" is not a known `uname -m` value \(did you mean "arm64"\?\)/ },
    ],
  },
  {
    name: 'onMissing invalid',
    text: y(...HEAD, 'fleet:', '  edge:', '    arch: armv7l', '    onMissing: skip'),
    issues: [{ line: 9, column: 16, path: 'fleet.edge.onMissing', message: /^"skip" is not one of "fail", "hold"$/ }],
  },
  {
    name: 'fleet is a list',
    text: y(...HEAD, 'fleet: [edge]'),
    issues: [{ line: 6, column: 8, path: 'fleet', message: /^must be an object, got \["edge"\]$/ }],
  },
  // --- many problems at once ---
  {
    name: 'several errors, all reported in line order (the hosts file after the spec)',
    text: y(
      'version: 1', //                              1
      'images:', //                                 2
      '  agent:', //                                3
      '    ref: app:v1', //                         4
      '    tag: v1', //                             5
      '    cadence: fast', //                       6
      '  Sidecar:', //                              7
      '    ref: example.com/sidecar', //            8
      'fleet:', //                                  9
      '  edge:', //                                 10
      '    arch: armv7', //                         11
      '    hosts: [gw-01, gw-01]', //               12
      '    hostsFile: bad-hosts.txt', //            13
      '    onMisisng: hold', //                     14
    ),
    issues: [
      { line: 4, column: 10, path: 'images.agent.ref', message: /^"app:v1": expected a repository/ },
      { line: 6, column: 5, path: 'images.agent.cadence', message: /^"cadence" needs "track"$/ },
      { line: 6, column: 14, path: 'images.agent.cadence', message: /^"fast" is not one of "patch", "minor", "major"$/ },
      { line: 7, column: 3, path: 'images.Sidecar', message: /^image id "Sidecar" must be lowercase/ },
      { line: 7, column: 3, path: 'images.Sidecar', message: /^needs one of "tag" or "track"$/ },
      { line: 11, column: 11, path: 'fleet.edge.arch', message: /^"armv7" is not a known `uname -m` value \(did you mean "armv7l"\?\)/ },
      { line: 12, column: 20, path: 'fleet.edge.hosts[1]', message: /^duplicate entry "gw-01"$/ },
      { line: 14, column: 5, path: 'fleet.edge.onMisisng', message: /^unknown key "onMisisng" \(did you mean "onMissing"\?\)$/ },
      { file: BAD_HOSTS, line: 4, column: 3, path: '', message: /^"gw 02!" is not a host name/ },
    ],
  },
  // --- package.json "lg-pins" key: paths relative to the key, lines of package.json ---
  {
    name: 'package.json with a broken "lg-pins" key',
    file: path.join(tmp, 'package.json'),
    text: y(
      '{', //                                                                          1
      '  "name": "fleet-config",', //                                                  2
      '  "private": true,', //                                                         3
      '  "lg-pins": {', //                                                             4
      '    "version": 1,', //                                                          5
      '    "images": {', //                                                            6
      '      "agent": { "ref": "example.com/agent", "tag": "v1", "cadense": "minor" }', // 7
      '    },', //                                                                     8
      '    "fleet": { "edge": { "arch": "armv7", "hosts": ["gw-01"] } }', //           9
      '  }', //                                                                        10
      '}', //                                                                          11
    ),
    issues: [
      { line: 7, column: 59, path: 'images.agent.cadense', message: /^unknown key "cadense" \(did you mean "cadence"\?\)$/ },
      { line: 9, column: 34, path: 'fleet.edge.arch', message: /^"armv7" is not a known `uname -m` value/ },
    ],
  },
  {
    name: 'package.json with a duplicate key inside "lg-pins"',
    file: path.join(tmp, 'package.json'),
    text: y(
      '{',
      '  "lg-pins": {',
      '    "version": 1,',
      '    "version": 1,',
      '    "images": { "agent": { "ref": "a", "tag": "v1" } }',
      '  }',
      '}',
    ),
    issues: [{ line: 4, column: 5, path: 'version', message: /^duplicate key "version"/ }],
  },
  {
    name: '.lg-pinsrc.json with a trailing comma',
    file: path.join(tmp, '.lg-pinsrc.json'),
    text: y('{', '  "version": 1,', '  "images": {', '    "agent": { "ref": "a", "tag": "v1" },', '  }', '}'),
    issues: [{ line: 5, column: 3, path: '', message: /^invalid JSON: expected a double-quoted property name \(at "}"\)$/ }],
  },
  {
    name: '.lg-pinsrc.json cut short',
    file: path.join(tmp, '.lg-pinsrc.json'),
    text: y('{', '  "version": 1,', '  "images": {'),
    issues: [{ line: 3, column: 14, path: '', message: /^invalid JSON: unexpected end of the file \(at "\\"images\\": \{"\)$/ }],
  },
  {
    name: 'package.json with "lg-pins": null',
    file: path.join(tmp, 'package.json'),
    text: y('{', '  "name": "x",', '  "lg-pins": null', '}'),
    issues: [{ line: 3, column: 3, path: '', message: /^"lg-pins" is empty; it needs at least `version: 1`/ }],
  },
];

describe('broken specs: every issue located, quoted, and all of them at once', () => {
  it('has a corpus of at least 25 cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(25);
  });

  it.each(cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const file = c.file ?? SPEC;
    expect(() => parseSpec(c.text, file)).toThrow(SpecError);
    const err = specError(c.text, file);
    expect(err.exitCode).toBe(ExitCode.badInput);
    expect(err.exitCode).toBe(2);
    const got = err.issues.map((i) => ({ file: i.file, line: i.line, column: i.column, path: i.path }));
    expect(got).toEqual(c.issues.map((e) => ({ file: e.file ?? file, line: e.line, column: e.column, path: e.path })));
    c.issues.forEach((e, n) => expect(err.issues[n]?.message).toMatch(e.message));
    // The error's own message lists every issue as file:line:column: path: message.
    for (const i of err.issues) expect(err.message).toContain(formatIssue(i));
  });

  it('every issue of every case names a file, a line and a column', () => {
    const all: SpecIssue[] = cases.flatMap((c) => specError(c.text, c.file ?? SPEC).issues);
    for (const i of all) {
      expect(i.file).toMatch(/^\//);
      expect(i.line).toBeGreaterThanOrEqual(1);
      expect(i.column).toBeGreaterThanOrEqual(1);
    }
  });

  it('formats an issue as file:line:column: path: message', () => {
    const err = specError(y('version: 1', 'images:', '  agent:', '    ref: app:v1', '    tag: v1'), SPEC);
    expect(err.message).toBe(`${SPEC}:4:10: images.agent.ref: "app:v1": expected a repository (no tag, no digest) but it has tag "v1"`);
  });

  it('a spec whose only problem is in its hosts file still fails, naming that file', () => {
    const err = specError(y(...HEAD, 'fleet:', '  edge:', '    arch: armv7l', '    hostsFile: bad-hosts.txt'), SPEC);
    expect(err.issues.map((i) => i.file)).toEqual([BAD_HOSTS]);
    expect(err.message).toBe(`${BAD_HOSTS}:4:3: "gw 02!" is not a host name (one host a line)`);
  });

  it('an inventory over 16 MiB is refused before it is read', () => {
    const big = path.join(tmp, 'big.yml');
    fs.writeFileSync(big, '');
    fs.truncateSync(big, 17 * 1024 * 1024);
    const err = specError(y(...HEAD, 'fleet:', '  edge:', '    arch: armv7l', '    hostsFrom: { ansible: big.yml, group: edge }'), SPEC);
    expect(err.message).toBe(
      `${SPEC}:9:27: fleet.edge.hostsFrom.ansible: cannot read Ansible inventory ${JSON.stringify(big)}: it is 17 MiB; lg-pins reads at most 16 MiB of an Ansible inventory`,
    );
  });

  it('an inventory two groups use reports its problems once; each group reads it', () => {
    const err = specError(
      y(
        ...HEAD,
        'fleet:',
        '  edge:',
        '    arch: armv7l',
        '    hostsFrom: { ansible: hosts, group: edge }',
        '  everything:',
        '    arch: aarch64',
        '    hostsFrom: { ansible: hosts, group: all }',
        '    images: []',
      ),
      SPEC,
    );
    expect(err.message).toBe(
      `${INI_INVENTORY}:3:1: fleet.edge.hostsFrom.ansible: expected key=value variables after host "gw-02", got "junk"`,
    );
  });

  it('loadSpec reports a broken package.json "lg-pins" key found by discovery', async () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'pkg-'));
    fs.writeFileSync(path.join(dir, 'package.json'), y('{', '  "name": "x",', '  "lg-pins": {', '    "version": 1', '  }', '}'));
    const err = await loadSpec({ cwd: dir }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(SpecError);
    expect((err as SpecError).issues).toEqual([
      { file: path.join(dir, 'package.json'), line: 3, column: 3, path: '', message: 'missing required key "images"' },
    ]);
  });

  it('loadSpec reports a package.json with a JSON syntax error inside its "lg-pins" key', async () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'pkg-'));
    fs.writeFileSync(
      path.join(dir, 'package.json'),
      y('{', '  "name": "x",', '  "lg-pins": {', '    "version": 1', '    "images": {}', '  }', '}'),
    );
    const err = await loadSpec({ cwd: dir }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(SpecError);
    expect((err as SpecError).issues).toEqual([
      {
        file: path.join(dir, 'package.json'),
        line: 5,
        column: 5,
        path: '',
        message: 'invalid JSON: expected \',\' or \'}\' after a property value (at "\\"images\\": {}")',
      },
    ]);
  });

  it('loadSpec finds an empty lg-pins.yaml and says it is empty, rather than searching on', async () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'empty-'));
    fs.writeFileSync(path.join(dir, 'lg-pins.yaml'), '');
    const err = await loadSpec({ cwd: dir }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(SpecError);
    expect((err as SpecError).issues).toEqual([
      {
        file: path.join(dir, 'lg-pins.yaml'),
        line: 1,
        column: 1,
        path: '',
        message: 'the spec is empty; it needs at least `version: 1` and `images:`',
      },
    ]);
  });
});
