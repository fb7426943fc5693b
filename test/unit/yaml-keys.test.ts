/**
 * Keys and values YAML reads as something else (issue 10, item 3). Ids such as `007`, `0x10`, `on`
 * or `2001-12-14`, tags such as `ON` or `1e3`, ranges such as `*`, written into the lock, must come
 * back as the very same strings to every reader: lg-pins' fast reader, its fallback and located
 * readers, the `yaml` package and js-yaml (YAML 1.2), and PyYAML (YAML 1.1: Debian's python3-yaml,
 * run once per batch of locks).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { load as jsYamlLoad } from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseSpec, parseSpecLocated } from '../../src/config/load.js';
import { SourceFile } from '../../src/config/source.js';
import { computeDigest, type Digest } from '../../src/digest.js';
import { fastParseLock } from '../../src/lock/fast-parse.js';
import type { FleetPin, Lock, LockImage } from '../../src/lock/model.js';
import { parseLock } from '../../src/lock/read.js';
import { serializeLock } from '../../src/lock/serialize.js';
import { plainOk } from '../../src/lock/yaml-scalar.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const PYTHON = '/usr/bin/python3';
const M = 'application/vnd.oci.image.manifest.v1+json';
const d = (s: string): Digest => computeDigest(new TextEncoder().encode(s));

/** Every document through PyYAML's safe_load; a load error or a non-JSON value (a date) comes back as {"$error": ...}. */
function pyyaml(texts: string[]): unknown[] {
  const script = [
    'import json, sys, yaml',
    'def load(t):',
    '    try:',
    '        return yaml.safe_load(t)',
    '    except Exception as e:',
    '        return {"$error": repr(e)}',
    'out = [load(t) for t in json.loads(sys.stdin.buffer.read().decode("utf-8"))]',
    'print(json.dumps(out, default=lambda o: {"$error": "not JSON: " + repr(o)}))',
  ].join('\n');
  let stdout: string;
  try {
    stdout = execFileSync(PYTHON, ['-c', script], { input: JSON.stringify(texts), encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  } catch (e) {
    throw new Error(`PyYAML is needed for this test (apt-get install -y python3-yaml): ${(e as Error).message}`, { cause: e });
  }
  return JSON.parse(stdout) as unknown[];
}

// --- generators, biased strongly toward shapes some YAML reader retypes ---------------------------

const chars = (set: string, minLength: number, maxLength: number) => fc.string({ unit: fc.constantFrom(...set), minLength, maxLength });
const DIGITS = '0123456789';
/** Booleans and nulls of YAML 1.1 (PyYAML, the spec's y/n) and 1.2. */
const WORDS = ['true', 'false', 'null', 'yes', 'no', 'on', 'off', 'y', 'n', 'nul', 'tru', 'inf', 'nan'];
const yamlish = fc.oneof(
  chars(DIGITS, 1, 12), // 16, 007, 08
  fc.tuple(fc.constantFrom('0b', '0o', '0x', '0'), chars(`${DIGITS}abcdef_`, 0, 8)).map(([p, s]) => p + s), // 0x10, 0b101, 0o17, 0x_
  fc.tuple(chars(`${DIGITS}_`, 1, 6), chars(`${DIGITS}_`, 0, 6)).map(([a, b]) => `${a}.${b}`), // 1.5, 1_0.5, 1.
  fc
    .tuple(chars(DIGITS, 1, 4), fc.constantFrom('', '.', '.5', '_0'), fc.constantFrom('e', 'e-', 'e+', 'E'), chars(DIGITS, 1, 3))
    .map((p) => p.join('')), // 1e3, 1.5e-3
  fc.tuple(chars(DIGITS, 1, 3), chars('_', 1, 2), chars(DIGITS, 0, 3)).map((p) => p.join('')), // 1_000, 1_
  fc
    .tuple(chars(DIGITS, 4, 4), chars(DIGITS, 1, 2), chars(DIGITS, 1, 2), fc.constantFrom('', 't', '-x'))
    .map(([y, m, day, t]) => `${y}-${m}-${day}${t}`), // 2001-12-14
  fc.constantFrom(...WORDS),
  fc.constantFrom('1.2.3', '3.0.0', 'v1.10', '1.0.0-rc.1', '0.5.x', '.5', '_1', '1__0', '0_7', '08.5', '1e', 'e3', '0b', '0xg', '2001-1-2'),
);
const ordinary = fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,20}$/);
/** Upper- and title-case forms (`ON`, `Null`, `0X1F`, `1E3`): tags may have them, ids may not. */
const recase = (s: fc.Arbitrary<string>) =>
  fc
    .tuple(s, fc.constantFrom('lower', 'upper', 'title'))
    .map(([v, c]) => (c === 'upper' ? v.toUpperCase() : c === 'title' ? v.charAt(0).toUpperCase() + v.slice(1) : v));

const ID = /^[a-z0-9][a-z0-9._-]*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const idArb = fc.oneof({ weight: 6, arbitrary: yamlish }, { weight: 1, arbitrary: ordinary }).filter((s) => ID.test(s) && s.length <= 63);
const tagArb = fc.oneof({ weight: 6, arbitrary: recase(yamlish) }, { weight: 1, arbitrary: ordinary }).filter((s) => TAG.test(s));
const platformArb = fc
  .tuple(
    fc.constantFrom('linux', '007', 'on', 'null', '1'),
    fc.constantFrom('amd64', 'arm', '0x10', 'y', '1_0'),
    fc.constantFrom(undefined, 'v7', '1e3', '2001-12-14', '.5', 'on'),
  )
  .map(([os, arch, v]) => (v === undefined ? `${os}/${arch}` : `${os}/${arch}/${v}`));
/** Free text for the fields the schema barely constrains (refs, ranges, held reasons). */
const textArb = fc.oneof(
  tagArb,
  fc.constantFrom(
    '*',
    '1.x',
    '^1.0.0',
    '>=1 <2',
    '~1.2',
    '1 || 2',
    '~',
    '<<',
    '=',
    '1:20',
    '1:20.5',
    '-.inf',
    '.NaN',
    '- x',
    'a: b',
    'x #y',
    'why?',
    'a,b',
    '"q"',
    "it's",
  ),
  fc.constantFrom(
    '2001-12-14 21:59:43.10 -5',
    'oci-layout://examples/x',
    'tab\there',
    'é',
    '\u0085',
    '\u2028',
    'DEL\u007f',
    'BOM\ufeff',
    '\u{1F600}',
  ),
  fc.string({ minLength: 1, maxLength: 12 }),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 6 }),
);

const lockArb = fc
  .record({
    images: fc.uniqueArray(
      fc.record({
        id: idArb,
        tag: tagArb,
        ref: fc.oneof(fc.constant('oci-layout://examples/linuxguard-agent'), textArb),
        track: fc.option(textArb, { nil: undefined }),
        platforms: fc.uniqueArray(platformArb, { minLength: 1, maxLength: 3 }),
      }),
      { selector: (i) => i.id, minLength: 1, maxLength: 4 },
    ),
    groups: fc.uniqueArray(
      fc.record({ id: idArb, held: fc.option(fc.record({ tag: tagArb, reason: textArb }), { nil: undefined }), empty: fc.boolean() }),
      { selector: (g) => g.id, maxLength: 4 },
    ),
  })
  .map(({ images, groups }): Lock => {
    const lock: Lock = { lockVersion: 1, images: {}, fleet: {} };
    for (const i of images) {
      const image: LockImage = {
        ref: i.ref,
        tag: i.tag,
        digest: d(i.id),
        mediaType: 'application/vnd.oci.image.index.v1+json',
        platforms: {},
      };
      if (i.track !== undefined) image.track = i.track;
      for (const p of i.platforms) image.platforms[p] = { digest: d(`${i.id}/${p}`), mediaType: M, size: p.length };
      lock.images[i.id] = image;
    }
    for (const g of groups) {
      const pins: Record<string, FleetPin> = {};
      for (const i of g.empty ? [] : images)
        pins[i.id] = {
          platform: i.platforms[0]!,
          digest: d(`${i.id}/${i.platforms[0]}`),
          ...(g.held ? { tag: g.held.tag, held: g.held.reason } : {}),
        };
      lock.fleet[g.id] = pins;
    }
    return lock;
  });

// --- the checks ------------------------------------------------------------------------------------

/** The lock as plain JSON data: what every reader must give back. */
const plain = (lock: Lock): unknown => JSON.parse(JSON.stringify(lock));

/** Everything but PyYAML, for one lock; returns its text. */
function checkInProcess(lock: Lock): string {
  const text = serializeLock(lock);
  const want = plain(lock);
  const fast = fastParseLock(text);
  expect(fast, 'the fast reader takes what serializeLock wrote').toEqual(want);
  expect(parseLock(text, 'lg-pins.lock.yaml')).toEqual(want);
  // A comment after a value: the fast reader gives up and the YAML fallback reads the lock.
  const commented = text.replace('lockVersion: 1\n', 'lockVersion: 1 # hand-edited\n');
  expect(fastParseLock(commented)).toBeUndefined();
  expect(parseLock(commented, 'lg-pins.lock.yaml')).toEqual(want);
  expect(new SourceFile('lg-pins.lock.yaml', text).value()).toEqual(want);
  expect(parse(text), 'yaml (YAML 1.2 core, no options)').toEqual(want);
  expect(jsYamlLoad(text), 'js-yaml (default schema)').toEqual(want);
  expect(serializeLock(parseLock(text, 'lg-pins.lock.yaml'))).toBe(text);
  return text;
}

function checkBatch(locks: Lock[]): void {
  const texts = locks.map(checkInProcess);
  const read = pyyaml(texts);
  locks.forEach((lock, n) => expect(read[n], `PyYAML on\n${texts[n]}`).toEqual(plain(lock)));
}

describe('keys and values YAML would retype round-trip through the lock', () => {
  it('the ids, tags and ranges of issue 10 item 3, read by every reader', () => {
    const ids = [
      '007',
      '0x10',
      '16',
      '1e3',
      'true',
      'null',
      'on',
      'yes',
      'no',
      'off',
      'y',
      'n',
      '2001-12-14',
      '1_000',
      '0b101',
      '0o17',
      '0',
      '1.5',
      '1_0.5',
      '1.',
      '0x_',
      '1_',
      '08',
      '1e-3',
      '1.2.3',
      'agent',
    ];
    const tags = [
      'on',
      'On',
      'ON',
      'yes',
      'Y',
      'N',
      '1e3',
      '1E3',
      '0x10',
      '0X1F',
      '2001-12-14',
      '1_000',
      'Null',
      'NULL',
      'True',
      '1.10',
      '_1',
      'v3.0.0',
    ];
    const locks = ids.map((id, n): Lock => ({
      lockVersion: 1,
      images: {
        [id]: {
          ref: 'oci-layout://examples/linuxguard-agent',
          tag: tags[n % tags.length]!,
          track: n % 2 ? '*' : '1.x',
          digest: d(id),
          mediaType: M,
          platforms: { 'linux/amd64': { digest: d(id), mediaType: M, size: 1 } },
        },
      },
      fleet: {
        [ids[(n + 1) % ids.length]!]: {
          [id]: { platform: 'linux/amd64', digest: d(id), tag: tags[(n + 3) % tags.length]!, held: ids[(n + 2) % ids.length]! },
        },
        '1.0': {},
      },
    }));
    checkBatch(locks);
    const text = serializeLock(locks[0]!);
    expect(text).toContain('\n  "007":\n');
    expect(text).toContain('\n  "0x10":\n    "007": { platform: linux/amd64, ');
    expect(text).toContain('\n  "1.0": {}\n');
  });

  it('generated locks (ids, group ids, tags, platforms, refs, ranges and held reasons of every YAML shape)', () => {
    fc.assert(fc.property(fc.array(lockArb, { minLength: 1, maxLength: 40 }), checkBatch), { numRuns: 20 });
  });

  it('the fast reader builds null-prototype records, and reads quoted keys', () => {
    const pin = { platform: 'linux/amd64', digest: d('a') };
    const image: LockImage = {
      ref: 'r.example/a',
      tag: 'v1',
      digest: d('a'),
      mediaType: M,
      platforms: { 'linux/amd64': { digest: d('a'), mediaType: M, size: 1 } },
    };
    const text = serializeLock({
      lockVersion: 1,
      images: { '007': image, constructor: image },
      fleet: { on: { '007': pin, constructor: pin }, hasownproperty: {} },
    });
    const lock = fastParseLock(text) as Lock;
    expect(Object.keys(lock.images)).toEqual(['007', 'constructor']);
    for (const rec of [
      lock,
      lock.images,
      lock.images['007']!,
      lock.images['007']!.platforms,
      lock.fleet,
      lock.fleet.on!,
      lock.fleet.on!['007']!,
      lock.fleet.hasownproperty!,
    ]) {
      expect(Object.getPrototypeOf(rec)).toBeNull();
    }
  });

  it('the generators reach the shapes they aim at', () => {
    const ids = fc.sample(idArb, { numRuns: 500, seed: 3 });
    expect(ids.filter((s) => !plainOk(s, false)).length).toBeGreaterThan(250);
    expect(ids.filter((s) => plainOk(s, false)).length).toBeGreaterThan(25);
  });
});

describe('ordinary locks are written as before', () => {
  it('the committed lock serializes byte for byte as it is', () => {
    const text = readFileSync(join(ROOT, 'lg-pins.lock.yaml'), 'utf8');
    expect(serializeLock(parseLock(text, 'lg-pins.lock.yaml'))).toBe(text);
  });

  it('version tags, refs, digests and ranges stay plain; only what a reader retypes is quoted', () => {
    for (const v of [
      'v3.0.0',
      '1.2.3',
      '3.0.0-rc.1',
      'latest',
      '^3.0.0',
      '~1.2',
      'linux/arm64/v8',
      'sha256:ab',
      'oci-layout://x/y',
      'linux/riscv64 is not in v3.1.0',
      'agent',
      'edge-01',
    ]) {
      expect(plainOk(v, false), v).toBe(true);
    }
    for (const v of [
      '',
      '*',
      '1.10',
      '16',
      '0x10',
      'on',
      'Off',
      'y',
      '~',
      'Null',
      '<<',
      '=',
      '1:20',
      '.inf',
      '1e3',
      '1_000',
      '2001-12-14',
      'a: b',
      'a #b',
      ' a',
      'why?\u0085',
    ]) {
      expect(plainOk(v, false), v).toBe(false);
    }
    expect(plainOk('a,b', false)).toBe(true);
    expect(plainOk('a,b', true)).toBe(false);
    expect(plainOk('why?', true)).toBe(false);
  });
});

describe('the spec keeps ids YAML would retype', () => {
  const file = '/s/lg-pins.yaml';
  const image = '{ ref: registry.example/agent, tag: v3.0.0 }';

  it.each([
    ['plain keys', ['007', '0x10', '1e3', 'on', 'null', '1.50', 'true']],
    ['quoted keys', ['"007"', '"0x10"', '"1e3"', '"on"', '"null"', '"1.50"', '"true"']],
  ])('%s: the fast and the located reader give the same ids, as written', (_n, keys) => {
    const text = [
      'version: 1',
      'images:',
      ...keys.map((k) => `  ${k}: ${image}`),
      'fleet:',
      ...keys.map((k) => `  ${k}: { arch: x86_64, hosts: [h-${k.replace(/"/g, '')}] }`),
      '',
    ].join('\n');
    const ids = keys.map((k) => k.replace(/"/g, ''));
    const spec = parseSpec(text, file);
    expect(Object.keys(spec.images).sort()).toEqual([...ids].sort());
    expect(Object.keys(spec.fleet).sort()).toEqual([...ids].sort());
    expect(spec).toEqual(parseSpecLocated(text, file));
  });

  it('problems under such ids are located at them, by the names written', () => {
    const text =
      'version: 1\nimages:\n  007: { ref: registry.example/agent, tag: v1 }\n  0x10: { ref: registry.example/agent, tag: v1, cadense: minor }\nfleet:\n  on: { arch: x86_64, hosts: [h1], images: ["7"] }\n';
    expect(() => parseSpec(text, file)).toThrow(/lg-pins\.yaml:4:\d+: images\.0x10\.cadense: unknown key "cadense"/);
    expect(() => parseSpec(text, file)).toThrow(/lg-pins\.yaml:6:\d+: fleet\.on\.images\[0\]: "7" is not an image of this spec/);
  });
});
