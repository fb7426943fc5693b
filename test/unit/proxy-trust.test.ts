/**
 * The pure parts of issue 12, table style: which proxy a URL goes through (curl's reading of
 * HTTPS_PROXY / HTTP_PROXY / NO_PROXY), what a TLS failure code means, and what a certs.d directory
 * and the spec's trust settings turn into.
 */
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';
import { describe, expect, it } from 'vitest';
import { TrustConfigError } from '../../src/errors.js';
import { tlsProblem } from '../../src/transport/failures.js';
import { parseProxy, proxyFor } from '../../src/transport/proxy.js';
import { readClientPair, trustFor } from '../../src/transport/trust.js';
import { makePki } from '../helpers/pki.js';
import { tempDir } from '../helpers/tmp.js';

const P = 'http://proxy.example:3128';
describe('proxyFor (curl semantics)', () => {
  it.each([
    ['https URL, HTTPS_PROXY', 'https://reg.example/v2/', { HTTPS_PROXY: P }, P],
    ['https URL, lower case wins', 'https://reg.example/v2/', { https_proxy: 'http://lower:1', HTTPS_PROXY: P }, 'http://lower:1'],
    ['https URL, only HTTP_PROXY: direct', 'https://reg.example/v2/', { HTTP_PROXY: P }, undefined],
    ['http URL, HTTP_PROXY', 'http://127.0.0.1:5000/v2/', { HTTP_PROXY: P }, P],
    ['a bare host:port proxy is http://', 'https://reg.example/', { HTTPS_PROXY: 'proxy.example:3128' }, P],
    ['NO_PROXY *', 'https://reg.example/', { HTTPS_PROXY: P, NO_PROXY: '*' }, undefined],
    ['NO_PROXY the host', 'https://reg.example/', { HTTPS_PROXY: P, NO_PROXY: 'reg.example' }, undefined],
    ['NO_PROXY a parent domain', 'https://a.reg.example/', { HTTPS_PROXY: P, NO_PROXY: 'reg.example' }, undefined],
    ['NO_PROXY a parent with a dot', 'https://a.reg.example/', { HTTPS_PROXY: P, no_proxy: '.reg.example' }, undefined],
    ['NO_PROXY *.domain', 'https://a.reg.example/', { HTTPS_PROXY: P, NO_PROXY: '*.reg.example' }, undefined],
    ['NO_PROXY a suffix that is not a label boundary', 'https://myreg.example/', { HTTPS_PROXY: P, NO_PROXY: 'reg.example' }, P],
    ['NO_PROXY host:port that matches', 'https://reg.example:5443/', { HTTPS_PROXY: P, NO_PROXY: 'reg.example:5443' }, undefined],
    ['NO_PROXY host:port of another port', 'https://reg.example:5443/', { HTTPS_PROXY: P, NO_PROXY: 'reg.example:443' }, P],
    ['NO_PROXY host:443 for the default port', 'https://reg.example/', { HTTPS_PROXY: P, NO_PROXY: 'reg.example:443' }, undefined],
    [
      'NO_PROXY among several, spaces and commas',
      'https://reg.example/',
      { HTTPS_PROXY: P, NO_PROXY: 'localhost, 10.0.0.1,reg.example' },
      undefined,
    ],
    ['NO_PROXY an IPv6 address', 'https://[::1]:5443/', { HTTPS_PROXY: P, NO_PROXY: '::1' }, undefined],
    ['NO_PROXY a bracketed IPv6 with its port', 'https://[::1]:5443/', { HTTPS_PROXY: P, NO_PROXY: '[::1]:5443' }, undefined],
    ['NO_PROXY empty', 'https://reg.example/', { HTTPS_PROXY: P, NO_PROXY: '' }, P],
  ])('%s', (_name, url, env, want) => {
    const got = proxyFor(new URL(url), env);
    expect(got && 'url' in got ? got.display : got).toBe(want);
  });
  it('keeps credentials for the connection, never for display', () => {
    const p = parseProxy('http://alice:s3cret@proxy.example:3128');
    expect(p?.display).toBe('http://proxy.example:3128');
    expect(p?.url.password).toBe('s3cret');
  });
  it('says which variable holds something that is not a URL', () => {
    expect(proxyFor(new URL('https://r/'), { HTTPS_PROXY: 'http://[x' })).toEqual({ invalid: 'HTTPS_PROXY' });
    expect(proxyFor(new URL('https://r/'), { HTTPS_PROXY: 'socks5://p:1080' })).toEqual({ invalid: 'HTTPS_PROXY' });
  });
});

describe('tlsProblem', () => {
  it.each([
    ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', /authority lg-pins does not trust.*registries\."r\.example:5443"\.ca.*certs\.d\/r\.example:5443/],
    ['SELF_SIGNED_CERT_IN_CHAIN', /authority lg-pins does not trust/],
    ['DEPTH_ZERO_SELF_SIGNED_CERT', /authority lg-pins does not trust/],
    ['CERT_HAS_EXPIRED', /has expired/],
    ['CERT_NOT_YET_VALID', /not valid yet.*clock/],
    ['ERR_TLS_CERT_ALTNAME_INVALID', /does not name r\.example:5443/],
    ['ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED', /requires a client certificate/],
    ['ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE', /requires a client certificate/],
    // OpenSSL 3.5 (Node 24) names the SSLv3-era alerts SSL/TLS.
    ['ERR_SSL_SSL/TLS_ALERT_BAD_CERTIFICATE', /requires a client certificate/],
    ['ERR_SSL_SSL/TLS_ALERT_HANDSHAKE_FAILURE', /requires a client certificate/],
    ['ERR_SSL_WRONG_VERSION_NUMBER', /does not speak TLS.*insecure: true/],
  ])('%s', (code, want) => {
    expect(tlsProblem(code, 'r.example:5443')).toMatch(want);
  });
  it('leaves other failures alone', () => {
    expect(tlsProblem('ECONNREFUSED', 'r')).toBeUndefined();
    expect(tlsProblem(undefined, 'r')).toBeUndefined();
  });
});

describe('trustFor', () => {
  const pki = makePki();
  const rootWith = (host: string, files: Record<string, string>) => {
    const root = tempDir('lgp-trust-');
    mkdirSync(join(root, host));
    for (const [name, content] of Object.entries(files)) writeFileSync(join(root, host, name), content);
    return root;
  };
  const pem = (f: string) => readFileSync(f, 'utf8');

  it('nothing configured: Node defaults (undefined)', () => {
    expect(trustFor('r.example', undefined, { LG_PINS_CERTS_D: tempDir('lgp-empty-') })).toBeUndefined();
  });
  it('a certs.d CA is added to the roots, and NODE_EXTRA_CA_CERTS kept beside it', () => {
    const root = rootWith('r.example:5443', { 'ca.crt': pem(pki.ca) });
    const t = trustFor('r.example:5443', undefined, { LG_PINS_CERTS_D: root, NODE_EXTRA_CA_CERTS: pki.strangerCa });
    expect(t?.ca).toHaveLength(rootCertificates.length + 2);
    expect(t?.ca?.at(-1)?.trim()).toBe(pem(pki.ca).trim());
    expect(t?.sources).toEqual([join(root, 'r.example:5443')]);
  });
  it('a certs.d client pair is the client certificate; the spec wins over it', () => {
    const root = rootWith('r.example', { 'me.cert': pem(pki.client.cert), 'me.key': pem(pki.client.key) });
    expect(trustFor('r.example', undefined, { LG_PINS_CERTS_D: root })).toMatchObject({
      cert: pem(pki.client.cert).trim(),
      key: pem(pki.client.key),
    });
    const spec = { client: { certFile: 'x', keyFile: 'y', cert: 'SPEC-CERT', key: 'SPEC-KEY' } };
    expect(trustFor('r.example', spec, { LG_PINS_CERTS_D: root })).toMatchObject({ cert: 'SPEC-CERT', key: 'SPEC-KEY' });
  });
  it.each([
    ['a .cert without its .key', { 'me.cert': 'CERT' }, /client certificate me\.cert has no me\.key beside it/],
    ['a .key without its .cert', { 'me.key': 'KEY' }, /key me\.key has no me\.cert beside it/],
    ['a .crt that is not a certificate', { 'ca.crt': 'not pem' }, /holds no PEM certificate/],
  ])('%s is a TrustConfigError (exit 2) naming the directory', (_name, files, why) => {
    const root = rootWith('r.example', files);
    expect(() => trustFor('r.example', undefined, { LG_PINS_CERTS_D: root })).toThrow(TrustConfigError);
    expect(() => trustFor('r.example', undefined, { LG_PINS_CERTS_D: root })).toThrow(why);
  });
  it('a client pair must belong together', () => {
    const dir = tempDir('lgp-pair-');
    copyFileSync(pki.server.key, join(dir, 'other.key'));
    expect(readClientPair(pki.client.cert, join(dir, 'other.key'))).toMatch(/is not the private key of the certificate/);
    expect(readClientPair(pki.client.cert, pki.client.key)).toMatchObject({ key: pem(pki.client.key) });
  });
});
