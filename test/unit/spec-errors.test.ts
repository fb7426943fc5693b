import { it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseSpec } from '../../src/config/load.js';
import { SpecError } from '../../src/errors.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lgx-'));
fs.writeFileSync(path.join(tmp, 'bad-hosts.txt'), '# comment\nweb-01\n\n  bad host!  # x\nweb-02\n');
fs.mkdirSync(path.join(tmp, 'nolayout'));
const cases: Record<string, string> = {
  syntax: 'version: 1\nimages:\n  agent: {ref: x\n',
  dup: 'version: 1\nimages:\n  agent:\n    ref: a/b\n    tag: v1\n    tag: v2\n',
  tab: 'version: 1\nimages:\n\tagent:\n    ref: a\n',
  indent: 'version: 1\nimages:\n  agent:\n    ref: a\n   tag: v1\n',
  empty: '',
  comments: '# only a comment\n',
  scalar: 'hello\n',
  version: 'version: 2\nimages:\n  agent:\n    ref: a\n    tag: v1\n',
  missingImages: 'version: 1\n',
  emptyImages: 'version: 1\nimages: {}\n',
  imagesNull: 'version: 1\nimages:\n',
  unknownTop: 'version: 1\nimage:\n  a: 1\nimages:\n  agent:\n    ref: a\n    tag: v1\n',
  cadense: 'version: 1\nimages:\n  agent:\n    ref: a\n    track: ^1.0.0\n    cadense: minor\n',
  both: 'version: 1\nimages:\n  agent:\n    ref: a\n    tag: v1\n    track: ^1.0.0\n',
  neither: 'version: 1\nimages:\n  agent:\n    ref: a\n',
  cadenceNoTrack: 'version: 1\nimages:\n  agent:\n    ref: a\n    tag: v1\n    cadence: minor\n',
  badRange: 'version: 1\nimages:\n  agent:\n    ref: a\n    track: "^^3"\n',
  badTag: 'version: 1\nimages:\n  agent:\n    ref: a\n    tag: -v1\n',
  upperRepo: 'version: 1\nimages:\n  agent:\n    ref: example.com/Agent\n    tag: v1\n',
  refTag: 'version: 1\nimages:\n  agent:\n    ref: app:v1\n    tag: v1\n',
  refDigest: 'version: 1\nimages:\n  agent:\n    ref: app@sha256:' + 'a'.repeat(64) + '\n    tag: v1\n',
  badDigest: 'version: 1\nimages:\n  agent:\n    ref: app@sha256:abc\n    tag: v1\n',
  badId: 'version: 1\nimages:\n  Agent:\n    ref: a\n    tag: v1\n',
  archUnknown: 'version: 1\nimages:\n  agent:\n    ref: a\n    tag: v1\nfleet:\n  edge:\n    arch: armv7\n    hosts: [a]\n',
  archBoth: 'version: 1\nimages:\n  agent:\n    ref: a\n    tag: v1\nfleet:\n  edge:\n    arch: armv7l\n    platform: linux/arm/v7\n',
  archNeither: 'version: 1\nimages:\n  agent:\n    ref: a\n    tag: v1\nfleet:\n  edge:\n    hosts: [a]\n',
  badPlat: 'version: 1\nimages:\n  agent:\n    ref: a\n    tag: v1\nfleet:\n  edge:\n    platform: linux/armv7\n  win:\n    platform: windoze/amd64\n',
  groupImages: 'version: 1\nimages:\n  agent:\n    ref: a\n    tag: v1\nfleet:\n  edge:\n    arch: x86_64\n    images: [agnet, other]\n',
  dupHost: 'version: 1\nimages:\n  agent:\n    ref: a\n    tag: v1\nfleet:\n  edge:\n    arch: x86_64\n    hosts: [a, b, a]\n',
  hostsFileMissing: 'version: 1\nimages:\n  agent:\n    ref: a\n    tag: v1\nfleet:\n  edge:\n    arch: x86_64\n    hostsFile: nope.txt\n',
  hostsFileBad: 'version: 1\nimages:\n  agent:\n    ref: a\n    tag: v1\nfleet:\n  edge:\n    arch: x86_64\n    hostsFile: bad-hosts.txt\n',
  hostTwice: 'version: 1\nimages:\n  agent:\n    ref: a\n    tag: v1\nfleet:\n  one:\n    arch: x86_64\n    hosts: [a, b]\n  two:\n    arch: aarch64\n    hosts: [b, c]\n',
  onMissing: 'version: 1\nimages:\n  agent:\n    ref: a\n    tag: v1\nfleet:\n  edge:\n    arch: x86_64\n    onMissing: skip\n',
  regKey: 'version: 1\nregistries:\n  "https://x.io":\n    insecure: true\nimages:\n  agent:\n    ref: a\n    tag: v1\n',
  regConc: 'version: 1\nregistries:\n  x.io:\n    concurrency: 0\nimages:\n  agent:\n    ref: a\n    tag: v1\n',
  notes: 'version: 1\nimages:\n  agent:\n    ref: a\n    tag: v1\n    notes:\n      arm7: "x"\n',
  layout: 'version: 1\nimages:\n  agent:\n    ref: oci-layout://nolayout\n    tag: v1\n',
  several: 'version: 1\nimages:\n  agent:\n    ref: app:v1\n    tag: v1\n    cadence: fast\n  Bad:\n    ref: a\nfleet:\n  edge:\n    arch: armv7\n    hosts: [a, a]\n',
  typeImage: 'version: 1\nimages:\n  agent: a/b\n',
  fleetList: 'version: 1\nimages:\n  agent:\n    ref: a\n    tag: v1\nfleet: [a]\n',
  hostsString: 'version: 1\nimages:\n  agent:\n    ref: a\n    tag: v1\nfleet:\n  edge:\n    arch: x86_64\n    hosts: a, b\n',
  hostBad: 'version: 1\nimages:\n  agent:\n    ref: a\n    tag: v1\nfleet:\n  edge:\n    arch: x86_64\n    hosts: ["bad host"]\n',
  prerelNoTrack: 'version: 1\nimages:\n  agent:\n    ref: a\n    tag: v1\n    prerelease: true\n',
  cosign: 'version: 1\nimages:\n  agent:\n    ref: a\n    tag: v1\n    verify:\n      cosign:\n        key: nokey.pub\n',
  mirrorsDup: 'version: 1\nregistries:\n  x.io:\n    mirrors: [m.io, m.io]\nimages:\n  agent:\n    ref: a\n    tag: v1\n',
  alias: 'version: 1\nx: &a [1]\nimages:\n  agent:\n    ref: a\n    tag: v1\n',
  trackEmpty: 'version: 1\nimages:\n  agent:\n    ref: a\n    track: ""\n',
  refEmpty: 'version: 1\nimages:\n  agent:\n    ref: ""\n    tag: v1\n',
  versionStr: 'version: "1"\nimages:\n  agent:\n    ref: a\n    tag: v1\n',

  hostsFileEmpty: 'version: 1\nimages:\n  agent:\n    ref: a\n    tag: v1\nfleet:\n  edge:\n    arch: x86_64\n    hostsFile: ""\n',
  archEmpty: 'version: 1\nimages:\n  agent:\n    ref: a\n    tag: v1\nfleet:\n  edge:\n    arch: ""\n',
  platEmpty: 'version: 1\nimages:\n  agent:\n    ref: a\n    tag: v1\nfleet:\n  edge:\n    platform: ""\n',
  imgNull: 'version: 1\nimages:\n  agent:\n',
  longId: 'version: 1\nimages:\n  ' + 'a'.repeat(70) + ':\n    ref: a\n    tag: v1\n',
  refNum: 'version: 1\nimages:\n  agent:\n    ref: 5\n    tag: v1\n',
  tagNum: 'version: 1\nimages:\n  agent:\n    ref: a\n    tag: 1.10\n',
  bomb: 'version: 1\na: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\nimages:\n  agent:\n    ref: a\n    tag: v1\n',
  hostfile: 'version: 1\nimages:\n  agent:\n    ref: a\n    tag: v1\nfleet:\n  edge:\n    arch: x86_64\n    hostfile: x\n',
  dup2: 'version: 1\nimages:\n  agent:\n    ref: a\n    tag: v1\nimages:\n  b:\n    ref: a\n    tag: v1\n',
  twoSyntax: 'version: 1\nimages:\n  agent:\n    ref: [a\n    tag: v1\n  b: {\n',
  layoutFile: 'version: 1\nimages:\n  agent:\n    ref: oci:lg-pins.yaml\n    tag: v1\n',
  hostTwiceSubset: 'version: 1\nimages:\n  agent:\n    ref: a\n    tag: v1\n  other:\n    ref: b\n    tag: v1\nfleet:\n  one:\n    arch: x86_64\n    hosts: [a]\n    images: [agent]\n  two:\n    arch: aarch64\n    hosts: [a]\n    images: [other]\n',
  badGroupArchAndTwice: 'version: 1\nimages:\n  agent:\n    ref: a\n    tag: v1\nfleet:\n  one:\n    arch: x86_64\n    hosts: [a]\n  two:\n    arch: bogus\n    hosts: [a]\n',
  multiDoc: 'version: 1\nimages:\n  agent:\n    ref: a\n    tag: v1\n---\nversion: 1\n',
};
it('dump', () => {
  for (const [name, text] of Object.entries(cases)) {
    try {
      parseSpec(text, path.join(tmp, 'lg-pins.yaml'));
      console.log(`### ${name}: NO ERROR`);
    } catch (e) {
      if (!(e instanceof SpecError)) { console.log(`### ${name}: NOT SPECERROR`, e); continue; }
      console.log(`### ${name} (${e.issues.length})\n` + e.issues.map((i) => `  ${i.file === path.join(tmp, 'lg-pins.yaml') ? '' : i.file}:${i.line}:${i.column} [${i.path}] ${i.message}`).join('\n') + (e.issues.length ? '' : '  MSG ' + e.message));
    }
  }
  const pkg = '{\n  "name": "x",\n  "lg-pins": {\n    "version": 1,\n    "images": {\n      "agent": { "ref": "a", "tag": "v1", "cadense": "minor" }\n    },\n    "fleet": { "e": { "arch": "armv7" } }\n  }\n}\n';
  try { parseSpec(pkg, path.join(tmp, 'package.json')); } catch (e) { console.log((e as SpecError).issues); }
});
