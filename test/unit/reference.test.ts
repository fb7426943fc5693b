import { describe, it, expect } from 'vitest';
import { InvalidReferenceError } from '../../src/errors.js';
import {
  canonicalName,
  formatReference,
  isLoopbackHost,
  parseReference,
  parseRepository,
  referenceProblem,
  registryApiHost,
  type ImageRef,
} from '../../src/reference.js';
import { ExitCode } from '../../src/errors.js';

const HEX = 'a'.repeat(64);
const DIGEST = `sha256:${'0123456789abcdef'.repeat(4)}`;

describe('parseReference: normalization (distribution/reference)', () => {
  const cases: Array<[string, ImageRef]> = [
    ['ubuntu', { registry: 'docker.io', repository: 'library/ubuntu' }],
    ['ubuntu:22.04', { registry: 'docker.io', repository: 'library/ubuntu', tag: '22.04' }],
    ['myhost/app', { registry: 'docker.io', repository: 'myhost/app' }],
    ['myhost:5000/app', { registry: 'myhost:5000', repository: 'app' }],
    ['localhost/app', { registry: 'localhost', repository: 'app' }],
    ['localhost:5000/team/app:v1', { registry: 'localhost:5000', repository: 'team/app', tag: 'v1' }],
    ['127.0.0.1/app', { registry: '127.0.0.1', repository: 'app' }],
    ['[::1]:5000/app', { registry: '[::1]:5000', repository: 'app' }],
    ['[::1]/app:tag', { registry: '[::1]', repository: 'app', tag: 'tag' }],
    ['index.docker.io/x', { registry: 'docker.io', repository: 'library/x' }],
    ['index.docker.io/someone/x', { registry: 'docker.io', repository: 'someone/x' }],
    ['docker.io/ubuntu', { registry: 'docker.io', repository: 'library/ubuntu' }],
    ['docker.io/library/ubuntu', { registry: 'docker.io', repository: 'library/ubuntu' }],
    ['host:5000/app:tag', { registry: 'host:5000', repository: 'app', tag: 'tag' }],
    ['host:5000/app', { registry: 'host:5000', repository: 'app' }],
    ['packages.linuxguard.io/linuxguard-agent', { registry: 'packages.linuxguard.io', repository: 'linuxguard-agent' }],
    ['quay.io/a/b/c:V1.0_x', { registry: 'quay.io', repository: 'a/b/c', tag: 'V1.0_x' }],
    ['Registry.Example.COM/app', { registry: 'registry.example.com', repository: 'app' }],
    ['MyHost/app', { registry: 'myhost', repository: 'app' }],
    ['a.b/c__d/e-f/g---h/i_j.k', { registry: 'a.b', repository: 'c__d/e-f/g---h/i_j.k' }],
    ['name:tag@' + DIGEST, { registry: 'docker.io', repository: 'library/name', tag: 'tag', digest: DIGEST } as ImageRef],
    ['name@' + DIGEST, { registry: 'docker.io', repository: 'library/name', digest: DIGEST } as ImageRef],
    ['host:5000/app:tag@' + DIGEST, { registry: 'host:5000', repository: 'app', tag: 'tag', digest: DIGEST } as ImageRef],
  ];
  it.each(cases)('%s', (input, expected) => {
    expect(parseReference(input)).toEqual(expected);
    expect(referenceProblem(input)).toBeUndefined();
  });

  it('does not default the tag to latest', () => {
    expect(parseReference('ubuntu').tag).toBeUndefined();
    expect('tag' in parseReference('ubuntu')).toBe(false);
  });

  it('accepts a sha512 digest', () => {
    expect(parseReference(`app@sha512:${'b'.repeat(128)}`).digest).toBe(`sha512:${'b'.repeat(128)}`);
  });
});

describe('parseReference: errors', () => {
  const cases: Array<[string, string | RegExp]> = [
    ['', 'empty'],
    ['Ubuntu', 'repository name must be lowercase'],
    ['myhost/App', 'repository name must be lowercase'],
    ['example.com/Team/app', 'repository name must be lowercase'],
    ['app@sha256:abc', /digest "sha256:abc" is invalid.*64/],
    ['app@md5:' + 'a'.repeat(32), /unsupported digest algorithm "md5"/],
    ['app@' + HEX, /digest .* is invalid/],
    [HEX, /64-hex image ID/],
    ['app:', /tag "" is invalid/],
    ['app:-bad', /tag "-bad" is invalid/],
    ['app:.bad', /tag ".bad" is invalid/],
    ['app:' + 'a'.repeat(129), /tag ".*" is invalid/],
    ['app:a b', /tag "a b" is invalid/],
    ['a//b', /empty component/],
    ['/app', /empty component/],
    ['app/', /empty component/],
    ['example.com/', /empty component/],
    ['a..b/c', /registry host "a..b" is invalid: it has an empty label/],
    ['myhost/a..b', /path component "a..b" is invalid/],
    ['myhost/a___b', /path component "a___b" is invalid/],
    ['myhost/-a', /path component "-a" is invalid/],
    ['myhost/a-', /path component "a-" is invalid/],
    ['myhost/a.', /path component "a." is invalid/],
    ['my_host.io/app', /registry host "my_host.io" is invalid/],
    ['-host.io/app', /label "-host" /],
    ['host.io:port/app', /invalid port "port"/],
    ['host.io:99999/app', /outside 1-65535/],
    ['[::1/app', /bracketed IPv6/],
    ['[::g]:5000/app', /bracketed IPv6/],
    ['[::1]x/app', /expected ":port"/],
    ['@' + DIGEST, /repository name is empty/],
    [':tag', /repository name is empty/],
    ['a b', /path component "a b" is invalid/],
  ];
  it.each(cases)('%j', (input, message) => {
    const problem = referenceProblem(input);
    expect(problem).toBeDefined();
    expect(problem).toMatch(message);
    expect(() => parseReference(input)).toThrow(InvalidReferenceError);
    expect(() => parseReference(input)).toThrow(`invalid image reference "${input}": ${problem}`);
  });

  it('a bare domain-looking name is a Docker Hub repository, as in Docker', () => {
    expect(parseReference('example.com')).toEqual({ registry: 'docker.io', repository: 'library/example.com' });
  });

  it('limits the path to 255 characters (library/ included for Hub)', () => {
    const ok = `${'a'.repeat(200)}/${'b'.repeat(54)}`;
    expect(ok.length).toBe(255);
    expect(parseReference(`example.com/${ok}`).repository).toBe(ok);
    expect(referenceProblem(`example.com/${ok}x`)).toMatch(/256 characters long; at most 255/);
    expect(referenceProblem('a'.repeat(250))).toMatch(/258 characters long/);
  });

  it('carries the input and exit code 2', () => {
    try {
      parseReference('Bad/Name');
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(InvalidReferenceError);
      expect(err).toBeInstanceOf(Error);
      const e = err as InvalidReferenceError;
      expect(e.input).toBe('Bad/Name');
      expect(e.exitCode).toBe(ExitCode.badInput);
      expect(e.name).toBe('InvalidReferenceError');
      expect(e.message).toBe('invalid image reference "Bad/Name": repository name must be lowercase (component "Name")');
    }
  });
});

describe('parseRepository', () => {
  it('accepts a plain repository', () => {
    expect(parseRepository('packages.linuxguard.io/linuxguard-agent')).toEqual({
      registry: 'packages.linuxguard.io',
      repository: 'linuxguard-agent',
    });
    expect(parseRepository('localhost:5000/app')).toEqual({ registry: 'localhost:5000', repository: 'app' });
  });
  it('rejects a tag, a digest, or both', () => {
    expect(() => parseRepository('app:v1')).toThrow(/no tag, no digest.*tag "v1"/);
    expect(() => parseRepository(`app@${DIGEST}`)).toThrow(/digest "sha256:/);
    expect(() => parseRepository(`app:v1@${DIGEST}`)).toThrow(/tag "v1" and digest/);
    expect(() => parseRepository('app:v1')).toThrow(InvalidReferenceError);
  });
  it('rejects what parseReference rejects', () => {
    expect(() => parseRepository('App')).toThrow(/must be lowercase/);
  });
});

describe('formatReference and canonicalName', () => {
  it.each([
    ['ubuntu', 'docker.io/library/ubuntu', 'docker.io/library/ubuntu'],
    ['index.docker.io/x:1', 'docker.io/library/x:1', 'docker.io/library/x'],
    ['[::1]:5000/app:tag', '[::1]:5000/app:tag', '[::1]:5000/app'],
    [`host:5000/app:tag@${DIGEST}`, `host:5000/app:tag@${DIGEST}`, 'host:5000/app'],
    [`app@${DIGEST}`, `docker.io/library/app@${DIGEST}`, 'docker.io/library/app'],
  ])('%s', (input, formatted, canonical) => {
    const ref = parseReference(input);
    expect(formatReference(ref)).toBe(formatted);
    expect(canonicalName(ref)).toBe(canonical);
    expect(parseReference(formatted)).toEqual(ref); // round trip
  });
});

describe('registryApiHost', () => {
  it.each([
    ['docker.io', 'registry-1.docker.io'],
    ['index.docker.io', 'registry-1.docker.io'],
    ['ghcr.io', 'ghcr.io'],
    ['localhost:5000', 'localhost:5000'],
    ['[::1]:5000', '[::1]:5000'],
  ])('%s → %s', (registry, host) => {
    expect(registryApiHost(registry)).toBe(host);
  });
});

describe('isLoopbackHost', () => {
  it.each([
    ['localhost', true],
    ['localhost:5000', true],
    ['LOCALHOST:5000', true],
    ['127.0.0.1', true],
    ['127.0.0.1:5000', true],
    ['127.255.3.4:80', true],
    ['[::1]', true],
    ['[::1]:5000', true],
    ['[0:0:0:0:0:0:0:1]:5000', true],
    ['128.0.0.1', false],
    ['10.0.0.1:5000', false],
    ['127.0.0.1.example.com', false],
    ['localhost.example.com', false],
    ['[::2]:5000', false],
    ['docker.io', false],
    ['', false],
    ['[bad', false],
  ])('%s → %s', (registry, loopback) => {
    expect(isLoopbackHost(registry)).toBe(loopback);
  });
});
