/**
 * Property tests (fast-check, issue 4 §7): the parsers that read untrusted input never crash with
 * anything but their own error class, and what they accept is stable under formatting.
 * - parseReference / referenceProblem (src/reference.ts);
 * - parseSpec (src/config/load.ts), on raw strings, on YAML of arbitrary values, and on YAML of
 *   spec-shaped objects with junk in every slot;
 * - parsePlatform (src/platform.ts);
 * - parseChallenges (src/registry/auth.ts), incl. a round trip of well-formed headers.
 * Runs are bounded (a few hundred each) so the file stays fast.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { parseSpec } from '../../src/config/load.js';
import { ExitCode, InvalidReferenceError, SpecError } from '../../src/errors.js';
import { normalizePlatform, parsePlatform, PlatformError, platformKey } from '../../src/platform.js';
import { formatReference, parseReference, referenceProblem, type ImageRef } from '../../src/reference.js';
import { parseChallenges } from '../../src/registry/auth.js';

const RUNS = { numRuns: 500 };
const dir = mkdtempSync(join(tmpdir(), 'lgp-fuzz-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Strings of every kind: printable ASCII, any UTF-16 (lone surrogates included), full Unicode. */
const anyString = fc.oneof(
  fc.string({ maxLength: 80 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
);
const hex = (n: number) => fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: n, maxLength: n });

describe('image references', () => {
  const component = fc.stringMatching(/^[a-z0-9]{1,8}(?:(?:\.|_|__|-{1,3})[a-z0-9]{1,8}){0,2}$/);
  const domain = fc.oneof(
    fc.constantFrom(
      'docker.io',
      'index.docker.io',
      'localhost',
      'localhost:5000',
      '127.0.0.1:5000',
      '[::1]:5000',
      'Registry.Example.COM',
      'quay.io',
      'reg.example:443',
    ),
    fc
      .tuple(
        fc.stringMatching(/^[A-Za-z0-9]{1,6}(?:-[A-Za-z0-9]{1,4})?$/),
        fc.stringMatching(/^[a-z]{2,5}$/),
        fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined }),
      )
      .map(([a, b, port]) => `${a}.${b}${port === undefined ? '' : `:${port}`}`),
  );
  const tag = fc.stringMatching(/^[\w][\w.-]{0,20}$/);
  const plausible = fc
    .record({
      domain: fc.option(domain, { nil: undefined }),
      path: fc.array(component, { minLength: 1, maxLength: 4 }),
      tag: fc.option(tag, { nil: undefined }),
      digest: fc.option(
        hex(64).map((h) => `sha256:${h}`),
        { nil: undefined },
      ),
    })
    .map((r) => `${r.domain ? `${r.domain}/` : ''}${r.path.join('/')}${r.tag ? `:${r.tag}` : ''}${r.digest ? `@${r.digest}` : ''}`);
  /** A plausible reference with one character inserted, deleted or replaced. */
  const mutated = fc
    .tuple(plausible, fc.nat(), fc.constantFrom('', ':', '/', '@', '.', '-', '_', 'A', ' ', '\u0000', 'é', '[', ']', '..', '//'))
    .map(([s, at, c]) => {
      const i = at % (s.length + 1);
      return `${s.slice(0, i)}${c}${s.slice(i + (c === '' ? 1 : 0))}`;
    });
  const refs = fc.oneof(plausible, mutated, anyString);

  /** The ref's registry is recognisable as one when written back (see the note in the report). */
  const domainLike = (r: ImageRef) => /[.:]/.test(r.registry) || r.registry === 'localhost';

  it('parseReference throws nothing but InvalidReferenceError (exit 2, quoting the input), and agrees with referenceProblem', () => {
    fc.assert(
      fc.property(refs, (s) => {
        let parsed: ImageRef | undefined;
        try {
          parsed = parseReference(s);
        } catch (e) {
          expect(e).toBeInstanceOf(InvalidReferenceError);
          expect((e as InvalidReferenceError).exitCode).toBe(ExitCode.badInput);
          expect((e as InvalidReferenceError).input).toBe(s);
        }
        const problem = referenceProblem(s);
        expect(problem === undefined).toBe(parsed !== undefined);
      }),
      { numRuns: 1000 },
    );
  });

  it('a parsed reference, formatted, parses back to the same value', () => {
    fc.assert(
      fc.property(fc.oneof(plausible, mutated), (s) => {
        const problem = referenceProblem(s);
        fc.pre(problem === undefined);
        const r = parseReference(s);
        fc.pre(domainLike(r));
        const again = parseReference(formatReference(r));
        expect(again).toEqual(r);
        expect(formatReference(again)).toBe(formatReference(r));
      }),
      { numRuns: 1000 },
    );
  });

  it('most plausible references parse (the generator is not just producing junk)', () => {
    const samples = fc.sample(plausible, { numRuns: 200, seed: 42 });
    expect(samples.filter((s) => referenceProblem(s) === undefined).length).toBeGreaterThan(150);
  });
});

describe('the spec loader', () => {
  const files = ['lg-pins.yaml', 'lg-pins.json', 'package.json', '.lg-pinsrc'].map((f) => join(dir, f));
  const file = fc.constantFrom(...files);

  /** parseSpec either returns a spec or throws a SpecError whose issues name a file; nothing else. */
  const mustBeSpecErrorOrSpec = (text: string, f: string) => {
    try {
      const spec = parseSpec(text, f);
      expect(spec.file).toBe(f);
      expect(typeof spec.images).toBe('object');
    } catch (e) {
      if (!(e instanceof SpecError))
        throw new Error(`parseSpec threw ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`, { cause: e });
      expect(e.exitCode).toBe(ExitCode.badInput);
      expect(e.message.length).toBeGreaterThan(0);
      for (const issue of e.issues) expect(typeof issue.file).toBe('string');
    }
  };

  /** Junk for any slot: the right kind of value sometimes, anything at other times. */
  const junk = fc.oneof(
    {
      weight: 3,
      arbitrary: fc.constantFrom(
        'v1',
        '^1.0.0',
        'x86_64',
        'linux/arm/v7',
        'registry.example/app',
        'oci-layout://nowhere',
        'hold',
        'fail',
        'minor',
        '',
        '~',
        '*',
        '1.10',
      ),
    },
    { weight: 2, arbitrary: anyString },
    { weight: 2, arbitrary: fc.oneof(fc.integer(), fc.double(), fc.boolean(), fc.constant(null)) },
    { weight: 1, arbitrary: fc.array(fc.oneof(fc.string({ maxLength: 10 }), fc.integer()), { maxLength: 4 }) },
    { weight: 1, arbitrary: fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 }), { maxKeys: 3 }) },
  );
  const id = fc.oneof(fc.stringMatching(/^[a-z][a-z0-9-]{0,10}$/), fc.string({ maxLength: 12 }));
  const image = fc.record(
    {
      ref: junk,
      tag: junk,
      track: junk,
      cadence: junk,
      prerelease: junk,
      notes: fc.oneof(
        junk,
        fc.dictionary(
          fc.oneof(
            fc.constantFrom('linux/arm/v7', 'linux/arm64', 'Linux/ARM64/v8', 'linux/amd64/v9', 'x86_64'),
            fc.string({ maxLength: 12 }),
          ),
          junk,
          { maxKeys: 2 },
        ),
      ),
      verify: fc.oneof(junk, fc.record({ cosign: fc.record({ key: junk }) })),
    },
    { requiredKeys: [] },
  );
  const group = fc.record(
    {
      arch: junk,
      platform: junk,
      hosts: fc.oneof(junk, fc.array(junk, { maxLength: 4 })),
      hostsFile: junk,
      images: fc.oneof(junk, fc.array(junk, { maxLength: 3 })),
      onMissing: junk,
    },
    { requiredKeys: [] },
  );
  const specShaped = fc.record(
    {
      version: fc.oneof(fc.constant(1), junk),
      images: fc.oneof(fc.dictionary(id, fc.oneof(image, junk), { maxKeys: 3 }), junk),
      fleet: fc.oneof(fc.dictionary(id, fc.oneof(group, junk), { maxKeys: 3 }), junk),
      registries: fc.oneof(
        fc.dictionary(
          fc.oneof(fc.constantFrom('127.0.0.1:5000', 'Reg.Example'), fc.string({ maxLength: 10 })),
          fc.oneof(fc.record({ insecure: junk, concurrency: junk, mirrors: junk }, { requiredKeys: [] }), junk),
          { maxKeys: 2 },
        ),
        junk,
      ),
      extra: junk,
    },
    { requiredKeys: [] },
  );

  it('never throws anything but SpecError on arbitrary text', () => {
    fc.assert(fc.property(anyString, file, mustBeSpecErrorOrSpec), RUNS);
  });

  it('never throws anything but SpecError on YAML (and JSON) of arbitrary values', () => {
    fc.assert(
      fc.property(fc.anything({ maxDepth: 3 }), file, fc.boolean(), (value, f, asJson) => {
        // JSON.stringify and yaml's stringify both give undefined for undefined (and functions).
        const text =
          (asJson || f.endsWith('.json') ? JSON.stringify(f.endsWith('package.json') ? { 'lg-pins': value } : value) : stringify(value)) ??
          '';
        mustBeSpecErrorOrSpec(text, f);
      }),
      RUNS,
    );
  });

  it('never throws anything but SpecError on spec-shaped objects with junk in every slot', () => {
    fc.assert(
      fc.property(specShaped, file, (value, f) => {
        const text = f.endsWith('package.json')
          ? JSON.stringify({ name: 'x', 'lg-pins': value })
          : f.endsWith('.json')
            ? JSON.stringify(value)
            : stringify(value);
        mustBeSpecErrorOrSpec(text, f);
      }),
      RUNS,
    );
  });

  it('never throws anything but SpecError on valid YAML cut short or with a byte changed', () => {
    const valid = stringify({
      version: 1,
      registries: { '127.0.0.1:5000': { insecure: true } },
      images: { agent: { ref: '127.0.0.1:5000/team/agent', track: '^1.0.0', cadence: 'minor', notes: { 'linux/arm/v7': 'slow' } } },
      fleet: { edge: { arch: 'armv7l', hosts: ['gw-01'], onMissing: 'hold' }, dc: { platform: 'linux/amd64', hosts: ['web-01'] } },
    });
    expect(() => parseSpec(valid, files[0]!)).not.toThrow();
    fc.assert(
      fc.property(
        fc.nat(valid.length),
        fc.nat(valid.length),
        fc.constantFrom('', ':', '-', ' ', '\t', '"', "'", '{', '[', '&a', '*a', '!!', '#', '\n', '\u0000'),
        (cut, at, c) => {
          mustBeSpecErrorOrSpec(valid.slice(0, cut), files[0]!);
          mustBeSpecErrorOrSpec(`${valid.slice(0, at)}${c}${valid.slice(at + 1)}`, files[0]!);
        },
      ),
      RUNS,
    );
  });
});

describe('platforms', () => {
  const oses = ['linux', 'Linux', 'windows', 'darwin', 'macos', 'freebsd', 'plan9', 'nope', ''];
  const arches = [
    'amd64',
    'x86_64',
    'X86-64',
    'arm',
    'armhf',
    'armel',
    'arm64',
    'aarch64',
    '386',
    'i386',
    'riscv64',
    'ppc64le',
    's390x',
    'mips64le',
    'wasm',
    'sparc',
    'bogus',
    '',
  ];
  const variants = [
    '',
    'v5',
    'v6',
    'v7',
    'v8',
    '7',
    '8',
    '8.0',
    'v8.0',
    'v8.2',
    'v9',
    '9.0',
    'V9.0',
    'v1',
    'v2',
    'v3',
    'v4',
    'x',
    '-v7',
    'v7 ',
    'v/7',
  ];
  const structured = fc
    .tuple(fc.constantFrom(...oses), fc.constantFrom(...arches), fc.constantFrom(...variants), fc.boolean())
    .map(([o, a, v, withVariant]) => (withVariant ? `${o}/${a}/${v}` : `${o}/${a}`));
  const platforms = fc.oneof(
    structured,
    anyString,
    fc.array(fc.constantFrom('linux', 'arm', 'v7', '/', '', ' '), { maxLength: 6 }).map((p) => p.join('/')),
  );

  it('parsePlatform throws nothing but PlatformError, and its result is normalised and stable under platformKey', () => {
    fc.assert(
      fc.property(platforms, (s) => {
        let p;
        try {
          p = parsePlatform(s);
        } catch (e) {
          expect(e).toBeInstanceOf(PlatformError);
          expect((e as PlatformError).exitCode).toBe(ExitCode.badInput);
          expect((e as Error).message).toContain(`"${s}"`);
          return;
        }
        expect(normalizePlatform(p)).toEqual(p);
        expect(parsePlatform(platformKey(p))).toEqual(p);
        expect(platformKey(parsePlatform(platformKey(p)))).toBe(platformKey(p));
      }),
      { numRuns: 1000 },
    );
  });

  it('the structured generator reaches both outcomes', () => {
    const ok = fc.sample(structured, { numRuns: 300, seed: 7 }).filter((s) => {
      try {
        parsePlatform(s);
        return true;
      } catch {
        return false;
      }
    });
    expect(ok.length).toBeGreaterThan(30);
    expect(ok.length).toBeLessThan(300);
  });
});

describe('WWW-Authenticate challenges', () => {
  it('parseChallenges never throws, and yields lowercase schemes and parameter names with string values', () => {
    const header = fc.oneof(
      anyString,
      fc
        .array(
          fc.constantFrom('Bearer', 'Basic', ' ', ',', '=', '"', '\\', 'realm', 'scope', 'service', 'error', 'a"b', 'x=y', 'token68=='),
          { maxLength: 12 },
        )
        .map((p) => p.join('')),
    );
    fc.assert(
      fc.property(header, (h) => {
        const challenges = parseChallenges(h);
        for (const c of challenges) {
          expect(c.scheme).toBe(c.scheme.toLowerCase());
          expect(c.scheme).toMatch(/^[!#$%&'*+.^_`|~0-9a-z-]+$/);
          for (const [k, v] of Object.entries(c.params)) {
            expect(k).toBe(k.toLowerCase());
            expect(typeof v).toBe('string');
          }
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('well-formed headers round-trip: schemes, parameters and quoted values with commas, spaces and escapes', () => {
    const tokenChars = [..."abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+.^_`|~-"];
    const token = fc.string({ unit: fc.constantFrom(...tokenChars), minLength: 1, maxLength: 10 });
    const value = fc.string({ unit: fc.constantFrom(...'abc XYZ019,;:=/"\\-_.'), maxLength: 20 });
    const challenge = fc.record({
      scheme: token,
      // `__proto__` cannot be an own key of the plain object parseChallenges returns (harmless: it is ignored).
      params: fc.uniqueArray(
        fc.tuple(
          token.map((k) => k.toLowerCase()).filter((k) => k !== '__proto__'),
          value,
        ),
        { maxLength: 4, selector: ([k]) => k },
      ),
    });
    fc.assert(
      fc.property(fc.array(challenge, { minLength: 1, maxLength: 3 }), fc.constantFrom(', ', ',', ' ,  '), (list, sep) => {
        const header = list
          .map((c) =>
            [c.scheme, c.params.map(([k, v]) => `${k}="${v.replace(/[\\"]/g, (m) => `\\${m}`)}"`).join(sep)].filter(Boolean).join(' '),
          )
          .join(sep);
        expect(parseChallenges(header)).toEqual(
          list.map((c) => ({ scheme: c.scheme.toLowerCase(), params: Object.fromEntries(c.params) })),
        );
      }),
      RUNS,
    );
  });
});
