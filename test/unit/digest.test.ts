import { describe, expect, it } from 'vitest';
import { computeDigest, digestProblem, isDigest, matchesDigest, parseDigest } from '../../src/digest.js';

describe('digests', () => {
  const hello = new TextEncoder().encode('hello');
  it('hashes the exact bytes', () => {
    expect(computeDigest(hello)).toBe('sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824');
    expect(computeDigest(hello, 'sha512')).toMatch(/^sha512:[a-f0-9]{128}$/);
    expect(matchesDigest(hello, parseDigest(computeDigest(hello)))).toBe(true);
    expect(matchesDigest(new TextEncoder().encode('hello '), computeDigest(hello))).toBe(false);
  });
  it.each([
    ['sha256:abc', /exactly 64/],
    ['sha256:' + 'A'.repeat(64), /lowercase hex/],
    ['md5:' + 'a'.repeat(32), /unsupported digest algorithm "md5"/],
    ['nocolon', /not a digest/],
    ['', /not a digest/],
  ])('rejects %j', (value, why) => {
    expect(digestProblem(value)).toMatch(why);
    expect(isDigest(value)).toBe(false);
    expect(() => parseDigest(value)).toThrow(why);
  });
  it('refuses an unknown algorithm when hashing', () => {
    expect(() => computeDigest(hello, 'md5')).toThrow(/unsupported/);
  });
});
