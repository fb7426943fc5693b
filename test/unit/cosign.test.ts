/**
 * Cosign keys: `loadCosignKey` takes an ECDSA P-256 PEM public key (as cosign.pub) and refuses
 * anything else with a message that says what the file is; a bad key file is a spec error (exit 2)
 * at `images.<id>.verify.cosign.key`; `keyFingerprint` (what the lock's `verifiedBy` records) is
 * the sha256 of the DER SubjectPublicKeyInfo, stable however the key is loaded.
 */
import { createHash, createPublicKey, generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadSpec } from '../../src/config/load.js';
import { parseDigest } from '../../src/digest.js';
import { ExitCode, SpecError } from '../../src/errors.js';
import { signatureTag } from '../../src/trust/cosign.js';
import { keyFingerprint, loadCosignKey } from '../../src/trust/keys.js';
import { cosignTag, generateCosignKeyPair, pae, simpleSigningPayload, spkiFingerprint } from '../helpers/cosign.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lg-pins-cosign-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const p = path.join(tmp, name);
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.writeFileSync(p, text);
  return p;
}

/** A fixed P-256 public key (made with openssl) and its fingerprint from `openssl pkey -pubin -outform DER | sha256sum`. */
const FIXED_PEM = [
  '-----BEGIN PUBLIC KEY-----',
  'MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEaYROHh6mrFw+gmKvsU8hLfS+55me',
  '5zWjgHFgi1FqUuGTx7rwLnWpnVKIm1K1aRUmrIxxFsQRt994c31Q/fHspg==',
  '-----END PUBLIC KEY-----',
  '',
].join('\n');
const FIXED_FINGERPRINT = 'sha256:44bf9e558b908689d08f791200ea85d2b00ef5b06dd5171a86438f56698ccdc1';

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const pemOf = (k: ReturnType<typeof generateKeyPairSync>['publicKey']) => k.export({ type: 'spki', format: 'pem' }).toString();

describe('loadCosignKey', () => {
  it('accepts an ECDSA P-256 PEM public key and fingerprints it', () => {
    const pair = generateCosignKeyPair();
    const p = file('ok/cosign.pub', pair.pem);
    const loaded = loadCosignKey(p);
    if (typeof loaded === 'string') throw new Error(`refused: ${loaded}`);
    expect(loaded.file).toBe(p);
    expect(loaded.publicKey.type).toBe('public');
    expect(loaded.publicKey.asymmetricKeyType).toBe('ec');
    expect(loaded.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(loaded.fingerprint).toBe(pair.fingerprint);
    expect(loaded.fingerprint).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it('accepts a key with CRLF line ends and text around the PEM block', () => {
    const pair = generateCosignKeyPair();
    const loaded = loadCosignKey(file('ok/crlf.pub', `# release key\r\n${pair.pem.replace(/\n/g, '\r\n')}`));
    expect(typeof loaded === 'string' ? loaded : loaded.fingerprint).toBe(pair.fingerprint);
  });

  it('refuses an RSA key, saying so', () => {
    const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const p = file('rsa.pub', pemOf(publicKey));
    expect(loadCosignKey(p)).toMatch(new RegExp(`^${esc(p)} is an? rsa key; cosign keys are ECDSA P-256$`, 'i'));
  });

  it('refuses a P-384 key, naming the curve', () => {
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
    const p = file('p384.pub', pemOf(publicKey));
    expect(loadCosignKey(p)).toMatch(new RegExp(`^${esc(p)} is an? ec secp384r1 key; cosign keys are ECDSA P-256$`, 'i'));
  });

  it('refuses an Ed25519 key', () => {
    const { publicKey } = generateKeyPairSync('ed25519');
    const p = file('ed25519.pub', pemOf(publicKey));
    expect(loadCosignKey(p)).toMatch(new RegExp(`^${esc(p)} is an? ed25519 key; cosign keys are ECDSA P-256$`, 'i'));
  });

  it('refuses garbage and an empty file: not a PEM public key', () => {
    for (const [name, text] of [
      ['garbage.pub', 'not a key at all\n'],
      ['empty.pub', ''],
      ['truncated.pub', FIXED_PEM.slice(0, 60)],
    ] as const) {
      const p = file(name, text);
      expect(loadCosignKey(p)).toBe(`${p} is not a PEM public key (expected "-----BEGIN PUBLIC KEY-----", as cosign.pub)`);
    }
  });

  it('refuses a private key (cosign.key or an unencrypted PKCS#8 key) instead of deriving its public half', () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const pkcs8 = file('private.pem', privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
    expect(loadCosignKey(pkcs8)).toBe(
      `${pkcs8} holds a private key; give the public key (cosign.pub, "-----BEGIN PUBLIC KEY-----") and keep the private key out of the repository`,
    );
    const encrypted = file(
      'cosign.key',
      '-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\neyJrZGYiOnt9fQ==\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n',
    );
    expect(loadCosignKey(encrypted)).toMatch(/ holds a private key; give the public key/);
  });

  it('refuses a missing file and a directory', () => {
    const missing = path.join(tmp, 'nope', 'cosign.pub');
    expect(loadCosignKey(missing)).toBe(`no such file (${missing})`);
    const dir = path.join(tmp, 'a-dir');
    fs.mkdirSync(dir, { recursive: true });
    expect(loadCosignKey(dir)).toMatch(new RegExp(`^cannot read ${esc(dir)}: `));
  });
});

describe('keyFingerprint', () => {
  it('is the sha256 of the DER SubjectPublicKeyInfo (matches openssl for a fixed key)', () => {
    const key = createPublicKey(FIXED_PEM);
    expect(keyFingerprint(key)).toBe(FIXED_FINGERPRINT);
    const loaded = loadCosignKey(file('fixed.pub', FIXED_PEM));
    expect(typeof loaded === 'string' ? loaded : loaded.fingerprint).toBe(FIXED_FINGERPRINT);
  });

  it('is stable however the key is loaded, and differs between keys', () => {
    const pair = generateCosignKeyPair();
    const der = pair.publicKey.export({ type: 'spki', format: 'der' });
    const fromDer = createPublicKey({ key: der, format: 'der', type: 'spki' });
    const fromJwk = createPublicKey({ key: pair.publicKey.export({ format: 'jwk' }), format: 'jwk' });
    const fromPrivate = createPublicKey(pair.privateKey);
    const expected = `sha256:${createHash('sha256').update(der).digest('hex')}`;
    for (const k of [pair.publicKey, fromDer, fromJwk, fromPrivate]) expect(keyFingerprint(k)).toBe(expected);
    expect(keyFingerprint(pair.publicKey)).toBe(keyFingerprint(pair.publicKey));
    expect(spkiFingerprint(pair.publicKey)).toBe(expected);
    expect(keyFingerprint(generateCosignKeyPair().publicKey)).not.toBe(expected);
  });
});

describe('a spec with verify.cosign.key', () => {
  const spec = (dir: string, key: string) =>
    file(
      path.join(dir, 'lg-pins.yaml'),
      [
        'version: 1',
        'images:',
        '  agent:',
        '    ref: example.com/agent',
        '    tag: v1',
        '    verify:',
        '      cosign:',
        `        key: ${key}`,
        '',
      ].join('\n'),
    );

  async function specError(dir: string): Promise<SpecError> {
    try {
      await loadSpec({ cwd: path.join(tmp, dir) });
    } catch (e) {
      if (e instanceof SpecError) return e;
      throw e;
    }
    throw new Error('loadSpec accepted the spec');
  }

  it('loads the key relative to the spec, with its fingerprint', async () => {
    const pair = generateCosignKeyPair();
    file('spec-ok/keys/release.pub', pair.pem);
    spec('spec-ok', 'keys/release.pub');
    const s = await loadSpec({ cwd: path.join(tmp, 'spec-ok') });
    expect(s.images.agent!.verify?.cosign).toMatchObject({
      key: 'keys/release.pub',
      file: path.join(tmp, 'spec-ok', 'keys/release.pub'),
      fingerprint: pair.fingerprint,
    });
  });

  it.each([
    [
      'an RSA key',
      () => pemOf(generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey),
      /is an? rsa key; cosign keys are ECDSA P-256$/i,
    ],
    [
      'a P-384 key',
      () => pemOf(generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).publicKey),
      /is an? ec secp384r1 key; cosign keys are ECDSA P-256$/i,
    ],
    ['garbage', () => 'hello\n', /is not a PEM public key/],
  ])('%s: exit 2 at images.agent.verify.cosign.key, quoting the path', async (_name, text, message) => {
    const dir = `spec-bad-${_name.replace(/\W+/g, '-')}`;
    file(`${dir}/keys/release.pub`, text());
    spec(dir, 'keys/release.pub');
    const e = await specError(dir);
    expect(e.exitCode).toBe(ExitCode.badInput);
    expect(e.issues).toHaveLength(1);
    const issue = e.issues[0]!;
    expect(issue.path).toBe('images.agent.verify.cosign.key');
    expect(issue.file).toBe(path.join(tmp, dir, 'lg-pins.yaml'));
    expect(issue.line).toBe(8);
    expect(issue.message.startsWith('"keys/release.pub": ')).toBe(true);
    expect(issue.message).toMatch(message);
  });

  it('a missing key file: exit 2, "no such file"', async () => {
    spec('spec-missing', 'keys/nope.pub');
    const e = await specError('spec-missing');
    expect(e.exitCode).toBe(2);
    expect(e.issues.map((i) => [i.path, i.message.split(': ')[0]])).toEqual([['images.agent.verify.cosign.key', '"keys/nope.pub"']]);
    expect(e.message).toContain('no such file');
  });
});

describe("the test helper agrees with lg-pins on cosign's conventions", () => {
  it('the .sig tag and the referrers fallback tag', () => {
    const d = parseDigest(`sha256:${'ab'.repeat(32)}`);
    expect(signatureTag(d)).toBe(`sha256-${'ab'.repeat(32)}.sig`);
    expect(cosignTag(d, '.sig')).toBe(signatureTag(d));
    expect(cosignTag(d)).toBe(signatureTag(d, ''));
  });

  it("the simple-signing payload is compact JSON in cosign's shape, and PAE is DSSE v1", () => {
    const d = `sha256:${'cd'.repeat(32)}`;
    expect(simpleSigningPayload('registry.example/team/agent', d)).toBe(
      `{"critical":{"identity":{"docker-reference":"registry.example/team/agent"},"image":{"docker-manifest-digest":"${d}"},"type":"cosign container image signature"},"optional":null}`,
    );
    expect(pae('application/vnd.in-toto+json', Buffer.from('{}')).toString()).toBe('DSSEv1 28 application/vnd.in-toto+json 2 {}');
  });
});
