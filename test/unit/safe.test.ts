/**
 * The mechanisms of issue 10, without I/O: the output sanitizer, the JSON locator that never
 * quotes, the shape reader, the key-safe dict, the redirect policy and the CLI's writer.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { colours, safeIo, type Io } from '../../src/cli/io.js';
import { SpecError } from '../../src/errors.js';
import { redirectTarget } from '../../src/transport/redirect.js';
import { dict, dictFrom, own, put, toDict } from '../../src/safe/dict.js';
import { asArray, asObject, parseJson, ShapeError } from '../../src/safe/json.js';
import { capMessage, escapeControls, excerpt, MESSAGE_MAX, quoteUntrusted, terminalSafe } from '../../src/safe/text.js';

// eslint-disable-next-line no-control-regex -- what must never come out raw
const RAW = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/;
const hostile = fc.string({
  unit: fc.oneof(
    fc.constantFrom('\u001b', '\u0007', '\u009b', '\u202e', '\u2066', '\n', '\r', '\t', '\u0000', '"', '\\', '[', ']'),
    fc.string({ minLength: 1, maxLength: 1 }),
    fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }),
  ),
});

describe('the output sanitizer', () => {
  it('escapes every control, C1, bidi and separator character, and nothing else', () => {
    expect(escapeControls('a\u001b[31mb\u009bc\u202ed\ne\tf')).toBe('a\\u001b[31mb\\u009bc\\u202ed\\ne\\tf');
    expect(terminalSafe('line 1\nline\t2\u001b')).toBe('line 1\nline\t2\\u001b');
    expect(escapeControls('plain ascii, ünïcödé and emoji 🚀')).toBe('plain ascii, ünïcödé and emoji 🚀');
  });
  it('never lets a raw control out, and excerpts stay short and single-line (generated)', () => {
    fc.assert(
      fc.property(hostile, fc.integer({ min: 8, max: 80 }), (s, max) => {
        const e = excerpt(s, max);
        expect(RAW.test(e)).toBe(false);
        expect(e.includes('\n')).toBe(false);
        expect(e.length).toBeLessThanOrEqual(max + 1);
        expect(RAW.test(terminalSafe(s).replace(/[\n\t]/g, ''))).toBe(false);
        expect(quoteUntrusted(s)).toMatch(/^".*"$/s);
      }),
    );
  });
  it('keeps escapes whole when it cuts', () => {
    expect(excerpt('ab\u001bcd', 4)).toBe('ab…');
    expect(excerpt('🚀🚀🚀', 2)).toBe('🚀…');
  });
  it('caps long messages and says how much was cut', () => {
    const long = 'x'.repeat(200_000);
    const capped = capMessage(long);
    expect(capped.length).toBeLessThan(MESSAGE_MAX + 50);
    expect(capped).toMatch(/… \(199000 more characters\)$/);
    expect(capMessage('short')).toBe('short');
  });
  it('caps every issue of a SpecError and the number of issues', () => {
    const issues = Array.from({ length: 150 }, (_, i) => ({ file: 'f', line: i + 1, path: '', message: 'y'.repeat(5000) }));
    const e = new SpecError(issues);
    expect(e.issues).toHaveLength(101);
    expect(e.issues[100]!.message).toBe('and 50 more problems');
    expect(Math.max(...e.issues.map((i) => i.message.length))).toBeLessThan(MESSAGE_MAX + 50);
  });
});

describe('the CLI writer', () => {
  const capture = (isTTY: boolean): { io: Io; out: string[] } => {
    const out: string[] = [];
    const stream = { isTTY, write: (s: string) => out.push(s) };
    return { io: { stdout: stream, stderr: stream, cwd: '/', env: {} }, out };
  };
  it('turns its own colour marks into ANSI on a TTY, and escapes everything else', () => {
    const { io, out } = capture(true);
    const safe = safeIo(io);
    safe.stderr.write(`${colours(safe, 'stderr').red('error:')} tag \u001b[2J\u001b]0;x\u0007 and \ue000fake31\ue001\n`);
    expect(out.join('')).toBe('\u001b[31merror:\u001b[0m tag \\u001b[2J\\u001b]0;x\\u0007 and \\ue000fake31\\ue001\n');
  });
  it('writes no colour at all off a TTY', () => {
    const { io, out } = capture(false);
    const safe = safeIo(io);
    safe.stdout.write(`${colours(safe, 'stdout').green('✓')} ok\n`);
    expect(out.join('')).toBe('✓ ok\n');
  });
  it('keeps JSON valid: what it escapes reads back as the same text', () => {
    fc.assert(
      fc.property(hostile, (s) => {
        const { io, out } = capture(false);
        safeIo(io).stdout.write(`${JSON.stringify({ message: s }, null, 2)}\n`);
        expect(RAW.test(out.join('').replace(/[\n]/g, ''))).toBe(false);
        expect((JSON.parse(out.join('')) as { message: string }).message).toBe(s);
      }),
    );
  });
});

describe('JSON from outside', () => {
  it('locates errors in words and never quotes the text (generated)', () => {
    const secret = 'tok_5ecr3t_VALUE';
    fc.assert(
      fc.property(fc.string(), fc.string(), (before, after) => {
        const text = `${before}${secret}${after}`;
        const r = parseJson(text);
        if (r.ok) return;
        expect(r.problem).not.toContain(secret.slice(0, 6));
        expect(r.line).toBeGreaterThanOrEqual(1);
        expect(r.column).toBeGreaterThanOrEqual(1);
      }),
    );
  });
  it('finds the place of common mistakes', () => {
    expect(parseJson('{"a": 1,}')).toMatchObject({ ok: false, line: 1, column: 9, problem: 'expected a double-quoted property name' });
    expect(parseJson('[1,\n 2 3]')).toMatchObject({ ok: false, line: 2, column: 4, problem: "expected ',' or ']' after an array element" });
    expect(parseJson('{"a": "x\u0001"}')).toMatchObject({ ok: false, problem: 'a control character inside a string (escape it)' });
    expect(parseJson('{"a"')).toMatchObject({ ok: false, problem: 'unexpected end of the file' });
    expect(parseJson(`${'['.repeat(100_000)}`)).toMatchObject({ ok: false, problem: 'unexpected end of the file' });
    expect(parseJson('{"a": [1, {"b": null}]}')).toEqual({ ok: true, value: { a: [1, { b: null }] } });
  });
  it('reads shapes with errors that name the field and the kind, never the value', () => {
    expect(() => asObject(null, 'manifest')).toThrow(new ShapeError('manifest', 'an object', 'null'));
    expect(() => asArray('secret-value', 'tags')).toThrow('tags must be an array, got a string');
    expect(() => asArray('secret-value', 'tags')).not.toThrow(/secret/);
  });
});

describe('key-safe records', () => {
  it('treat Object.prototype names as ordinary ids', () => {
    const d = dict<number>();
    for (const id of ['constructor', '__proto__', 'prototype', 'toString', 'hasOwnProperty', 'valueOf']) {
      expect(own(d, id)).toBeUndefined();
      put(d, id, id.length);
      expect(own(d, id)).toBe(id.length);
    }
    expect(Object.keys(d)).toEqual(['constructor', '__proto__', 'prototype', 'toString', 'hasOwnProperty', 'valueOf']);
    expect(Object.getPrototypeOf(d)).toBe(null);
    expect(own({}, 'constructor')).toBeUndefined();
    expect(Object.keys(toDict(JSON.parse('{"__proto__": 1, "constructor": 2}') as Record<string, number>))).toEqual([
      '__proto__',
      'constructor',
    ]);
    expect(own(dictFrom([['__proto__', 1]]), '__proto__')).toBe(1);
    // Nothing leaked onto the real prototype.
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('the redirect policy', () => {
  const from = new URL('https://reg.example/v2/app/blobs/sha256:x');
  it.each([
    ['same origin, relative', '/v2/other', undefined, { keep: true, url: 'https://reg.example/v2/other' }],
    ['same origin, absolute', 'https://reg.example:443/x', undefined, { keep: true, url: 'https://reg.example/x' }],
    ['another host drops Authorization', 'https://storage.example/blob', undefined, { keep: false, url: 'https://storage.example/blob' }],
    ['another port is another origin', 'https://reg.example:8443/x', undefined, { keep: false, url: 'https://reg.example:8443/x' }],
    ['a downgrade to http is another origin', 'http://reg.example/x', undefined, { keep: false, url: 'http://reg.example/x' }],
    [
      'userinfo in a Location is never sent',
      'https://user:pw@storage.example/b',
      undefined,
      { keep: false, url: 'https://storage.example/b' },
    ],
    ['a token request stays on its origin', '/token?x=1', 'token server', { keep: true, url: 'https://reg.example/token?x=1' }],
    [
      'a token request is refused off its origin',
      'https://evil.example/token',
      'token server',
      { refused: /token server https:\/\/reg\.example redirected to another origin \(https:\/\/evil\.example\)/ },
    ],
    ['only http and https', 'file:///etc/passwd', undefined, { refused: /only http and https are followed/ }],
  ])('%s', (_name, location, sensitive, want) => {
    const d = redirectTarget(from, location, sensitive);
    if ('refused' in want) {
      expect('refused' in d && d.refused).toMatch(want.refused);
    } else {
      expect(d).toEqual({ url: new URL(want.url), keepAuthorization: want.keep });
    }
  });
});
