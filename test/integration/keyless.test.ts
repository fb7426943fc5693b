/**
 * Keyless signature policy (`verify.cosign.identity`/`issuer` + `trustedRoot`) against a real
 * registry (distribution 2.8, no referrers API): signatures made by a private Sigstore built in the
 * test (CA, CT log, Rekor; test/helpers/sigstore.ts) and stored the way cosign stores them, legacy
 * `.sig` layers and v3 bundles. Every check of the contract's list fails on its own, as exit 4
 * naming the image, the digest and the reason; nothing reaches the network.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { IntegrityError } from '../../src/errors.js';
import { lock } from '../../src/run/lock.js';
import { STACK, runCli } from '../helpers/cli.js';
import { generateCosignKeyPair, signLegacy } from '../helpers/cosign.js';
import { pushMultiArch, type MultiArchResult, type PushTarget } from '../helpers/push.js';
import { settledAccessLog, type AccessLogEntry } from '../helpers/registry.js';
import { createSigstore, GITHUB_ISSUER, RELEASE_IDENTITY, type KeylessSignOptions, type PrivateSigstore } from '../helpers/sigstore.js';
import { lockSection, useRegistry, workspace, type SpecGroup, type SpecImage, type Workspace } from '../helpers/workspace.js';

const PLATFORMS = [
  { os: 'linux', architecture: 'amd64' },
  { os: 'linux', architecture: 'arm64' },
];
const FLEET: Record<string, SpecGroup> = {
  datacenter: { arch: 'x86_64', hosts: ['web-01'] },
  'arm-servers': { arch: 'aarch64', hosts: ['arm-01'] },
};
const ROOT_PATH = 'keys/trusted_root.json';

type Keyless = { identity?: string; identityRegexp?: string; issuer?: string; issuerRegexp?: string; trustedRoot?: string };
type SignedImage = SpecImage & { verify?: { cosign: Keyless | { key: string } } };

const ctx = useRegistry();
let t: PushTarget;
let sigstore: PrivateSigstore;

beforeAll(async () => {
  t = { url: ctx.reg.url };
  sigstore = await createSigstore();
});

const runLock = (cwd: string) => lock({ cwd, client: { credentials: ctx.anonymous } });
const POLICY: Keyless = { identity: RELEASE_IDENTITY, issuer: GITHUB_ISSUER, trustedRoot: ROOT_PATH };

/** A workspace whose one image must be signed keyless by `policy`, with the private Sigstore's root at keys/. */
function keylessWorkspace(repo: string, tag: string, policy: Keyless = POLICY): Workspace {
  const ws = workspace({ images: {}, fleet: FLEET });
  writeSpec(ws, repo, tag, policy);
  mkdirSync(join(ws.dir, 'keys'), { recursive: true });
  sigstore.writeTrustedRoot(join(ws.dir, ROOT_PATH));
  return ws;
}

function writeSpec(ws: Workspace, repo: string, tag: string, policy: Keyless): void {
  const agent: SignedImage = { ref: `${ctx.reg.host}/${repo}`, tag, verify: { cosign: policy } };
  ws.writeSpec({ images: { agent }, fleet: FLEET });
}

async function signedImage(repo: string, tag: string, opts?: KeylessSignOptions): Promise<MultiArchResult> {
  const img = await pushMultiArch(t, repo, tag, PLATFORMS, { salt: `${repo}:${tag}` });
  if (opts) await sigstore.sign(t, repo, img, opts);
  return img;
}

/** Requests that read signatures: `.sig` tags, referrers (API or fallback tag), and blobs (payloads, bundles). */
const signatureReads = (entries: AccessLogEntry[], repo: string) =>
  entries.filter(
    (e) =>
      e.path.startsWith(`/v2/${repo}/`) &&
      (/\/manifests\/sha256-[0-9a-f]{64}/.test(e.path) || e.path.includes('/referrers/') || e.path.includes('/blobs/')),
  );

describe('lock pins a digest only when a keyless signature of it verifies', () => {
  it("a legacy .sig signature: pinned, and the lock records the certificate's identity, issuer, log index and root", async () => {
    const img = await pushMultiArch(t, 'kl/legacy', 'v1', PLATFORMS, { salt: 'kl-legacy' });
    const sig = await sigstore.sign(t, 'kl/legacy', img, { store: 'legacy' });
    const ws = keylessWorkspace('kl/legacy', 'v1');
    const r = await runLock(ws.dir);
    expect(r.failures).toEqual([]);
    expect(r.exitCode).toBe(0);
    const root = r.lock.images.agent!.verifiedBy as { trustedRoot: string };
    expect(r.lock.images.agent).toMatchObject({
      digest: img.digest,
      verifiedBy: { identity: RELEASE_IDENTITY, issuer: GITHUB_ISSUER, logIndex: sig.logIndex },
    });
    expect(root.trustedRoot).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(lockSection(ws.lockText(), 'agent')).toContain(
      [
        '    verifiedBy:',
        `      identity: ${RELEASE_IDENTITY}`,
        `      issuer: ${GITHUB_ISSUER}`,
        `      logIndex: ${sig.logIndex}`,
        `      trustedRoot: ${root.trustedRoot}`,
      ].join('\n'),
    );
  });

  it('a cosign v3 bundle (fallback tag), an identityRegexp and the legacy issuer OID: pinned', async () => {
    const img = await signedImage('kl/bundle', 'v1');
    const sig = await sigstore.sign(t, 'kl/bundle', img, { store: 'bundle', legacyIssuerOid: true });
    const ws = keylessWorkspace('kl/bundle', 'v1', {
      identityRegexp: 'https://github\\.com/linuxguard/agent/\\.github/workflows/release\\.yml@refs/tags/v.*',
      issuer: GITHUB_ISSUER,
      trustedRoot: ROOT_PATH,
    });
    const r = await runLock(ws.dir);
    expect(r.failures).toEqual([]);
    expect(r.lock.images.agent!.verifiedBy).toMatchObject({ identity: RELEASE_IDENTITY, issuer: GITHUB_ISSUER, logIndex: sig.logIndex });
  });

  it('several valid signatures: the lowest Rekor log index is recorded, whatever the store order', async () => {
    const img = await signedImage('kl/lowest', 'v1');
    const a = await sigstore.sign(t, 'kl/lowest', img, { store: 'legacy' });
    const b = await sigstore.sign(t, 'kl/lowest', img, { store: 'legacy', append: true });
    const c = await sigstore.sign(t, 'kl/lowest', img, { store: 'bundle' });
    const r = await runLock(keylessWorkspace('kl/lowest', 'v1').dir);
    expect(r.exitCode).toBe(0);
    const verifiedBy = r.lock.images.agent!.verifiedBy as { logIndex: number };
    expect(verifiedBy.logIndex).toBe(Math.min(a.logIndex!, b.logIndex!, c.logIndex!));
  });

  it('a valid signature counts even beside invalid ones (another identity first)', async () => {
    const img = await signedImage('kl/mixed', 'v1', {
      store: 'legacy',
      identity: 'https://github.com/mallory/agent/.github/workflows/x.yml@refs/heads/main',
    });
    const good = await sigstore.sign(t, 'kl/mixed', img, { store: 'bundle' });
    const r = await runLock(keylessWorkspace('kl/mixed', 'v1').dir);
    expect(r.exitCode).toBe(0);
    expect(r.lock.images.agent!.verifiedBy).toMatchObject({ logIndex: good.logIndex });
  });
});

/** Lock an image signed with `opts` under the default policy: exit 4, nothing pinned, the message returned. */
async function refused(
  repo: string,
  opts: KeylessSignOptions,
  policy: Keyless = POLICY,
): Promise<{ img: MultiArchResult; message: string }> {
  const img = await signedImage(repo, 'v1', opts);
  const ws = keylessWorkspace(repo, 'v1', policy);
  const r = await runLock(ws.dir);
  expect(r.exitCode).toBe(4);
  expect(r.failures).toHaveLength(1);
  const { image, error } = r.failures[0]!;
  expect(image).toBe('agent');
  expect(error).toBeInstanceOf(IntegrityError);
  expect(error.message).toContain(`${ctx.reg.host}/${repo}@${img.digest}`);
  expect(error.message).toContain('no valid keyless cosign signature by');
  expect(r.written).toBe(false);
  expect(ws.lockExists()).toBe(false);
  return { img, message: error.message };
}

const FAILURES: Array<[string, Omit<KeylessSignOptions, 'store'>, RegExp]> = [
  [
    'another identity',
    { identity: 'https://github.com/mallory/agent/.github/workflows/release.yml@refs/tags/v3.1.0' },
    /the certificate's identity is https:\/\/github\.com\/mallory\/agent\/.*, not the one required/,
  ],
  [
    'another issuer',
    { issuer: 'https://accounts.google.com' },
    /the certificate's issuer is https:\/\/accounts\.google\.com, not the one required/,
  ],
  ['a CA that is not trusted', { untrustedCa: true }, /the certificate does not chain to a trusted Fulcio CA/],
  [
    'a certificate not valid at the log time',
    { certExpiredAtLogTime: true },
    /the certificate was not valid at the log's integrated time \(\d{4}-\d\d-\d\dT/,
  ],
  ['no embedded SCT', { noSct: true }, /the certificate has no embedded SCT/],
  ['an SCT from an untrusted CT log', { untrustedCtLog: true }, /embedded SCT does not verify against a trusted CT log/],
  ['no Rekor entry', { noTlog: true }, /no Rekor transparency-log entry/],
  ['a Rekor entry from an untrusted Rekor', { untrustedRekor: true }, /signed entry timestamp does not verify against a trusted Rekor key/],
  ['a corrupted signed entry timestamp', { badSet: true }, /signed entry timestamp does not verify against a trusted Rekor key/],
  ['a Rekor entry for another signature', { tlogForOtherSignature: true }, /the Rekor entry does not match this signature/],
  [
    'a Rekor entry naming another certificate',
    { tlogOtherCertificate: true },
    /the Rekor entry names another certificate than the one that signed/,
  ],
  ['a payload altered after signing', { tamper: true }, /the signature does not verify with the certificate's key/],
];

describe.each(['legacy', 'bundle'] as const)('every failure is exit 4 naming image, digest and reason (%s store)', (store) => {
  it.each(FAILURES)('%s', async (name, opts, reason) => {
    const repo = `kl/fail-${store}-${name.replace(/[^a-z]+/g, '-').replace(/-+$/, '')}`;
    const { message } = await refused(repo, { store, ...opts });
    expect(message).toMatch(reason);
    expect(message).toContain(`${RELEASE_IDENTITY} (issuer ${GITHUB_ISSUER})`);
  });

  it('a payload naming another digest', async () => {
    const decoy = await pushMultiArch(t, `kl/${store}-otherdigest`, 'decoy', PLATFORMS, { salt: `${store}-decoy` });
    const { message } = await refused(`kl/${store}-otherdigest`, { store, signedDigest: decoy.digest });
    expect(message).toMatch(new RegExp(`(signature is for|bundle signs) another digest \\(${decoy.digest}\\)`));
  });
});

describe('the payload and the policy', () => {
  it('a legacy payload naming another repository is exit 4', async () => {
    const { message } = await refused('kl/otherrepo', { store: 'legacy', dockerReference: `${ctx.reg.host}/kl/elsewhere` });
    expect(message).toContain(`the signature is for another repository (${ctx.reg.host}/kl/elsewhere)`);
  });

  // The trap: cosign's --certificate-identity-regexp is unanchored, so a prefix would pass there.
  it.each<[string, Keyless]>([
    [
      'an identityRegexp matching only a prefix of the identity',
      { identityRegexp: 'https://github\\.com/linuxguard/agent', issuer: GITHUB_ISSUER },
    ],
    ['an identityRegexp matching only its end', { identityRegexp: 'release\\.yml@refs/tags/v3\\.1\\.0', issuer: GITHUB_ISSUER }],
    [
      'an exact identity that is a prefix of it',
      { identity: 'https://github.com/linuxguard/agent/.github/workflows/release.yml', issuer: GITHUB_ISSUER },
    ],
    ['an issuerRegexp matching only a prefix of the issuer', { identity: RELEASE_IDENTITY, issuerRegexp: 'https://token\\.actions' }],
  ])('anchoring: %s never passes', async (_name, policy) => {
    const repo = `kl/anchor-${Object.keys(policy).join('-').toLowerCase()}-${Object.values(policy).join('').length}`;
    const { message } = await refused(repo, { store: 'legacy' }, { ...policy, trustedRoot: ROOT_PATH });
    expect(message).toMatch(/the certificate's (identity|issuer) is .*, not the one required/);
  });

  it('a key-based signature does not satisfy a keyless policy', async () => {
    const key = generateCosignKeyPair();
    const img = await signedImage('kl/keyed', 'v1');
    await signLegacy(t, 'kl/keyed', img.digest, key.privateKey);
    const r = await runLock(keylessWorkspace('kl/keyed', 'v1').dir);
    expect(r.exitCode).toBe(4);
    expect(r.failures[0]!.error.message).toContain('it is not a keyless signature');
  });

  it('without trustedRoot, the public-good root shipped with lg-pins is used: a private CA is not trusted', async () => {
    const img = await signedImage('kl/publicgood', 'v1', { store: 'bundle' });
    const ws = keylessWorkspace('kl/publicgood', 'v1', { identity: RELEASE_IDENTITY, issuer: GITHUB_ISSUER });
    const r = await runLock(ws.dir);
    expect(r.exitCode).toBe(4);
    expect(r.failures[0]!.error.message).toContain(`@${img.digest}`);
    expect(r.failures[0]!.error.message).toMatch(/does not chain to a trusted Fulcio CA|SCT|Rekor/);
  });
});

describe('warm relocks', () => {
  it('an unchanged verified pin is not verified again; another identity, issuer or trusted root verifies again', async () => {
    const img = await signedImage('kl/warm', 'v1', { store: 'legacy' });
    const ws = keylessWorkspace('kl/warm', 'v1');
    const reads = async (run: () => Promise<unknown>) => {
      const mark = (await settledAccessLog(ctx.reg)).length;
      await run();
      return signatureReads((await settledAccessLog(ctx.reg)).slice(mark), 'kl/warm');
    };
    expect(await reads(() => runLock(ws.dir))).not.toEqual([]);
    const text = ws.lockText();

    // Warm: the tag still points at the pin, whose recorded signer the policy accepts.
    expect(await reads(() => runLock(ws.dir))).toEqual([]);
    expect(ws.lockText()).toBe(text);
    // A regexp the recorded signer still matches needs no new proof either.
    writeSpec(ws, 'kl/warm', 'v1', { ...POLICY, identity: undefined, identityRegexp: '.*/release\\.yml@refs/tags/v3\\.1\\.0' });
    expect(await reads(() => runLock(ws.dir))).toEqual([]);

    // Another trusted root (the same keys, written differently: another digest): verified again, and recorded.
    writeFileSync(join(ws.dir, ROOT_PATH), JSON.stringify(sigstore.trustedRoot()));
    writeSpec(ws, 'kl/warm', 'v1', POLICY);
    let r: Awaited<ReturnType<typeof runLock>> | undefined;
    expect(
      await reads(async () => {
        r = await runLock(ws.dir);
      }),
    ).not.toEqual([]);
    expect(r!.exitCode).toBe(0);
    expect(ws.lockText()).not.toBe(text);
    const rerooted = ws.lockText();

    // Another issuer: verified again, refused (exit 4), and the pin stays as it was.
    writeSpec(ws, 'kl/warm', 'v1', { ...POLICY, issuer: 'https://accounts.google.com' });
    expect(
      await reads(async () => {
        r = await runLock(ws.dir);
      }),
    ).not.toEqual([]);
    expect(r!.exitCode).toBe(4);
    expect(r!.failures[0]!.error.message).toContain(`@${img.digest}`);
    expect(ws.lockText()).toBe(rerooted);

    // Another identity: the same.
    writeSpec(ws, 'kl/warm', 'v1', { ...POLICY, identity: `${RELEASE_IDENTITY}-rc` });
    expect(
      await reads(async () => {
        r = await runLock(ws.dir);
      }),
    ).not.toEqual([]);
    expect(r!.exitCode).toBe(4);
    expect(ws.lockText()).toBe(rerooted);
  });
});

describe('from the command line', () => {
  it('lock, verify (text, --json, --markdown) and check show who signed each pin', async () => {
    const img = await signedImage('kl/cli', 'v1');
    const sig = await sigstore.sign(t, 'kl/cli', img, { store: 'bundle' });
    const ws = keylessWorkspace('kl/cli', 'v1');
    const locked = await runCli(['lock'], ws.dir);
    expect(locked.stderr).toBe('');
    expect(locked.code).toBe(0);

    const line = `signed by ${RELEASE_IDENTITY} (issuer ${GITHUB_ISSUER}), Rekor log index ${sig.logIndex}`;
    const text = await runCli(['verify'], ws.dir);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('signature verified');
    expect(text.stdout).toContain(`    ${line}\n`);
    const json = await runCli(['verify', '--json'], ws.dir);
    expect(json.code).toBe(0);
    const doc = JSON.parse(json.stdout) as { images: Array<{ signer?: object }> };
    expect(doc.images[0]!.signer).toMatchObject({ identity: RELEASE_IDENTITY, issuer: GITHUB_ISSUER, logIndex: sig.logIndex });
    const md = await runCli(['verify', '--markdown'], ws.dir);
    expect(md.stdout).toContain(
      `verified: signed by \`${RELEASE_IDENTITY}\` (issuer \`${GITHUB_ISSUER}\`), Rekor log index ${sig.logIndex}`,
    );

    // check (offline): the spec now wants another signer than the lock recorded.
    expect((await runCli(['check'], ws.dir)).code).toBe(0);
    writeSpec(ws, 'kl/cli', 'v1', {
      ...POLICY,
      identity: 'https://github.com/linuxguard/agent/.github/workflows/nightly.yml@refs/heads/main',
    });
    const stale = await runCli(['check'], ws.dir);
    expect(stale.code).toBe(1);
    expect(stale.stdout + stale.stderr).toContain(`was signed by ${RELEASE_IDENTITY} (issuer ${GITHUB_ISSUER})`);
    // verify judges the pin under the new policy: the signature no longer satisfies it (exit 4).
    const refusedNow = await runCli(['verify'], ws.dir);
    expect(refusedNow.code).toBe(4);
    expect(refusedNow.stdout).toContain("the certificate's identity is");
  });

  it('a failed verification is exit 4 on stderr naming image, digest and reason, with no stack trace', async () => {
    const img = await signedImage('kl/cli-fail', 'v1', { store: 'legacy', noSct: true });
    const ws = keylessWorkspace('kl/cli-fail', 'v1');
    const r = await runCli(['lock'], ws.dir);
    expect(r.code).toBe(4);
    expect(r.stderr).toContain(`${ctx.reg.host}/kl/cli-fail@${img.digest}`);
    expect(r.stderr).toContain('the certificate has no embedded SCT');
    expect(r.stderr).not.toMatch(STACK);
  });

  it('a half-configured policy is exit 2 naming file, line and key', async () => {
    const ws = keylessWorkspace('kl/cli-half', 'v1', { identity: RELEASE_IDENTITY, trustedRoot: ROOT_PATH });
    const r = await runCli(['lock'], ws.dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/lg-pins\.yaml:\d+:\d+: images\.agent\.verify\.cosign: keyless verification needs issuer or issuerRegexp/);
  });
});
