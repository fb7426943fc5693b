/**
 * End to end: the BUILT CLI (`node bin/lg-pins.js`) as a user runs it, in a temp directory,
 * against a real distribution 2.8 registry: `lock`, `pins`, `inspect --json`, and a missing tag.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { pushMultiArch, MT, type MultiArchResult } from '../helpers/push.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { cleanupWorkspaces, emptyDockerConfigDir, workspace, type SpecInput, type Workspace } from '../helpers/workspace.js';

const execFileAsync = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = fileURLToPath(new URL('../../bin/lg-pins.js', import.meta.url));
const STACK_LINE = /at .*\.js:\d+/;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

let env: NodeJS.ProcessEnv;

/** Run the built CLI; never rejects, returns the exit code and both streams. */
async function cli(cwd: string, ...args: string[]): Promise<Run> {
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, [BIN, ...args], { cwd, env, timeout: 20_000 });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code?: number | string; stdout?: string; stderr?: string };
    if (typeof err.code !== 'number') throw e;
    return { code: err.code, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
  }
}

let reg: TestRegistry;
let pushed: MultiArchResult;
let ws: Workspace;

const spec = (tag: string): SpecInput => ({
  images: { agent: { ref: `${reg.host}/team/agent`, tag } },
  fleet: {
    datacenter: { arch: 'x86_64', hosts: ['h1', 'h2'] },
    edge: { arch: 'armv7l', hosts: ['e1'] },
  },
});

beforeAll(async () => {
  if (!existsSync(new URL('../../dist/cli/main.js', import.meta.url))) {
    await execFileAsync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT, timeout: 120_000 });
  }
  env = { ...process.env, DOCKER_CONFIG: emptyDockerConfigDir(), NO_COLOR: '1' };
  reg = await startRegistry();
  pushed = await pushMultiArch(
    { url: reg.url },
    'team/agent',
    'v1',
    [
      { os: 'linux', architecture: 'amd64' },
      { os: 'linux', architecture: 'arm64' },
      { os: 'linux', architecture: 'arm', variant: 'v7' },
    ],
    { attestations: true, salt: 'e2e' },
  );
  ws = workspace(spec('v1'));
}, 180_000);

afterAll(async () => {
  await reg?.stop();
  cleanupWorkspaces();
});

describe('lg-pins CLI against a registry', () => {
  it('lock exits 0 and writes the lock', async () => {
    const r = await cli(ws.dir, 'lock');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('wrote lg-pins.lock.yaml');
    const locked = parse(ws.lockText()) as { images: Record<string, { digest: string; platforms: Record<string, unknown> }> };
    expect(locked.images.agent!.digest).toBe(pushed.digest);
    expect(Object.keys(locked.images.agent!.platforms)).toEqual(['linux/amd64', 'linux/arm/v7', 'linux/arm64/v8']);

    const again = await cli(ws.dir, 'lock');
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('up to date');
  });

  it("pins --host --image prints exactly the pinned reference for that host's platform", async () => {
    const h1 = await cli(ws.dir, 'pins', '--host', 'h1', '--image', 'agent');
    expect(h1.code).toBe(0);
    expect(h1.stdout).toMatch(/^127\.0\.0\.1:\d+\/team\/agent@sha256:[0-9a-f]{64}\n$/);
    expect(h1.stdout).toBe(`${reg.host}/team/agent@${pushed.images[0]!.digest}\n`);
    const e1 = await cli(ws.dir, 'pins', '--host', 'e1', '--image', 'agent');
    expect(e1.stdout).toBe(`${reg.host}/team/agent@${pushed.images[2]!.digest}\n`);
  });

  it('inspect --json prints one JSON document with the index and its platforms', async () => {
    const r = await cli(ws.dir, 'inspect', '--json', `${reg.host}/team/agent:v1`);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as {
      reference: string;
      digest: string;
      mediaType: string;
      platforms: { platform: string; digest: string; mediaType: string; size: number }[];
    };
    expect(doc.reference).toBe(`${reg.host}/team/agent:v1`);
    expect(doc.digest).toBe(pushed.digest);
    expect(doc.mediaType).toBe(MT.ociIndex);
    expect(doc.platforms).toEqual(
      pushed.images.map((d, i) => ({
        platform: ['linux/amd64', 'linux/arm64/v8', 'linux/arm/v7'][i],
        digest: d.digest,
        mediaType: d.mediaType,
        size: d.size,
      })),
    );
  });

  it('a missing tag exits 3 naming image, registry and status, with no stack trace', async () => {
    const missing = workspace(spec('v404'));
    const r = await cli(missing.dir, 'lock');
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('agent');
    expect(r.stderr).toContain(reg.host);
    expect(r.stderr).toContain('HTTP 404');
    expect(r.stderr).not.toMatch(STACK_LINE);
    expect(missing.lockExists()).toBe(false);

    const json = await cli(missing.dir, 'lock', '--json');
    expect(json.code).toBe(3);
    const doc = JSON.parse(json.stdout) as { written: boolean; failures: { image: string; exitCode: number; message: string }[] };
    expect(doc.written).toBe(false);
    expect(doc.failures.map((f) => [f.image, f.exitCode])).toEqual([['agent', 3]]);
    expect(doc.failures[0]!.message).toContain('HTTP 404');
  });
});
