/**
 * Signature policy (`images.<id>.verify.cosign.key`) against a real registry (distribution 2.8,
 * which has no referrers API): signatures written the way cosign stores them, by keys made here.
 * A digest is pinned only when a signature by the spec's key signs it (legacy `.sig` or the v3
 * bundle through the `sha256-<hex>` fallback index); anything else is exit 4, the image keeps its
 * previous entry byte for byte, and the message names the image, the digest and what was wrong.
 */
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IntegrityError } from '../../src/errors.js';
import { diff } from '../../src/run/diff.js';
import { lock } from '../../src/run/lock.js';
import { generateCosignKeyPair, signBundle, signLegacy, type KeyPair } from '../helpers/cosign.js';
import { startProxy, tamperJson, type TamperingProxy } from '../helpers/proxy.js';
import { pushMultiArch, type MultiArchResult, type PushTarget } from '../helpers/push.js';
import { settledAccessLog, type AccessLogEntry } from '../helpers/registry.js';
import { lockSection, workspace, type SpecGroup, type SpecImage, type Workspace, useRegistry } from '../helpers/workspace.js';

const PLATFORMS = [
  { os: 'linux', architecture: 'amd64' },
  { os: 'linux', architecture: 'arm64' },
];
const FLEET: Record<string, SpecGroup> = {
  datacenter: { arch: 'x86_64', hosts: ['web-01'] },
  'arm-servers': { arch: 'aarch64', hosts: ['arm-01'] },
};
const KEY_PATH = 'keys/release.pub';

type SignedImage = SpecImage & { verify?: { cosign: { key: string } } };
interface SignedSpec {
  images: Record<string, SignedImage>;
  fleet?: Record<string, SpecGroup>;
}

const ctx = useRegistry();
let t: PushTarget;
let release: KeyPair;
let other: KeyPair;
let proxy: TamperingProxy | undefined;

beforeAll(() => {
  t = { url: ctx.reg.url };
  release = generateCosignKeyPair();
  other = generateCosignKeyPair();
});

afterAll(async () => {
  await proxy?.stop();
});

const runLock = (cwd: string) => lock({ cwd, client: { credentials: ctx.anonymous } });

/** A workspace whose spec requires `key` (written to keys/release.pub) for every image with `verify`. */
function signedWorkspace(spec: SignedSpec, key: KeyPair = release): Workspace {
  const ws = workspace(spec);
  installKey(ws, key);
  return ws;
}

function installKey(ws: Workspace, key: KeyPair, rel = KEY_PATH): void {
  const file = join(ws.dir, rel);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, key.pem);
}

const verified = (ref: string, tag: string): SignedImage => ({ ref, tag, verify: { cosign: { key: KEY_PATH } } });
const one = (repo: string, tag: string): SignedSpec => ({ images: { agent: verified(`${ctx.reg.host}/${repo}`, tag) }, fleet: FLEET });

/** Requests that read signatures: `.sig` tags, referrers (API or fallback tag), and blobs (payloads, bundles). */
const signatureReads = (entries: AccessLogEntry[], repo: string) =>
  entries.filter(
    (e) =>
      e.path.startsWith(`/v2/${repo}/`) &&
      (/\/manifests\/sha256-[0-9a-f]{64}/.test(e.path) || e.path.includes('/referrers/') || e.path.includes('/blobs/')),
  );

async function failure(repo: string, tag: string, sign: (img: MultiArchResult) => Promise<unknown>) {
  const img = await pushMultiArch(t, repo, tag, PLATFORMS, { salt: `${repo}:${tag}` });
  await sign(img);
  const ws = signedWorkspace(one(repo, tag));
  const r = await runLock(ws.dir);
  expect(r.exitCode).toBe(4);
  expect(r.failures).toHaveLength(1);
  const { image, error } = r.failures[0]!;
  expect(image).toBe('agent');
  expect(error).toBeInstanceOf(IntegrityError);
  expect(error.message).toContain(`${ctx.reg.host}/${repo}@${img.digest}`);
  // Nothing pinned on a first lock: no file at all.
  expect(r.written).toBe(false);
  expect(ws.lockExists()).toBe(false);
  expect(r.lock.images).toEqual({});
  return { img, message: error.message };
}

describe("lock pins a digest only when the spec's key signs it", () => {
  it("a legacy .sig signature: pinned, and the lock records the key's fingerprint", async () => {
    const img = await pushMultiArch(t, 'sig/legacy', 'v1', PLATFORMS, { salt: 'legacy' });
    const sig = await signLegacy(t, 'sig/legacy', img.digest, release.privateKey);
    expect(sig.tag).toBe(`sha256-${img.digest.slice(7)}.sig`);
    const ws = signedWorkspace(one('sig/legacy', 'v1'));
    const r = await runLock(ws.dir);
    expect(r.failures).toEqual([]);
    expect(r.exitCode).toBe(0);
    expect(r.lock.images.agent).toMatchObject({ tag: 'v1', digest: img.digest, verifiedBy: release.fingerprint });
    expect(ws.lockText()).toContain(`    verifiedBy: ${release.fingerprint}\n`);
    expect(r.lock.fleet.datacenter!.agent).toEqual({ platform: 'linux/amd64', digest: img.images[0]!.digest });
  });

  it('a v3 bundle found through the referrers fallback tag (no .sig at all): pinned', async () => {
    const img = await pushMultiArch(t, 'sig/bundle', 'v1', PLATFORMS, { salt: 'bundle' });
    await signBundle(t, 'sig/bundle', img, release.privateKey);
    const ws = signedWorkspace(one('sig/bundle', 'v1'));
    const mark = (await settledAccessLog(ctx.reg)).length;
    const r = await runLock(ws.dir);
    expect(r.failures).toEqual([]);
    expect(r.lock.images.agent).toMatchObject({ digest: img.digest, verifiedBy: release.fingerprint });
    const hex = img.digest.slice(7);
    const reads = (await settledAccessLog(ctx.reg)).slice(mark);
    // 2.8: the .sig tag is absent, the referrers API answers 404, the fallback index is read.
    expect(reads.find((e) => e.path === `/v2/sig/bundle/manifests/sha256-${hex}.sig`)?.status).toBe(404);
    expect(reads.find((e) => e.path === `/v2/sig/bundle/referrers/${img.digest}`)?.status).toBe(404);
    expect(reads.find((e) => e.method === 'GET' && e.path === `/v2/sig/bundle/manifests/sha256-${hex}`)?.status).toBe(200);
  });

  it("one valid signature among several suffices (a .sig with another key's layer first)", async () => {
    const img = await pushMultiArch(t, 'sig/multi', 'v1', PLATFORMS, { salt: 'multi' });
    await signLegacy(t, 'sig/multi', img.digest, other.privateKey);
    await signLegacy(t, 'sig/multi', img.digest, release.privateKey, { append: true });
    const r = await runLock(signedWorkspace(one('sig/multi', 'v1')).dir);
    expect(r.exitCode).toBe(0);
    expect(r.lock.images.agent!.verifiedBy).toBe(release.fingerprint);
  });

  it('a bad .sig does not hide a valid bundle', async () => {
    const img = await pushMultiArch(t, 'sig/both', 'v1', PLATFORMS, { salt: 'both' });
    await signLegacy(t, 'sig/both', img.digest, other.privateKey);
    await signBundle(t, 'sig/both', img, release.privateKey);
    const r = await runLock(signedWorkspace(one('sig/both', 'v1')).dir);
    expect(r.exitCode).toBe(0);
    expect(r.lock.images.agent!.verifiedBy).toBe(release.fingerprint);
  });

  it('unsigned: exit 4, nothing pinned, the message names the image, the digest and "no signature found"', async () => {
    const { img, message } = await failure('sig/unsigned', 'v1', async () => undefined);
    expect(message).toContain('no signature found');
    expect(message).toContain(`sha256-${img.digest.slice(7)}.sig`);
    expect(message).toContain(KEY_PATH);
  });

  it('signed with another key: exit 4 naming the key required', async () => {
    const { message } = await failure('sig/wrongkey', 'v1', (img) => signLegacy(t, 'sig/wrongkey', img.digest, other.privateKey));
    expect(message).toContain(`by ${KEY_PATH} (${release.fingerprint.slice(0, 19)})`);
    expect(message).toContain('does not verify with this key');
    expect(message).not.toContain('no signature found');
  });

  it('a payload for another digest: exit 4 "another digest", naming it', async () => {
    const decoy = await pushMultiArch(t, 'sig/otherdigest', 'decoy', PLATFORMS, { salt: 'decoy' });
    const { message } = await failure('sig/otherdigest', 'v1', (img) =>
      signLegacy(t, 'sig/otherdigest', img.digest, release.privateKey, { signedDigest: decoy.digest }),
    );
    expect(message).toContain(`the signature is for another digest (${decoy.digest})`);
  });

  it('a tampered payload (changed after signing, pushed under its correct digest): exit 4', async () => {
    const { message } = await failure('sig/tampered', 'v1', (img) =>
      signLegacy(t, 'sig/tampered', img.digest, release.privateKey, { tamper: true }),
    );
    expect(message).toContain('the payload was altered');
  });

  it('a tampered payload that re-points a signature of another image at this one: exit 4', async () => {
    const decoy = await pushMultiArch(t, 'sig/repointed', 'decoy', PLATFORMS, { salt: 'repointed-decoy' });
    const { message } = await failure('sig/repointed', 'v1', (img) =>
      signLegacy(t, 'sig/repointed', img.digest, release.privateKey, {
        signedDigest: decoy.digest,
        tamper: (p) => p.replace(decoy.digest, img.digest),
      }),
    );
    expect(message).toContain('does not verify with this key');
  });

  it('a signature for another repository (docker-reference): exit 4', async () => {
    const { message } = await failure('sig/otherrepo', 'v1', (img) =>
      signLegacy(t, 'sig/otherrepo', img.digest, release.privateKey, { dockerReference: `${ctx.reg.host}/evil/agent` }),
    );
    expect(message).toContain(`the signature is for another repository (${ctx.reg.host}/evil/agent)`);
  });

  it('a payload that is not a cosign signature type: exit 4', async () => {
    const { message } = await failure('sig/othertype', 'v1', (img) =>
      signLegacy(t, 'sig/othertype', img.digest, release.privateKey, { type: 'atomic container signature' }),
    );
    expect(message).toContain('"atomic container signature"');
  });

  it('bundles: another key, another digest and a tampered statement are each exit 4', async () => {
    const wrong = await failure('sig/bundle-wrongkey', 'v1', (img) => signBundle(t, 'sig/bundle-wrongkey', img, other.privateKey));
    expect(wrong.message).toContain('the bundle signature does not verify with this key');
    const decoy = await pushMultiArch(t, 'sig/bundle-otherdigest', 'decoy', PLATFORMS, { salt: 'bundle-decoy' });
    const another = await failure('sig/bundle-otherdigest', 'v1', (img) =>
      signBundle(t, 'sig/bundle-otherdigest', img, release.privateKey, { signedDigest: decoy.digest }),
    );
    expect(another.message).toContain(`the bundle signs another digest (${decoy.digest})`);
    const tampered = await failure('sig/bundle-tampered', 'v1', (img) =>
      signBundle(t, 'sig/bundle-tampered', img, release.privateKey, { tamper: true }),
    );
    expect(tampered.message).toContain('the statement was altered');
    const predicate = await failure('sig/bundle-predicate', 'v1', (img) =>
      signBundle(t, 'sig/bundle-predicate', img, release.privateKey, { predicateType: 'https://slsa.dev/provenance/v1' }),
    );
    expect(predicate.message).toContain('not a cosign signature');
  });
});

describe('a hostile signature store', () => {
  it('a malformed .sig manifest (served without a digest header) is exit 4 naming it, not an internal error', async () => {
    proxy = await startProxy(ctx.reg.url);
    const p = proxy;
    const img = await pushMultiArch(t, 'sig/malformed', 'v1', PLATFORMS, { salt: 'malformed' });
    await signLegacy(t, 'sig/malformed', img.digest, release.privateKey, { dockerReference: `${p.host}/sig/malformed` });
    p.hooks.push({
      match: (req) => req.method === 'GET' && req.path.endsWith('.sig'),
      rewrite: (res) => {
        const out = tamperJson(res, (j) => {
          (j.layers as Array<Record<string, unknown>>)[0]!.digest = 'sha256:not-hex';
        });
        delete out.headers['docker-content-digest'];
        delete out.headers.etag;
        return out;
      },
    });
    const ws = signedWorkspace({ images: { agent: verified(`${p.host}/sig/malformed`, 'v1') }, fleet: FLEET });
    const r = await runLock(ws.dir);
    expect(p.requests.some((q) => q.tampered)).toBe(true);
    expect(r.exitCode).toBe(4);
    expect(r.failures[0]!.error).toBeInstanceOf(IntegrityError);
    expect(r.failures[0]!.error.message).toContain(`sha256-${img.digest.slice(7)}.sig is not a valid manifest`);
    expect(ws.lockExists()).toBe(false);
  });
});

describe('a failed verification keeps what was pinned', () => {
  it('the failing image keeps its entry byte for byte while another image is locked', async () => {
    const a1 = await pushMultiArch(t, 'keep/agent', 'a1', PLATFORMS, { salt: 'keep-a1' });
    await signLegacy(t, 'keep/agent', a1.digest, release.privateKey);
    const a2 = await pushMultiArch(t, 'keep/agent', 'a2', PLATFORMS, { salt: 'keep-a2' });
    await signLegacy(t, 'keep/agent', a2.digest, other.privateKey);
    await pushMultiArch(t, 'keep/tools', 't1', PLATFORMS, { salt: 'keep-t1' });
    const t2 = await pushMultiArch(t, 'keep/tools', 't2', PLATFORMS, { salt: 'keep-t2' });
    const spec = (agentTag: string, toolsTag: string): SignedSpec => ({
      images: { agent: verified(`${ctx.reg.host}/keep/agent`, agentTag), tools: { ref: `${ctx.reg.host}/keep/tools`, tag: toolsTag } },
      fleet: FLEET,
    });
    const ws = signedWorkspace(spec('a1', 't1'));
    const first = await runLock(ws.dir);
    expect(first.exitCode).toBe(0);
    const before = lockSection(ws.lockText(), 'agent');
    expect(before).toContain(`verifiedBy: ${release.fingerprint}`);

    ws.writeSpec(spec('a2', 't2'));
    const r = await runLock(ws.dir);
    expect(r.exitCode).toBe(4);
    expect(r.failures.map((f) => f.image)).toEqual(['agent']);
    expect(r.failures[0]!.error.message).toContain(a2.digest);
    expect(r.written).toBe(true);
    expect(lockSection(ws.lockText(), 'agent')).toBe(before);
    expect(r.lock.images.agent).toEqual(first.lock.images.agent);
    expect(r.lock.images.tools).toMatchObject({ tag: 't2', digest: t2.digest });
    expect(r.lock.images.tools!.verifiedBy).toBeUndefined();
  });

  it('a re-published tag whose new digest is not signed: exit 4, the old pin kept, nothing written', async () => {
    const v1 = await pushMultiArch(t, 'keep/republish', 'v1', PLATFORMS, { salt: 'rp-1' });
    await signLegacy(t, 'keep/republish', v1.digest, release.privateKey);
    const ws = signedWorkspace(one('keep/republish', 'v1'));
    expect((await runLock(ws.dir)).exitCode).toBe(0);
    const before = ws.lockText();
    const mtime = statSync(ws.lockFile).mtimeMs;

    const moved = await pushMultiArch(t, 'keep/republish', 'v1', PLATFORMS, { salt: 'rp-2' });
    const r = await runLock(ws.dir);
    expect(r.exitCode).toBe(4);
    expect(r.failures[0]!.error.message).toContain(`${ctx.reg.host}/keep/republish@${moved.digest}`);
    expect(r.failures[0]!.error.message).toContain('no signature found');
    expect(r.written).toBe(false);
    expect(ws.lockText()).toBe(before);
    expect(statSync(ws.lockFile).mtimeMs).toBe(mtime);
    expect(r.lock.images.agent!.digest).toBe(v1.digest);

    // diff verifies before it reports a pin, too: a failure, never a "tag-moved" change to an unsigned digest.
    const d = await diff({ cwd: ws.dir, client: { credentials: ctx.anonymous } });
    expect(d.exitCode).toBe(4);
    expect(d.changes).toEqual([]);
    expect(d.failures[0]!.error).toBeInstanceOf(IntegrityError);

    // Once the new digest is signed, it is taken.
    await signLegacy(t, 'keep/republish', moved.digest, release.privateKey);
    const signed = await runLock(ws.dir);
    expect(signed.exitCode).toBe(0);
    expect(signed.lock.images.agent).toMatchObject({ digest: moved.digest, verifiedBy: release.fingerprint });
  });
});

describe('warm relocks', () => {
  it("an unchanged signed tag is not verified again, until the spec's key changes", async () => {
    const img = await pushMultiArch(t, 'warm/agent', 'v1', PLATFORMS, { salt: 'warm' });
    await signLegacy(t, 'warm/agent', img.digest, release.privateKey);
    await signLegacy(t, 'warm/agent', img.digest, other.privateKey, { append: true });
    const ws = signedWorkspace(one('warm/agent', 'v1'));

    let mark = (await settledAccessLog(ctx.reg)).length;
    expect((await runLock(ws.dir)).exitCode).toBe(0);
    let log = (await settledAccessLog(ctx.reg)).slice(mark);
    expect(signatureReads(log, 'warm/agent').length).toBeGreaterThan(0);
    const text = ws.lockText();

    mark = (await settledAccessLog(ctx.reg)).length;
    const warm = await runLock(ws.dir);
    log = (await settledAccessLog(ctx.reg)).slice(mark);
    expect(warm.exitCode).toBe(0);
    expect(warm.written).toBe(false);
    expect(ws.lockText()).toBe(text);
    expect(log.filter((e) => e.path.startsWith('/v2/warm/agent/')).length).toBeGreaterThan(0); // it did ask where the tag points
    expect(signatureReads(log, 'warm/agent')).toEqual([]);

    // Another key in the spec: the pin is verified again, with it, and the lock says so.
    installKey(ws, other);
    mark = (await settledAccessLog(ctx.reg)).length;
    const rekeyed = await runLock(ws.dir);
    log = (await settledAccessLog(ctx.reg)).slice(mark);
    expect(rekeyed.exitCode).toBe(0);
    expect(signatureReads(log, 'warm/agent').length).toBeGreaterThan(0);
    expect(rekeyed.lock.images.agent).toMatchObject({ digest: img.digest, verifiedBy: other.fingerprint });
    expect(ws.lockText()).toContain(`verifiedBy: ${other.fingerprint}`);

    // A key that never signed it: exit 4, and the entry stays as the other key verified it.
    const stranger = generateCosignKeyPair();
    installKey(ws, stranger);
    const refused = await runLock(ws.dir);
    expect(refused.exitCode).toBe(4);
    expect(refused.failures[0]!.error.message).toContain(img.digest);
    expect(refused.lock.images.agent!.verifiedBy).toBe(other.fingerprint);
  });
});

describe("a held group's fallback release must be signed too", () => {
  const HOLD_FLEET: Record<string, SpecGroup> = {
    datacenter: { arch: 'x86_64', hosts: ['web-01'] },
    riscv: { arch: 'riscv64', hosts: ['rv-01'], onMissing: 'hold' },
  };
  const WITH_RISCV = [...PLATFORMS, { os: 'linux', architecture: 'riscv64' }];
  const tracked = (repo: string): SignedSpec => ({
    images: { agent: { ref: `${ctx.reg.host}/${repo}`, track: '>=0.9.0', verify: { cosign: { key: KEY_PATH } } } },
    fleet: HOLD_FLEET,
  });

  it('skips an unsigned earlier release and holds the group on the newest signed one that ships its platform', async () => {
    const repo = 'held/agent';
    const v09 = await pushMultiArch(t, repo, 'v0.9.0', WITH_RISCV, { salt: 'held-0.9' });
    await signLegacy(t, repo, v09.digest, release.privateKey);
    await pushMultiArch(t, repo, 'v1.0.0', WITH_RISCV, { salt: 'held-1.0' }); // ships riscv64, unsigned
    const v11 = await pushMultiArch(t, repo, 'v1.1.0', PLATFORMS, { salt: 'held-1.1' });
    await signLegacy(t, repo, v11.digest, release.privateKey);

    const r = await runLock(signedWorkspace(tracked(repo)).dir);
    expect(r.failures).toEqual([]);
    expect(r.exitCode).toBe(0);
    expect(r.lock.images.agent).toMatchObject({ tag: 'v1.1.0', digest: v11.digest, verifiedBy: release.fingerprint });
    expect(r.lock.fleet.riscv!.agent).toEqual({
      platform: 'linux/riscv64',
      digest: v09.images[2]!.digest,
      tag: 'v0.9.0',
      index: v09.digest,
      held: 'linux/riscv64 is not in v1.1.0',
    });
    expect(r.lock.fleet.datacenter!.agent).toEqual({ platform: 'linux/amd64', digest: v11.images[0]!.digest });
  });

  it('with no signed release that ships the platform, the image is not pinned: exit 4 naming the unsigned release', async () => {
    const repo = 'held/nosig';
    const v10 = await pushMultiArch(t, repo, 'v1.0.0', WITH_RISCV, { salt: 'nosig-1.0' }); // ships riscv64, unsigned
    const v11 = await pushMultiArch(t, repo, 'v1.1.0', PLATFORMS, { salt: 'nosig-1.1' });
    await signLegacy(t, repo, v11.digest, release.privateKey);

    const ws = signedWorkspace(tracked(repo));
    const r = await runLock(ws.dir);
    expect(r.exitCode).toBe(4);
    expect(r.failures).toHaveLength(1);
    const { error } = r.failures[0]!;
    expect(error).toBeInstanceOf(IntegrityError);
    expect(error.message).toContain('riscv');
    expect(error.message).toContain('v1.0.0');
    expect(error.message).toContain(`${ctx.reg.host}/${repo}@${v10.digest}`);
    expect(error.message).toContain('no signature found');
    expect(ws.lockExists()).toBe(false);

    // Signed, it is taken.
    await signLegacy(t, repo, v10.digest, release.privateKey);
    const again = await runLock(ws.dir);
    expect(again.exitCode).toBe(0);
    expect(again.lock.fleet.riscv!.agent).toMatchObject({ tag: 'v1.0.0', digest: v10.images[2]!.digest });
  });
});
