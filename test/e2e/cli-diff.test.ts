/**
 * End to end: the BUILT CLI's `diff` (table, `--json`, `--markdown`) and `check` against a real
 * registry, as a user or a pull-request job runs them: exit codes, output on stdout only, full
 * digests and the spec's notes in Markdown, the lock's unified diff, and broken specs (exit 2).
 */
import { writeFileSync } from 'node:fs';
import { applyPatch } from 'diff';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli, STACK } from '../helpers/cli.js';
import { pushMultiArch, type MultiArchResult } from '../helpers/push.js';
import { emptyDockerConfigDir, workspace, type SpecInput, type Workspace, useRegistry } from '../helpers/workspace.js';

const PLATFORMS = [
  { os: 'linux', architecture: 'amd64' },
  { os: 'linux', architecture: 'arm64' },
  { os: 'linux', architecture: 'arm', variant: 'v7' },
];
const KEYS = ['linux/amd64', 'linux/arm64/v8', 'linux/arm/v7'];

const ctx = useRegistry();
let env: NodeJS.ProcessEnv;
let ws: Workspace;
let v1: MultiArchResult;
let v2: MultiArchResult;
let lockedText: string;

const spec = (fleet: SpecInput['fleet'] = {}): SpecInput => ({
  images: {
    agent: { ref: `${ctx.reg.host}/team/agent`, track: '^1.0.0', notes: { 'linux/arm/v7': 'no eBPF' } },
  },
  fleet: {
    datacenter: { arch: 'x86_64', hosts: ['web-01', 'web-02'] },
    edge: { arch: 'armv7l', hosts: ['gw-01'] },
    ...fleet,
  },
});

const cli = (...args: string[]) => runCli(args, ws.dir, env);

beforeAll(async () => {
  env = { DOCKER_CONFIG: emptyDockerConfigDir() };
  v1 = await pushMultiArch({ url: ctx.reg.url }, 'team/agent', 'v1.0.0', PLATFORMS, { salt: 'v1', attestations: true });
  ws = workspace(spec());
  const locked = await cli('lock');
  expect(locked.code).toBe(0);
  lockedText = ws.lockText();
  v2 = await pushMultiArch({ url: ctx.reg.url }, 'team/agent', 'v1.1.0', PLATFORMS, { salt: 'v2', attestations: true });
});

describe('lg-pins diff', () => {
  it('exits 1 with a readable table of the release on stdout, and writes nothing', async () => {
    const r = await cli('diff');
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('');
    const lines = r.stdout.split('\n');
    expect(lines[0]).toBe('agent: release v1.0.0 → v1.1.0');
    expect(r.stdout).toContain(`  index  ${v1.digest.slice(0, 19)} → ${v2.digest.slice(0, 19)}`);
    expect(lines.find((l) => l.includes('PLATFORM'))).toMatch(/^ {2}PLATFORM\s+CHANGE\s+FROM\s+TO/);
    for (const [i, key] of KEYS.entries()) {
      const row = lines.find((l) => l.trimStart().startsWith(`${key} `));
      expect(row).toMatch(
        new RegExp(
          `^ {2}${key.replace(/\//g, '\\/')}\\s+changed\\s+${v1.images[i]!.digest.slice(0, 19)}\\s+${v2.images[i]!.digest.slice(0, 19)}`,
        ),
      );
    }
    expect(lines.find((l) => l.includes('linux/arm/v7 '))).toMatch(/no eBPF$/);
    expect(r.stdout).toContain('    datacenter (2 hosts): linux/amd64');
    expect(r.stdout).toContain('    edge (1 host): linux/arm/v7');
    expect(r.stdout).toMatch(/1 image would change; run `lg-pins lock` to apply\.\n$/);
    expect(ws.lockText()).toBe(lockedText);
  });

  it("--json prints one document in the contract's shape", async () => {
    const r = await cli('diff', '--json');
    expect(r.code).toBe(1);
    const doc = JSON.parse(r.stdout) as { changes: Array<Record<string, unknown>>; passedOver: unknown[]; failures: unknown[] };
    expect(doc.changes).toHaveLength(1);
    expect(doc.changes[0]).toMatchObject({
      image: 'agent',
      kind: 'release',
      from: { tag: 'v1.0.0', digest: v1.digest },
      to: { tag: 'v1.1.0', digest: v2.digest },
      platforms: { 'linux/amd64': 'changed', 'linux/arm/v7': 'changed', 'linux/arm64/v8': 'changed' },
      groups: ['datacenter', 'edge'],
      held: [],
    });
    expect(Object.keys(doc.changes[0]!.platforms as object).sort()).toEqual([...KEYS].sort());
    expect(doc.passedOver).toEqual([]);
    expect(doc.failures).toEqual([]);
  });

  it('--markdown has a table per image with full digests, notes beside their platform, and the lock diff', async () => {
    const r = await cli('diff', '--markdown');
    expect(r.code).toBe(1);
    const md = r.stdout;
    expect(md).toContain('### `agent`: release `v1.0.0` → `v1.1.0`');
    expect(md).toContain(`| before | \`v1.0.0\` | \`${v1.digest}\` |`);
    expect(md).toContain(`| after | \`v1.1.0\` | \`${v2.digest}\` |`);
    expect(md).toContain('| platform | change | before | after | note |');
    const row = (key: string) => md.split('\n').find((l) => l.startsWith(`| \`${key}\` |`));
    const i = KEYS.indexOf('linux/arm/v7');
    expect(row('linux/arm/v7')).toBe(
      `| \`linux/arm/v7\` | changed | \`${v1.images[i]!.digest}\` | \`${v2.images[i]!.digest}\` | no eBPF |`,
    );
    expect(row('linux/amd64')).toBe(`| \`linux/amd64\` | changed | \`${v1.images[0]!.digest}\` | \`${v2.images[0]!.digest}\` |  |`);
    for (const d of md.match(/sha256:[0-9a-f]+/g) ?? []) expect(d).toHaveLength(71);
    expect(md).toContain('| `edge` | 1 |');
    expect(md).toContain('2 groups and 3 hosts move.');
    const fence = /```diff\n([\s\S]*?)\n```/.exec(md);
    expect(fence).not.toBeNull();
    expect(fence![1]).toContain('-    tag: v1.0.0');
    expect(fence![1]).toContain('+    tag: v1.1.0');
    // The patch shown is exactly what `lock` then writes.
    const next = applyPatch(lockedText, `${fence![1]}\n`);
    expect(next).not.toBe(false);
    const locked = await cli('lock');
    expect(locked.code).toBe(0);
    expect(ws.lockText()).toBe(next);
    const after = await cli('diff');
    expect(after.code).toBe(0);
    expect(after.stdout).toBe('Nothing to change: the lock matches what the registries serve.\n');
  });
});

describe('lg-pins check', () => {
  it('exits 0 when the lock agrees, 1 naming what is stale on stdout', async () => {
    const ok = await cli('check');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toBe('lg-pins.lock.yaml agrees with lg-pins.yaml\n');
    ws.writeSpec(spec({ lab: { arch: 'aarch64', hosts: ['lab-01'] } }));
    const stale = await cli('check');
    expect(stale.code).toBe(1);
    expect(stale.stdout).toContain('lg-pins.lock.yaml is stale:\n  - group "lab" is in the spec but not in the lock\n');
    expect(stale.stderr).toBe('');
    const json = await cli('check', '--json');
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({
      ok: false,
      stale: [{ group: 'lab', message: 'group "lab" is in the spec but not in the lock' }],
    });
    ws.writeSpec(spec());
  });

  it('diff and check with a broken spec exit 2 naming the file, with no stack trace', async () => {
    const broken = workspace(spec());
    writeFileSync(broken.specFile, 'version: 1\nimages:\n  agent:\n    reff: nowhere\n');
    for (const cmd of ['diff', 'check']) {
      const r = await runCli([cmd], broken.dir, env);
      expect(r.code, cmd).toBe(2);
      expect(r.stdout, cmd).toBe('');
      expect(r.stderr, cmd).toContain('lg-pins.yaml:4:');
      expect(r.stderr, cmd).toContain('reff');
      expect(r.stderr, cmd).not.toMatch(STACK);
    }
  });
});
