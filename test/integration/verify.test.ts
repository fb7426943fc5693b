/**
 * `verify` against real registries: a registry with deletes enabled, plus two more registries as
 * mirrors (`registries.<host>.mirrors`): one copied byte for byte with every platform (blobs and
 * manifests by digest through the API), one holding a single platform and no index, as
 * `docker pull` + `docker push` leaves it. Exit 0 when the lock holds; 1 on drift (moved tag,
 * vanished digest, incomplete mirror); 4 on integrity or trust failures; 3 when a registry cannot
 * be reached; 1 with no lock. Verify writes nothing.
 */
import { mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lock } from '../../src/run/lock.js';
import { verify, type Finding, type VerifyResult } from '../../src/run/verify.js';
import { generateCosignKeyPair, getManifest, signLegacy, type KeyPair } from '../helpers/cosign.js';
import { startProxy, tamperJson, type TamperingProxy } from '../helpers/proxy.js';
import {
  ACCEPT_ALL,
  deleteManifest,
  pushBlob,
  pushManifest,
  pushMultiArch,
  type MultiArchResult,
  type PushTarget,
} from '../helpers/push.js';
import { freePort, startRegistry, type TestRegistry } from '../helpers/registry.js';
import { workspace, type SpecGroup, type SpecImage, type Workspace, useRegistry } from '../helpers/workspace.js';

const PLATFORMS = [
  { os: 'linux', architecture: 'amd64' },
  { os: 'linux', architecture: 'arm64' },
  { os: 'linux', architecture: 'arm', variant: 'v7' },
];
const FLEET: Record<string, SpecGroup> = {
  datacenter: { arch: 'x86_64', hosts: ['web-01'] },
  edge: { arch: 'armv7l', hosts: ['gw-01'] },
};
const KEY_PATH = 'keys/release.pub';

type VerifiedImage = SpecImage & { verify?: { cosign: { key: string } } };
interface VerifySpec {
  images: Record<string, VerifiedImage>;
  fleet?: Record<string, SpecGroup>;
  registries?: Record<string, { insecure?: boolean; mirrors?: string[] }>;
}

const ctx = useRegistry({ deleteEnabled: true });
let t: PushTarget;
let full: TestRegistry;
let single: TestRegistry;
let release: KeyPair;
const proxies: TamperingProxy[] = [];

beforeAll(async () => {
  t = { url: ctx.reg.url };
  release = generateCosignKeyPair();
  [full, single] = await Promise.all([startRegistry(), startRegistry()]);
});

afterAll(async () => {
  await Promise.all([full?.stop(), single?.stop(), ...proxies.map((p) => p.stop())]);
});

const options = (cwd: string) => ({ cwd, client: { credentials: ctx.anonymous } });

function specFor(host: string, repo: string, tag: string, opts: { signed?: boolean; mirrors?: string[] } = {}): VerifySpec {
  const image: VerifiedImage = { ref: `${host}/${repo}`, tag, ...(opts.signed ? { verify: { cosign: { key: KEY_PATH } } } : {}) };
  return { images: { agent: image }, fleet: FLEET, ...(opts.mirrors ? { registries: { [host]: { mirrors: opts.mirrors } } } : {}) };
}

/** A workspace for `spec` (with the release key installed), locked with exit 0. */
async function locked(spec: VerifySpec): Promise<Workspace> {
  const ws = workspace(spec);
  const file = join(ws.dir, KEY_PATH);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, release.pem);
  const r = await lock(options(ws.dir));
  expect(r.failures).toEqual([]);
  expect(r.exitCode).toBe(0);
  return ws;
}

/** Every file under `dir` with its bytes and mtime: verify must leave all of it as it was. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(dir, { recursive: true }) as string[]) {
    const p = join(dir, name);
    const st = statSync(p);
    out[name] = st.isDirectory() ? 'dir' : `${st.mtimeMs} ${readFileSync(p, 'base64')}`;
  }
  return out;
}

/** Run verify and check it wrote nothing. */
async function runVerify(ws: Workspace): Promise<VerifyResult> {
  const before = snapshot(ws.dir);
  const r = await verify(options(ws.dir));
  expect(snapshot(ws.dir)).toEqual(before);
  return r;
}

const kinds = (r: VerifyResult) => r.findings.map((f) => f.kind);

async function copyBlob(from: PushTarget, fromRepo: string, to: PushTarget, toRepo: string, digest: string): Promise<void> {
  const res = await fetch(`${from.url}/v2/${fromRepo}/blobs/${digest}`);
  const bytes = new Uint8Array(await res.arrayBuffer());
  if (res.status !== 200) throw new Error(`GET blob ${fromRepo}@${digest}: ${res.status}`);
  expect((await pushBlob(to, toRepo, bytes)).digest).toBe(digest);
}

/** Copy a manifest by digest, byte for byte, with everything it references (children, config, layers). */
async function copyByDigest(
  from: PushTarget,
  fromRepo: string,
  to: PushTarget,
  toRepo: string,
  digest: string,
  tag?: string,
): Promise<void> {
  const m = await getManifest(from, fromRepo, digest, ACCEPT_ALL);
  if (!m) throw new Error(`${fromRepo}@${digest} is not there to copy`);
  const body = JSON.parse(Buffer.from(m.bytes).toString('utf8')) as {
    manifests?: Array<{ digest: string }>;
    config?: { digest: string };
    layers?: Array<{ digest: string }>;
  };
  for (const child of body.manifests ?? []) await copyByDigest(from, fromRepo, to, toRepo, child.digest);
  for (const blob of [...(body.config ? [body.config] : []), ...(body.layers ?? [])])
    await copyBlob(from, fromRepo, to, toRepo, blob.digest);
  expect((await pushManifest(to, toRepo, digest, m.bytes, m.contentType)).digest).toBe(digest);
  if (tag) await pushManifest(to, toRepo, tag, m.bytes, m.contentType);
}

describe('the lock holds', () => {
  it('exit 0 after lock: every digest served, the tag at its pin, the signature verified, the mirror complete', async () => {
    const img = await pushMultiArch(t, 'v/ok', 'v1', PLATFORMS, { salt: 'ok', attestations: true });
    await signLegacy(t, 'v/ok', img.digest, release.privateKey);
    await copyByDigest(t, 'v/ok', { url: full.url }, 'copy/v/ok', img.digest);
    const ws = await locked(specFor(ctx.reg.host, 'v/ok', 'v1', { signed: true, mirrors: [`${full.host}/copy`] }));
    const r = await runVerify(ws);
    expect(r.findings).toEqual([]);
    expect(r.exitCode).toBe(0);
    expect(r.lockFile).toBe(ws.lockFile);
    expect(r.images).toEqual([
      {
        image: 'agent',
        ref: `${ctx.reg.host}/v/ok`,
        tag: 'v1',
        digests: 4,
        tagOk: true,
        signature: 'verified',
        mirrors: [{ mirror: `${full.host}/copy`, complete: true }],
      },
    ]);
  });
});

describe('drift: exit 1', () => {
  it('a re-published tag: names where the tag points now and that the pinned digest may be garbage-collected', async () => {
    const old = await pushMultiArch(t, 'v/moved', 'v1', PLATFORMS, { salt: 'moved-1' });
    const ws = await locked(specFor(ctx.reg.host, 'v/moved', 'v1'));
    const now = await pushMultiArch(t, 'v/moved', 'v1', PLATFORMS, { salt: 'moved-2' });
    const r = await runVerify(ws);
    expect(r.exitCode).toBe(1);
    expect(r.findings).toHaveLength(1);
    const f = r.findings[0]!;
    expect(f).toMatchObject({ image: 'agent', kind: 'tag-moved', exitCode: 1, digest: old.digest });
    expect(f.message).toContain(`${ctx.reg.host}/v/moved:v1 now points at ${now.digest}`);
    expect(f.message).toContain(`not the pinned ${old.digest}`);
    expect(f.message).toContain('garbage-collect');
    expect(r.images[0]).toMatchObject({ tagOk: false, digests: 4, signature: 'not required' });
  });

  it('a pinned platform digest deleted from the registry: names it', async () => {
    const img = await pushMultiArch(t, 'v/deleted', 'v1', PLATFORMS, { salt: 'deleted' });
    const ws = await locked(specFor(ctx.reg.host, 'v/deleted', 'v1'));
    const arm64 = img.images[1]!.digest;
    await deleteManifest(t, 'v/deleted', arm64);
    const r = await runVerify(ws);
    expect(r.exitCode).toBe(1);
    expect(r.findings).toEqual([
      {
        image: 'agent',
        kind: 'missing',
        exitCode: 1,
        digest: arm64,
        message: expect.stringContaining(`${ctx.reg.host}/v/deleted@${arm64} (v1 linux/arm64/v8) is no longer served`) as string,
      },
    ]);
    expect(r.images[0]!.tagOk).toBe(true);
  });

  it('a deleted index: the pinned digest and the tag are both gone', async () => {
    const img = await pushMultiArch(t, 'v/gone', 'v1', PLATFORMS, { salt: 'gone' });
    const ws = await locked(specFor(ctx.reg.host, 'v/gone', 'v1'));
    await deleteManifest(t, 'v/gone', img.digest);
    const r = await runVerify(ws);
    expect(r.exitCode).toBe(1);
    expect(kinds(r)).toEqual(['missing', 'missing']);
    expect(r.findings[0]!.message).toContain(`${ctx.reg.host}/v/gone@${img.digest} (v1 index) is no longer served`);
    expect(r.findings[1]!.message).toContain(`${ctx.reg.host}/v/gone:v1 no longer exists`);
    expect(r.findings.every((f) => f.digest === img.digest)).toBe(true);
  });

  it('a held pin is verified too: its deleted digest is drift, named with the group holding it', async () => {
    const riscv = [...PLATFORMS.slice(0, 1), { os: 'linux', architecture: 'riscv64' }];
    const v1 = await pushMultiArch(t, 'v/held', 'v1.0.0', riscv, { salt: 'held-1' });
    await pushMultiArch(t, 'v/held', 'v1.1.0', PLATFORMS.slice(0, 1), { salt: 'held-2' });
    const ws = await locked({
      images: { agent: { ref: `${ctx.reg.host}/v/held`, track: '^1.0.0' } },
      fleet: { datacenter: FLEET.datacenter!, riscv: { arch: 'riscv64', hosts: ['rv-01'], onMissing: 'hold' } },
    });
    expect(ws.lockText()).toContain('held: linux/riscv64 is not in v1.1.0');
    expect((await runVerify(ws)).exitCode).toBe(0);
    const heldDigest = v1.images[1]!.digest;
    await deleteManifest(t, 'v/held', heldDigest);
    const r = await runVerify(ws);
    expect(r.exitCode).toBe(1);
    expect(r.findings).toHaveLength(1);
    expect(r.findings[0]).toMatchObject({ kind: 'missing', digest: heldDigest });
    expect(r.findings[0]!.message).toContain('v1.0.0 linux/riscv64 (held by riscv)');
  });

  it('an incomplete mirror: names the mirror and each missing digest; the complete mirror is reported complete', async () => {
    const img = await pushMultiArch(t, 'v/mirrored', 'v1', PLATFORMS, { salt: 'mirrored', attestations: true });
    await copyByDigest(t, 'v/mirrored', { url: full.url }, 'copy/v/mirrored', img.digest);
    // docker pull + docker push: one platform, under the tag, and no index.
    const amd64 = img.images[0]!.digest;
    await copyByDigest(t, 'v/mirrored', { url: single.url }, 'v/mirrored', amd64, 'v1');
    const mirrors = [`${full.host}/copy`, single.host];
    const ws = await locked(specFor(ctx.reg.host, 'v/mirrored', 'v1', { mirrors }));
    const r = await runVerify(ws);
    expect(r.exitCode).toBe(1);
    const missing = [img.digest, img.images[1]!.digest, img.images[2]!.digest];
    expect(r.findings.map((f) => f.digest).sort()).toEqual([...missing].sort());
    for (const f of r.findings) {
      expect(f).toMatchObject({ image: 'agent', kind: 'mirror', exitCode: 1, mirror: single.host });
      expect(f.message).toContain(`mirror ${single.host} lacks ${f.digest}`);
    }
    const byDigest = (d: string) => r.findings.find((f) => f.digest === d)!;
    expect(byDigest(img.digest).message).toContain('(v1 index)');
    expect(byDigest(img.images[2]!.digest).message).toContain('(v1 linux/arm/v7)');
    expect(r.images[0]!.mirrors).toEqual([
      { mirror: `${full.host}/copy`, complete: true },
      { mirror: single.host, complete: false },
    ]);
    expect(r.images[0]!.tagOk).toBe(true);
  });

  it("judges the lock as written: a spec whose ref changed since is not drift of the old pin (the spec's key still applies)", async () => {
    const img = await pushMultiArch(t, 'v/renamed-old', 'v1', PLATFORMS, { salt: 'renamed-old' });
    await signLegacy(t, 'v/renamed-old', img.digest, release.privateKey);
    await pushMultiArch(t, 'v/renamed-new', 'v1', PLATFORMS, { salt: 'renamed-new' });
    const ws = await locked(specFor(ctx.reg.host, 'v/renamed-old', 'v1', { signed: true }));
    ws.writeSpec(specFor(ctx.reg.host, 'v/renamed-new', 'v1', { signed: true }));
    const r = await runVerify(ws);
    expect(r.findings).toEqual([]);
    expect(r.exitCode).toBe(0);
    expect(r.images[0]).toMatchObject({ ref: `${ctx.reg.host}/v/renamed-old`, tagOk: true, signature: 'verified' });
    await signLegacy(t, 'v/renamed-old', img.digest, generateCosignKeyPair().privateKey);
    const resigned = await runVerify(ws);
    expect(resigned.exitCode).toBe(4);
    expect(kinds(resigned)).toEqual(['signature']);
    expect(resigned.findings[0]!.message).toContain(`${ctx.reg.host}/v/renamed-old@${img.digest}`);
  });

  it('no lock yet: exit 1, and no lock file is created', async () => {
    const ws = workspace(specFor(ctx.reg.host, 'v/nolock', 'v1'));
    const r = await runVerify(ws);
    expect(r.exitCode).toBe(1);
    expect(kinds(r)).toEqual(['no-lock']);
    expect(r.findings[0]!.message).toContain('no lock');
    expect(ws.lockExists()).toBe(false);
  });
});

describe('integrity and trust: exit 4', () => {
  it("a signature that no longer verifies (the .sig replaced by another key's)", async () => {
    const img = await pushMultiArch(t, 'v/resigned', 'v1', PLATFORMS, { salt: 'resigned' });
    await signLegacy(t, 'v/resigned', img.digest, release.privateKey);
    const ws = await locked(specFor(ctx.reg.host, 'v/resigned', 'v1', { signed: true }));
    expect((await runVerify(ws)).exitCode).toBe(0);
    await signLegacy(t, 'v/resigned', img.digest, generateCosignKeyPair().privateKey);
    const r = await runVerify(ws);
    expect(r.exitCode).toBe(4);
    expect(r.findings).toHaveLength(1);
    expect(r.findings[0]).toMatchObject({ image: 'agent', kind: 'signature', exitCode: 4, digest: img.digest });
    expect(r.findings[0]!.message).toContain(`${ctx.reg.host}/v/resigned@${img.digest}`);
    expect(r.findings[0]!.message).toContain('does not verify with this key');
    expect(r.images[0]).toMatchObject({ signature: 'failed', tagOk: true });
  });

  it('a manifest tampered with on the way (a proxy): the digest does not hash to itself', async () => {
    const proxy = await startProxy(ctx.reg.url);
    proxies.push(proxy);
    const img = await pushMultiArch(t, 'v/tampered', 'v1', PLATFORMS, { salt: 'tampered' });
    const ws = await locked(specFor(proxy.host, 'v/tampered', 'v1'));
    const arm64 = img.images[1]!.digest;
    proxy.hooks.push({
      match: (req) => req.method === 'GET' && req.path === `/v2/v/tampered/manifests/${arm64}`,
      rewrite: (res) =>
        tamperJson(res, (j) => {
          j.annotations = { injected: 'yes' };
        }),
    });
    const r = await runVerify(ws);
    expect(proxy.requests.some((q) => q.tampered && q.path.endsWith(arm64))).toBe(true);
    expect(r.exitCode).toBe(4);
    const f = r.findings.find((x) => x.kind === 'integrity') as Finding;
    expect(f).toMatchObject({ image: 'agent', exitCode: 4, digest: arm64 });
    expect(f.message).toContain(arm64);
    expect(r.findings.filter((x) => x.kind !== 'integrity')).toEqual([]);
  });

  it('a signature manifest served malformed (no digest header to catch it): a finding, not a crash', async () => {
    const proxy = await startProxy(ctx.reg.url);
    proxies.push(proxy);
    const img = await pushMultiArch(t, 'v/badsig', 'v1', PLATFORMS, { salt: 'badsig' });
    await signLegacy(t, 'v/badsig', img.digest, release.privateKey, { dockerReference: `${proxy.host}/v/badsig` });
    const ws = await locked(specFor(proxy.host, 'v/badsig', 'v1', { signed: true }));
    expect((await runVerify(ws)).exitCode).toBe(0);
    proxy.hooks.push({
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
    const r = await runVerify(ws);
    expect(r.exitCode).toBe(4);
    expect(r.findings).toHaveLength(1);
    expect(r.findings[0]).toMatchObject({ kind: 'signature', exitCode: 4, digest: img.digest });
    expect(r.findings[0]!.message).toContain(`sha256-${img.digest.slice(7)}.sig is not a valid manifest`);
  });
});

describe('unreachable: exit 3', () => {
  it('a registry that cannot be reached', async () => {
    const proxy = await startProxy(ctx.reg.url);
    await pushMultiArch(t, 'v/offline', 'v1', PLATFORMS, { salt: 'offline' });
    const ws = await locked(specFor(proxy.host, 'v/offline', 'v1'));
    await proxy.stop();
    const r = await runVerify(ws);
    expect(r.exitCode).toBe(3);
    expect(r.findings.length).toBeGreaterThan(0);
    for (const f of r.findings) {
      expect(f).toMatchObject({ image: 'agent', kind: 'unreachable', exitCode: 3 });
      expect(f.message).toContain(proxy.host);
    }
  });

  it('a mirror that cannot be reached', async () => {
    const img = await pushMultiArch(t, 'v/deadmirror', 'v1', PLATFORMS, { salt: 'deadmirror' });
    await copyByDigest(t, 'v/deadmirror', { url: full.url }, 'v/deadmirror', img.digest);
    const dead = `127.0.0.1:${await freePort()}`;
    const ws = await locked(specFor(ctx.reg.host, 'v/deadmirror', 'v1', { mirrors: [full.host, dead] }));
    const r = await runVerify(ws);
    expect(r.exitCode).toBe(3);
    expect(r.findings.length).toBeGreaterThan(0);
    for (const f of r.findings) expect(f).toMatchObject({ kind: 'unreachable', exitCode: 3, mirror: dead });
    expect(r.images[0]!.mirrors).toEqual([
      { mirror: full.host, complete: true },
      { mirror: dead, complete: false },
    ]);
  });
});

describe('several classes at once', () => {
  it('the highest code wins, and every finding is still listed', async () => {
    const img: MultiArchResult = await pushMultiArch(t, 'v/mixed', 'v1', PLATFORMS, { salt: 'mixed-1' });
    await signLegacy(t, 'v/mixed', img.digest, release.privateKey);
    await copyByDigest(t, 'v/mixed', { url: single.url }, 'v/mixed', img.images[0]!.digest);
    const ws = await locked(specFor(ctx.reg.host, 'v/mixed', 'v1', { signed: true, mirrors: [single.host] }));
    await pushMultiArch(t, 'v/mixed', 'v1', PLATFORMS, { salt: 'mixed-2' });
    await signLegacy(t, 'v/mixed', img.digest, release.privateKey, { signedDigest: img.images[0]!.digest });
    const r = await runVerify(ws);
    expect(r.exitCode).toBe(4);
    expect(new Set(kinds(r))).toEqual(new Set(['tag-moved', 'signature', 'mirror']));
    expect(r.findings.find((f) => f.kind === 'signature')!.message).toContain('another digest');
  });
});
