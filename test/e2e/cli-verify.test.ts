/**
 * End to end: the BUILT CLI's `verify` (human ✓/✗ lines, `--json`, `--markdown`) and `lock` with a
 * signature policy, against a real registry, with cosign signatures written as cosign stores them.
 * Exit codes 0 (the lock holds), 1 (drift), 2 (a bad key file), 4 (trust); output on stdout only.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli, STACK } from '../helpers/cli.js';
import { generateCosignKeyPair, signLegacy, type KeyPair } from '../helpers/cosign.js';
import { pushMultiArch, type MultiArchResult } from '../helpers/push.js';
import { emptyDockerConfigDir, workspace, type SpecGroup, type SpecImage, type Workspace, useRegistry } from '../helpers/workspace.js';

const PLATFORMS = [
  { os: 'linux', architecture: 'amd64' },
  { os: 'linux', architecture: 'arm64' },
  { os: 'linux', architecture: 'arm', variant: 'v7' },
];
const FLEET: Record<string, SpecGroup> = {
  datacenter: { arch: 'x86_64', hosts: ['web-01', 'web-02'] },
  edge: { arch: 'armv7l', hosts: ['gw-01'] },
};
const KEY_PATH = 'keys/release.pub';

type VerifiedImage = SpecImage & { verify?: { cosign: { key: string } } };
const signed = (ref: string, tag: string): VerifiedImage => ({ ref, tag, verify: { cosign: { key: KEY_PATH } } });

const ctx = useRegistry();
let env: NodeJS.ProcessEnv;
let release: KeyPair;

interface Fixture {
  ws: Workspace;
  agent: MultiArchResult;
  tools: MultiArchResult;
}
/** Three locked workspaces: one that holds, one whose `tools` tag moved, one whose `agent` signature was replaced. */
let good: Fixture;
let drift: Fixture & { moved: MultiArchResult };
let trust: Fixture;

const cli = (ws: Workspace, ...args: string[]) => runCli(args, ws.dir, env);

function writeKey(ws: Workspace, key: KeyPair): void {
  const file = join(ws.dir, KEY_PATH);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, key.pem);
}

async function fixture(name: string): Promise<Fixture> {
  const t = { url: ctx.reg.url };
  const agent = await pushMultiArch(t, `${name}/agent`, 'v1', PLATFORMS, { salt: `${name}-agent` });
  await signLegacy(t, `${name}/agent`, agent.digest, release.privateKey);
  const tools = await pushMultiArch(t, `${name}/tools`, 't1', PLATFORMS, { salt: `${name}-tools` });
  const images: Record<string, VerifiedImage> = {
    agent: signed(`${ctx.reg.host}/${name}/agent`, 'v1'),
    tools: { ref: `${ctx.reg.host}/${name}/tools`, tag: 't1' },
  };
  const ws = workspace({ images, fleet: FLEET });
  writeKey(ws, release);
  const locked = await cli(ws, 'lock');
  expect(locked.stderr).toBe('');
  expect(locked.code).toBe(0);
  expect(ws.lockText()).toContain(`verifiedBy: ${release.fingerprint}`);
  return { ws, agent, tools };
}

beforeAll(async () => {
  env = { DOCKER_CONFIG: emptyDockerConfigDir() };
  release = generateCosignKeyPair();
  const t = { url: ctx.reg.url };
  good = await fixture('good');
  const d = await fixture('drift');
  drift = { ...d, moved: await pushMultiArch(t, 'drift/tools', 't1', PLATFORMS, { salt: 'drift-tools-2' }) };
  trust = await fixture('trust');
  await signLegacy(t, 'trust/agent', trust.agent.digest, generateCosignKeyPair().privateKey);
});

describe('lg-pins verify: the lock holds (exit 0)', () => {
  it('prints a ✓ line per image and the verdict, on stdout only, and writes nothing', async () => {
    const before = good.ws.lockText();
    const r = await cli(good.ws, 'verify');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      [
        '✓ agent v1: 4 digests checked, tag unchanged, signature verified',
        '✓ tools t1: 4 digests checked, tag unchanged, signature not required',
        '',
        'The lock holds: every pinned digest is served as written.',
        '',
      ].join('\n'),
    );
    expect(good.ws.lockText()).toBe(before);
  });

  it('--json: ok, the images and no findings', async () => {
    const r = await cli(good.ws, 'verify', '--json');
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    const j = JSON.parse(r.stdout) as { ok: boolean; lockFile: string; images: Array<Record<string, unknown>>; findings: unknown[] };
    expect(j.ok).toBe(true);
    expect(j.findings).toEqual([]);
    expect(j.lockFile).toBe(good.ws.lockFile);
    expect(j.images.map((i) => [i.image, i.signature, i.tagOk, i.digests])).toEqual([
      ['agent', 'verified', true, 4],
      ['tools', 'not required', true, 4],
    ]);
  });

  it('--markdown: one table of images, no findings table', async () => {
    const r = await cli(good.ws, 'verify', '--markdown');
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toBe('| image | tag | digests | tag at pin | signature | mirrors |');
    expect(lines[1]).toBe('|---|---|---|---|---|---|');
    expect(lines).toContain('| `agent` | `v1` | 4 | yes | verified | — |');
    expect(lines).toContain('| `tools` | `t1` | 4 | yes | not required | — |');
    expect(r.stdout).not.toContain('| image | problem | detail |');
    expect(r.stdout).toContain('The lock holds');
  });
});

describe('lg-pins verify: drift (exit 1)', () => {
  it('a moved tag: ✗ with the problem under it, the other image still ✓', async () => {
    const r = await cli(drift.ws, 'verify');
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('');
    const lines = r.stdout.split('\n');
    expect(lines).toContain('✓ agent v1: 4 digests checked, tag unchanged, signature verified');
    expect(lines).toContain('✗ tools t1: 4 digests checked, tag NOT at the pin, signature not required');
    const problem = lines[lines.indexOf('✗ tools t1: 4 digests checked, tag NOT at the pin, signature not required') + 1]!;
    expect(problem).toMatch(/^ {4}tag moved: /);
    expect(problem).toContain(`now points at ${drift.moved.digest}, not the pinned ${drift.tools.digest}`);
    expect(problem).toContain('garbage-collect');
    expect(r.stdout).toContain('1 problem found (exit 1).');
  });

  it('--json: ok false, one finding of kind tag-moved', async () => {
    const r = await cli(drift.ws, 'verify', '--json');
    expect(r.code).toBe(1);
    const j = JSON.parse(r.stdout) as { ok: boolean; findings: Array<Record<string, unknown>> };
    expect(j.ok).toBe(false);
    expect(j.findings).toEqual([
      {
        image: 'tools',
        kind: 'tag-moved',
        exitCode: 1,
        digest: drift.tools.digest,
        message: expect.stringContaining(drift.moved.digest) as string,
      },
    ]);
  });

  it('--markdown: the image row says the tag is not at its pin, and a findings table names the problem', async () => {
    const r = await cli(drift.ws, 'verify', '--markdown');
    expect(r.code).toBe(1);
    const lines = r.stdout.split('\n');
    expect(lines).toContain('| `tools` | `t1` | 4 | **no** | not required | — |');
    expect(lines).toContain('| image | problem | detail |');
    const row = lines.find((l) => l.startsWith('| `tools` | tag moved | '));
    expect(row).toContain(drift.moved.digest);
    expect(r.stdout).toContain('1 problem found (exit 1).');
  });

  it('no lock yet: exit 1', async () => {
    const ws = workspace({ images: { agent: { ref: `${ctx.reg.host}/good/agent`, tag: 'v1' } }, fleet: FLEET });
    const r = await cli(ws, 'verify', '--json');
    expect(r.code).toBe(1);
    const j = JSON.parse(r.stdout) as { ok: boolean; findings: Array<{ kind: string }> };
    expect(j.ok).toBe(false);
    expect(j.findings.map((f) => f.kind)).toEqual(['no-lock']);
    expect(ws.lockExists()).toBe(false);
  });
});

describe('lg-pins verify: trust (exit 4)', () => {
  it('a signature that no longer verifies: ✗ signature failed, exit 4', async () => {
    const r = await cli(trust.ws, 'verify');
    expect(r.code).toBe(4);
    expect(r.stderr).toBe('');
    const lines = r.stdout.split('\n');
    const head = lines.indexOf('✗ agent v1: 4 digests checked, tag unchanged, signature failed');
    expect(head).toBeGreaterThanOrEqual(0);
    expect(lines[head + 1]).toMatch(/^ {4}signature: /);
    expect(lines[head + 1]).toContain(`${ctx.reg.host}/trust/agent@${trust.agent.digest}`);
    expect(lines).toContain('✓ tools t1: 4 digests checked, tag unchanged, signature not required');
    expect(r.stdout).toContain('1 problem found (exit 4).');
  });

  it('--json and --markdown say the same', async () => {
    const j = await cli(trust.ws, 'verify', '--json');
    expect(j.code).toBe(4);
    const doc = JSON.parse(j.stdout) as { ok: boolean; findings: Array<{ image: string; kind: string; exitCode: number; digest: string }> };
    expect(doc.ok).toBe(false);
    expect(doc.findings.map((f) => [f.image, f.kind, f.exitCode, f.digest])).toEqual([['agent', 'signature', 4, trust.agent.digest]]);
    const md = await cli(trust.ws, 'verify', '--markdown');
    expect(md.code).toBe(4);
    expect(md.stdout).toContain('| `agent` | `v1` | 4 | yes | failed | — |');
    expect(md.stdout.split('\n').some((l) => l.startsWith('| `agent` | signature | '))).toBe(true);
  });
});

describe('lg-pins lock with a signature policy', () => {
  it('refuses an unsigned image: exit 4, the reason on stderr, no lock written', async () => {
    await pushMultiArch({ url: ctx.reg.url }, 'unsigned/agent', 'v1', PLATFORMS, { salt: 'unsigned' });
    const ws = workspace({ images: { agent: signed(`${ctx.reg.host}/unsigned/agent`, 'v1') }, fleet: FLEET });
    writeKey(ws, release);
    const r = await cli(ws, 'lock');
    expect(r.code).toBe(4);
    expect(r.stderr).toContain(`error: agent: ${ctx.reg.host}/unsigned/agent@sha256:`);
    expect(r.stderr).toContain('no signature found');
    expect(r.stderr).not.toMatch(STACK);
    expect(ws.lockExists()).toBe(false);
  });

  it('a key file that is not a P-256 public key: exit 2 naming the key path', async () => {
    const ws = workspace({ images: { agent: signed(`${ctx.reg.host}/good/agent`, 'v1') }, fleet: FLEET });
    mkdirSync(join(ws.dir, 'keys'));
    writeFileSync(join(ws.dir, KEY_PATH), 'not a key\n');
    const r = await cli(ws, 'verify');
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('images.agent.verify.cosign.key');
    expect(r.stderr).toContain(`"${KEY_PATH}"`);
    expect(r.stderr).not.toMatch(STACK);
    expect(readFileSync(join(ws.dir, KEY_PATH), 'utf8')).toBe('not a key\n');
  });
});
