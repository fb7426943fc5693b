/**
 * `diff` against a real registry: every kind of change (tag-moved, release, added, removed, fleet),
 * per-platform changes, the groups that move and the ones held, cadences patch/minor/major with the
 * releases they pass over, exit codes 0/1/3. `diff` never writes, and `lock` run right after it
 * writes exactly the next lock `diff` showed.
 */
import { statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { diff, type DiffResult } from '../../src/run/diff.js';
import { lock } from '../../src/run/lock.js';
import { MT, pushBlob, pushManifest, pushMultiArch, pushPlatformImage, sha256, type Descriptor, type PushTarget } from '../helpers/push.js';
import { workspace, type SpecImage, type SpecInput, type Workspace, useRegistry } from '../helpers/workspace.js';

const P = {
  amd64: { os: 'linux', architecture: 'amd64' },
  arm64: { os: 'linux', architecture: 'arm64' },
  armv7: { os: 'linux', architecture: 'arm', variant: 'v7' },
  riscv64: { os: 'linux', architecture: 'riscv64' },
};
const FLEET: SpecInput['fleet'] = {
  datacenter: { arch: 'x86_64', hosts: ['web-01', 'web-02'] },
  'arm-servers': { arch: 'aarch64', hosts: ['arm-01'] },
};

const ctx = useRegistry();
const t = (): PushTarget => ({ url: ctx.reg.url });
const ref = (repo: string) => `${ctx.reg.host}/${repo}`;
const runDiff = (ws: Workspace) => diff({ cwd: ws.dir, client: { credentials: ctx.anonymous } });
const runLock = (ws: Workspace) => lock({ cwd: ws.dir, client: { credentials: ctx.anonymous } });

/** `diff` (asserting it wrote nothing), then `lock` (asserting it wrote exactly diff's next lock). */
async function diffThenLock(ws: Workspace): Promise<DiffResult> {
  const before = ws.lockExists() ? { text: ws.lockText(), mtime: statSync(ws.lockFile).mtimeMs } : undefined;
  const d = await runDiff(ws);
  expect(d.written).toBe(false);
  expect(ws.lockExists() ? { text: ws.lockText(), mtime: statSync(ws.lockFile).mtimeMs } : undefined).toEqual(before);
  const l = await runLock(ws);
  expect(l.text).toBe(d.text);
  expect(l.written).toBe(d.changed);
  expect(ws.lockText()).toBe(d.text);
  if (d.failures.length === 0) {
    const again = await runDiff(ws);
    expect(again.changes).toEqual([]);
    expect(again.exitCode).toBe(0);
  }
  return d;
}

async function lockedWorkspace(spec: SpecInput): Promise<Workspace> {
  const ws = workspace(spec);
  const r = await runLock(ws);
  expect(r.failures).toEqual([]);
  expect(ws.lockText()).toBe(r.text);
  return ws;
}

/** A buildx-style attestation for `subject`, `builder` making its content unique. */
async function attestation(repo: string, subject: Descriptor, builder: string): Promise<Descriptor> {
  const statement = {
    _type: 'https://in-toto.io/Statement/v0.1',
    subject: [{ digest: { sha256: subject.digest.slice(7) } }],
    predicate: { builder },
  };
  const layer = await pushBlob(t(), repo, new TextEncoder().encode(JSON.stringify(statement)));
  const cfg = await pushBlob(t(), repo, new TextEncoder().encode(JSON.stringify({ architecture: 'unknown', os: 'unknown' })));
  const manifest = {
    schemaVersion: 2,
    mediaType: MT.ociManifest,
    config: { mediaType: MT.ociConfig, ...cfg },
    layers: [{ mediaType: MT.inToto, ...layer }],
  };
  const bytes = new TextEncoder().encode(JSON.stringify(manifest));
  const pushed = await pushManifest(t(), repo, sha256(bytes), bytes, MT.ociManifest);
  return {
    mediaType: MT.ociManifest,
    digest: pushed.digest,
    size: pushed.size,
    platform: { os: 'unknown', architecture: 'unknown' },
    annotations: { 'vnd.docker.reference.digest': subject.digest, 'vnd.docker.reference.type': 'attestation-manifest' },
  };
}

const pushIndex = (repo: string, tag: string, manifests: Descriptor[]) =>
  pushManifest(t(), repo, tag, { schemaVersion: 2, mediaType: MT.ociIndex, manifests }, MT.ociIndex);

describe('tags that move', () => {
  it('a re-pushed tag is tag-moved: every platform changed, every group moves', async () => {
    const v1 = await pushMultiArch(t(), 'team/moved', 'stable', [P.amd64, P.arm64], { salt: 'm1' });
    const ws = await lockedWorkspace({ images: { app: { ref: ref('team/moved'), tag: 'stable' } }, fleet: FLEET });
    const v2 = await pushMultiArch(t(), 'team/moved', 'stable', [P.amd64, P.arm64], { salt: 'm2' });
    const d = await diffThenLock(ws);
    expect(d.exitCode).toBe(1);
    expect(d.changes).toEqual([
      {
        image: 'app',
        kind: 'tag-moved',
        from: { tag: 'stable', digest: v1.digest },
        to: { tag: 'stable', digest: v2.digest },
        platforms: { 'linux/amd64': 'changed', 'linux/arm64/v8': 'changed' },
        groups: ['arm-servers', 'datacenter'],
        held: [],
        moves: [
          {
            group: 'arm-servers',
            hosts: 1,
            from: { platform: 'linux/arm64/v8', digest: v1.images[1]!.digest },
            to: { platform: 'linux/arm64/v8', digest: v2.images[1]!.digest },
          },
          {
            group: 'datacenter',
            hosts: 2,
            from: { platform: 'linux/amd64', digest: v1.images[0]!.digest },
            to: { platform: 'linux/amd64', digest: v2.images[0]!.digest },
          },
        ],
      },
    ]);
    expect(d.patch).toContain(`-    digest: ${v1.digest}`);
    expect(d.patch).toContain(`+    digest: ${v2.digest}`);
  });

  it('an attestation-only re-push is tag-moved with every platform unchanged and no group moving', async () => {
    const v1 = await pushMultiArch(t(), 'team/attest', 'v1', [P.amd64, P.arm64], { salt: 'a1', attestations: true });
    const ws = await lockedWorkspace({ images: { app: { ref: ref('team/attest'), tag: 'v1' } }, fleet: FLEET });
    const before = ws.lockText();
    const atts = [await attestation('team/attest', v1.images[0]!, 'rebuilt'), await attestation('team/attest', v1.images[1]!, 'rebuilt')];
    const v2 = await pushIndex('team/attest', 'v1', [...v1.images, ...atts]);
    expect(v2.digest).not.toBe(v1.digest);
    const d = await diffThenLock(ws);
    expect(d.exitCode).toBe(1);
    expect(d.changes).toEqual([
      {
        image: 'app',
        kind: 'tag-moved',
        from: { tag: 'v1', digest: v1.digest },
        to: { tag: 'v1', digest: v2.digest },
        platforms: { 'linux/amd64': 'unchanged', 'linux/arm64/v8': 'unchanged' },
        groups: [],
        held: [],
        moves: [],
      },
    ]);
    expect(d.lock.fleet).toEqual(d.previous!.fleet);
    expect(ws.lockText().replace(v2.digest, v1.digest)).toBe(before);
  });
});

describe('releases', () => {
  it('a release that adds and removes platforms; a group whose platform digest is unchanged does not move', async () => {
    const v1 = await pushMultiArch(t(), 'team/plat', 'v1.0.0', [P.amd64, P.arm64, P.armv7], { salt: 'p1' });
    const ws = await lockedWorkspace({ images: { app: { ref: ref('team/plat'), track: '^1.0.0' } }, fleet: FLEET });
    const arm64 = await pushPlatformImage(t(), 'team/plat', P.arm64, { salt: 'p2' });
    const riscv = await pushPlatformImage(t(), 'team/plat', P.riscv64, { salt: 'p2' });
    const v2 = await pushIndex('team/plat', 'v1.1.0', [v1.images[0]!, arm64, riscv]);
    const d = await diffThenLock(ws);
    expect(d.exitCode).toBe(1);
    expect(d.changes).toHaveLength(1);
    expect(d.changes[0]).toMatchObject({
      image: 'app',
      kind: 'release',
      from: { tag: 'v1.0.0', digest: v1.digest },
      to: { tag: 'v1.1.0', digest: v2.digest },
      groups: ['arm-servers'],
      held: [],
    });
    expect(d.changes[0]!.platforms).toEqual({
      'linux/amd64': 'unchanged',
      'linux/arm/v7': 'removed',
      'linux/arm64/v8': 'changed',
      'linux/riscv64': 'added',
    });
    expect(d.passedOver).toEqual([]);
  });

  it('cadence patch/minor/major against v1.0.1, v1.1.0, v2.0.0 pushed in turn; range bounds apply', async () => {
    const repo = 'team/cad';
    const pushed: Record<string, string> = {};
    const release = async (tag: string) => (pushed[tag] = (await pushMultiArch(t(), repo, tag, [P.amd64], { salt: tag })).digest);
    await release('v1.0.0');
    const img = (track: string, cadence: 'patch' | 'minor' | 'major'): SpecImage => ({ ref: ref(repo), track, cadence });
    const ws = await lockedWorkspace({
      images: {
        patch: img('>=1.0.0', 'patch'),
        patch1: img('^1.0.0', 'patch'),
        minor: img('>=1.0.0', 'minor'),
        minor10: img('~1.0.0', 'minor'),
        major: img('>=1.0.0', 'major'),
        major1: img('^1.0.0', 'major'),
      },
      fleet: { datacenter: { arch: 'x86_64', hosts: ['web-01'] } },
    });
    const summary = async () => {
      const d = await runDiff(ws);
      expect(d.failures).toEqual([]);
      expect(d.written).toBe(false);
      for (const c of d.changes)
        expect(c).toMatchObject({
          kind: 'release',
          from: { tag: 'v1.0.0', digest: pushed['v1.0.0'] },
          to: { digest: pushed[c.to!.tag] },
          groups: ['datacenter'],
        });
      return {
        exitCode: d.exitCode,
        taken: Object.fromEntries(d.changes.map((c) => [c.image, c.to!.tag])),
        passedOver: Object.fromEntries(d.passedOver.map((p) => [p.image, `${p.tag} (keeps ${p.pinned}, ${p.cadence})`])),
      };
    };
    await release('v1.0.1');
    expect(await summary()).toEqual({
      exitCode: 1,
      taken: { patch: 'v1.0.1', patch1: 'v1.0.1' },
      passedOver: {
        minor: 'v1.0.1 (keeps v1.0.0, minor)',
        minor10: 'v1.0.1 (keeps v1.0.0, minor)',
        major: 'v1.0.1 (keeps v1.0.0, major)',
        major1: 'v1.0.1 (keeps v1.0.0, major)',
      },
    });
    await release('v1.1.0');
    expect(await summary()).toEqual({
      exitCode: 1,
      taken: { patch: 'v1.1.0', patch1: 'v1.1.0', minor: 'v1.1.0' },
      passedOver: {
        minor10: 'v1.0.1 (keeps v1.0.0, minor)',
        major: 'v1.1.0 (keeps v1.0.0, major)',
        major1: 'v1.1.0 (keeps v1.0.0, major)',
      },
    });
    await release('v2.0.0');
    expect(await summary()).toEqual({
      exitCode: 1,
      taken: { patch: 'v2.0.0', patch1: 'v1.1.0', minor: 'v2.0.0', major: 'v2.0.0' },
      passedOver: { minor10: 'v1.0.1 (keeps v1.0.0, minor)', major1: 'v1.1.0 (keeps v1.0.0, major)' },
    });
    const d = await diffThenLock(ws);
    // Passed-over releases are not changes: the images that did not move keep their entries exactly.
    expect(d.lock.images.minor10).toEqual(d.previous!.images.minor10);
    expect(d.lock.images.major1).toEqual(d.previous!.images.major1);
    const after = await runDiff(ws);
    expect(after.exitCode).toBe(0);
    expect(after.passedOver.map((p) => [p.image, p.tag]).sort()).toEqual([
      ['major1', 'v1.1.0'],
      ['minor10', 'v1.0.1'],
    ]);
  });

  it('holds a group when a release drops its platform, and releases it when a later one ships it again', async () => {
    const repo = 'team/hold';
    const v1 = await pushMultiArch(t(), repo, 'v1.0.0', [P.amd64, P.riscv64], { salt: 'h1' });
    const fleet: SpecInput['fleet'] = {
      datacenter: { arch: 'x86_64', hosts: ['web-01'] },
      'riscv-lab': { arch: 'riscv64', hosts: ['rv-01', 'rv-02'], onMissing: 'hold' },
    };
    const ws = await lockedWorkspace({ images: { agent: { ref: ref(repo), track: '^1.0.0' } }, fleet });
    const v2 = await pushMultiArch(t(), repo, 'v1.1.0', [P.amd64], { salt: 'h2' });
    const held = await diffThenLock(ws);
    expect(held.exitCode).toBe(1);
    expect(held.changes).toHaveLength(1);
    expect(held.changes[0]).toMatchObject({
      kind: 'release',
      from: { tag: 'v1.0.0' },
      to: { tag: 'v1.1.0', digest: v2.digest },
      platforms: { 'linux/amd64': 'changed', 'linux/riscv64': 'removed' },
      groups: ['datacenter'],
      held: [{ group: 'riscv-lab', hosts: 2, platform: 'linux/riscv64', tag: 'v1.0.0', reason: 'linux/riscv64 is not in v1.1.0' }],
    });
    expect(held.lock.fleet['riscv-lab']!.agent).toMatchObject({ digest: v1.images[1]!.digest, held: 'linux/riscv64 is not in v1.1.0' });

    const v3 = await pushMultiArch(t(), repo, 'v1.2.0', [P.amd64, P.riscv64], { salt: 'h3' });
    const released = await diffThenLock(ws);
    expect(released.changes).toHaveLength(1);
    expect(released.changes[0]).toMatchObject({
      kind: 'release',
      from: { tag: 'v1.1.0' },
      to: { tag: 'v1.2.0', digest: v3.digest },
      platforms: { 'linux/amd64': 'changed', 'linux/riscv64': 'added' },
      groups: ['datacenter', 'riscv-lab'],
      held: [],
    });
    const move = released.changes[0]!.moves.find((m) => m.group === 'riscv-lab');
    expect(move).toEqual({
      group: 'riscv-lab',
      hosts: 2,
      from: {
        platform: 'linux/riscv64',
        digest: v1.images[1]!.digest,
        tag: 'v1.0.0',
        index: v1.digest,
        held: 'linux/riscv64 is not in v1.1.0',
      },
      to: { platform: 'linux/riscv64', digest: v3.images[1]!.digest },
    });
  });
});

describe('the spec changes', () => {
  it('images added (also before any lock) and removed', async () => {
    const a = await pushMultiArch(t(), 'team/one', 'v1', [P.amd64, P.arm64], { salt: 'one' });
    const b = await pushMultiArch(t(), 'team/two', 'v1', [P.amd64, P.arm64], { salt: 'two' });
    const ws = workspace({ images: { one: { ref: ref('team/one'), tag: 'v1' } }, fleet: FLEET });
    const first = await diffThenLock(ws);
    expect(first.changes).toEqual([
      expect.objectContaining({ image: 'one', kind: 'added', to: { tag: 'v1', digest: a.digest }, groups: ['arm-servers', 'datacenter'] }),
    ]);
    expect(first.changes[0]!.from).toBeUndefined();
    expect(first.changes[0]!.platforms).toEqual({ 'linux/amd64': 'added', 'linux/arm64/v8': 'added' });

    ws.writeSpec({ images: { one: { ref: ref('team/one'), tag: 'v1' }, two: { ref: ref('team/two'), tag: 'v1' } }, fleet: FLEET });
    const added = await diffThenLock(ws);
    expect(added.exitCode).toBe(1);
    expect(added.changes.map((c) => [c.image, c.kind, c.groups])).toEqual([['two', 'added', ['arm-servers', 'datacenter']]]);
    expect(added.changes[0]!.to).toEqual({ tag: 'v1', digest: b.digest });

    ws.writeSpec({ images: { two: { ref: ref('team/two'), tag: 'v1' } }, fleet: FLEET });
    const removed = await diffThenLock(ws);
    expect(removed.changes).toHaveLength(1);
    expect(removed.changes[0]).toMatchObject({
      image: 'one',
      kind: 'removed',
      from: { tag: 'v1', digest: a.digest },
      groups: ['arm-servers', 'datacenter'],
    });
    expect(removed.changes[0]!.to).toBeUndefined();
    expect(removed.changes[0]!.platforms).toEqual({ 'linux/amd64': 'removed', 'linux/arm64/v8': 'removed' });
    expect(removed.lock.images.one).toBeUndefined();
  });

  it('a group added or removed is a fleet change; nothing changed is exit 0 with no changes', async () => {
    const v1 = await pushMultiArch(t(), 'team/fleet', 'v1', [P.amd64, P.arm64, P.armv7], { salt: 'fl' });
    const ws = await lockedWorkspace({ images: { app: { ref: ref('team/fleet'), tag: 'v1' } }, fleet: FLEET });
    const same = await runDiff(ws);
    expect(same).toMatchObject({ exitCode: 0, changes: [], changed: false, patch: '', passedOver: [], failures: [] });

    ws.writeSpec({
      images: { app: { ref: ref('team/fleet'), tag: 'v1' } },
      fleet: { ...FLEET, edge: { arch: 'armv7l', hosts: ['gw-01', 'gw-02', 'gw-03'] } },
    });
    const added = await diffThenLock(ws);
    expect(added.exitCode).toBe(1);
    expect(added.changes).toEqual([
      {
        image: 'app',
        kind: 'fleet',
        from: { tag: 'v1', digest: v1.digest },
        to: { tag: 'v1', digest: v1.digest },
        platforms: { 'linux/amd64': 'unchanged', 'linux/arm/v7': 'unchanged', 'linux/arm64/v8': 'unchanged' },
        groups: ['edge'],
        held: [],
        moves: [{ group: 'edge', hosts: 3, to: { platform: 'linux/arm/v7', digest: v1.images[2]!.digest } }],
      },
    ]);

    ws.writeSpec({
      images: { app: { ref: ref('team/fleet'), tag: 'v1' } },
      fleet: { datacenter: FLEET.datacenter!, edge: { arch: 'armv7l', hosts: ['gw-01'] } },
    });
    const removed = await diffThenLock(ws);
    expect(removed.changes.map((c) => [c.image, c.kind, c.groups])).toEqual([['app', 'fleet', ['arm-servers']]]);
    expect(removed.changes[0]!.moves).toHaveLength(1);
    expect(removed.changes[0]!.moves[0]).toMatchObject({
      group: 'arm-servers',
      from: { platform: 'linux/arm64/v8', digest: v1.images[1]!.digest },
    });
    expect(removed.changes[0]!.moves[0]!.to).toBeUndefined();
    expect(removed.lock.fleet['arm-servers']).toBeUndefined();
  });
});

describe('failures', () => {
  it("one image failing (missing tag) is exit 3 while the other image's change is still reported and locked", async () => {
    await pushMultiArch(t(), 'team/ok', 'v1', [P.amd64, P.arm64], { salt: 'ok1' });
    await pushMultiArch(t(), 'team/broken', 'v1', [P.amd64, P.arm64], { salt: 'br1' });
    const ws = await lockedWorkspace({
      images: { ok: { ref: ref('team/ok'), tag: 'v1' }, broken: { ref: ref('team/broken'), tag: 'v1' } },
      fleet: FLEET,
    });
    const brokenBefore = (await runLock(ws)).lock.images.broken;
    const moved = await pushMultiArch(t(), 'team/ok', 'v1', [P.amd64, P.arm64], { salt: 'ok2' });
    ws.writeSpec({
      images: { ok: { ref: ref('team/ok'), tag: 'v1' }, broken: { ref: ref('team/broken'), tag: 'v9-missing' } },
      fleet: FLEET,
    });
    const d = await diffThenLock(ws);
    expect(d.exitCode).toBe(3);
    expect(d.failures.map((f) => [f.image, f.error.exitCode])).toEqual([['broken', 3]]);
    expect(d.failures[0]!.error.message).toContain('"v9-missing"');
    expect(d.changes.map((c) => [c.image, c.kind, c.to?.digest])).toEqual([['ok', 'tag-moved', moved.digest]]);
    expect(d.lock.images.broken).toEqual(brokenBefore);
  });
});
