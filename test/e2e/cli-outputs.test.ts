/**
 * Deploy outputs from the command line, on copies of the bundled example (offline: its images are
 * an OCI layout) and on a registry-ref spec rendered from a hand-written lock (offline: `render`
 * never reaches a registry). Written with the lock in one atomic step, byte-identical reruns, a
 * user's file never overwritten, stale files removed, `check` and `render` agreeing; the dotenv
 * read by a real dotenv parser; the Kustomize component checked against Kustomize's documented
 * shape, and built by `kubectl kustomize` where this machine's kubectl supports components.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseDotenv } from 'dotenv';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { beforeEach, describe, expect, it } from 'vitest';
import { computeDigest, type Digest } from '../../src/digest.js';
import type { Lock } from '../../src/lock/model.js';
import { serializeLock } from '../../src/lock/serialize.js';
import { lock as runLock } from '../../src/run/lock.js';
import { render } from '../../src/run/render.js';
import { runCli } from '../helpers/cli.js';
import { editFile, exampleDir } from '../helpers/example.js';
import { tempDir } from '../helpers/tmp.js';

const OUTPUTS = [
  'deploy/arm-servers.env',
  'deploy/datacenter.env',
  'deploy/edge.env',
  'deploy/kustomize/kustomization.yaml',
  'deploy/riscv-lab.env',
];

/** Every file under `dir` (relative paths) with its bytes, for "nothing changed" checks. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string) => {
    for (const e of readdirSync(join(dir, rel), { withFileTypes: true })) {
      const p = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) {
        if (p !== 'examples') walk(p);
      } else out[p] = readFileSync(join(dir, p), 'utf8');
    }
  };
  walk('');
  return out;
}

const lockOf = (dir: string) => parseYaml(readFileSync(join(dir, 'lg-pins.lock.yaml'), 'utf8')) as Lock;

describe('lock writes the outputs with the lock', () => {
  let dir: string;
  beforeEach(async () => {
    dir = exampleDir('lgp-out-');
    expect((await runCli(['lock'], dir)).code).toBe(0);
  });

  it('every output is written, recorded in the lock, and a rerun touches nothing', async () => {
    const lock = lockOf(dir);
    expect(Object.keys(lock.outputs ?? {})).toEqual(OUTPUTS);
    const mtimes = OUTPUTS.map((p) => statSync(join(dir, p)).mtimeMs);
    const before = snapshot(dir);
    const again = await runCli(['lock'], dir);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/^lg-pins\.lock\.yaml is up to date\n/);
    expect(again.stdout).not.toContain('wrote');
    expect(snapshot(dir)).toEqual(before);
    expect(OUTPUTS.map((p) => statSync(join(dir, p)).mtimeMs)).toEqual(mtimes);
  });

  it("the dotenv files read by a dotenv parser give each group's reference, digest and tag from the lock", () => {
    const lock = lockOf(dir);
    for (const [group, pins] of Object.entries(lock.fleet)) {
      const env = parseDotenv(readFileSync(join(dir, `deploy/${group}.env`)));
      const pin = pins.agent!;
      expect(env).toEqual({
        AGENT_DIGEST: pin.digest,
        AGENT_IMAGE: `oci-layout://examples/linuxguard-agent@${pin.digest}`,
        AGENT_TAG: lock.images.agent!.tag,
      });
      // Ready for Compose interpolation (`image: ${AGENT_IMAGE}`): nothing to expand or unquote.
      for (const v of Object.values(env)) expect(v).not.toMatch(/[$"'\s]/);
    }
  });

  it('a held group keeps its release in its own outputs; the index output of the others moves', async () => {
    editFile(join(dir, 'lg-pins.yaml'), 'tag: v3.0.0', 'tag: v3.1.0');
    const r = await runCli(['lock'], dir);
    expect(r.code).toBe(0);
    const lock = lockOf(dir);
    const held = lock.fleet['riscv-lab']!.agent!;
    expect(held).toMatchObject({ tag: 'v3.0.0', index: 'sha256:e763b4bf2da94c69be146ad1634db18cd84b84b6f3e70ebf29e366f8233b38d8' });
    expect(parseDotenv(readFileSync(join(dir, 'deploy/riscv-lab.env')))).toMatchObject({ AGENT_TAG: 'v3.0.0', AGENT_DIGEST: held.digest });
    const component = parseYaml(readFileSync(join(dir, 'deploy/kustomize/kustomization.yaml'), 'utf8')) as {
      images: Array<{ digest: string }>;
    };
    expect(component.images[0]!.digest).toBe(lock.images.agent!.digest);
    expect(r.stdout).not.toContain('wrote deploy/riscv-lab.env');
  });

  it("a user's file at an output path is exit 2 naming it, and nothing is written (the lock included)", async () => {
    writeFileSync(join(dir, 'deploy/mine.json'), '{"mine": true}\n');
    editFile(join(dir, 'lg-pins.yaml'), 'outputs:\n', 'outputs:\n  - format: json\n    path: deploy/mine.json\n    digest: index\n');
    editFile(join(dir, 'lg-pins.yaml'), 'tag: v3.0.0', 'tag: v3.1.0');
    const before = snapshot(dir);
    const r = await runCli(['lock'], dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${join(dir, 'deploy/mine.json')}: this file was not written by lg-pins`);
    expect(snapshot(dir)).toEqual({ ...before });
  });

  it('an output the spec no longer has is removed, and the lock stops recording it', async () => {
    editFile(join(dir, 'lg-pins.yaml'), '    path: deploy/{group}.env\n', '    path: deploy/{group}.env\n    groups: [edge]\n');
    const r = await runCli(['lock'], dir);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('removed deploy/datacenter.env (no longer an output)');
    expect(existsSync(join(dir, 'deploy/datacenter.env'))).toBe(false);
    expect(existsSync(join(dir, 'deploy/edge.env'))).toBe(true);
    expect(Object.keys(lockOf(dir).outputs ?? {})).toEqual(['deploy/edge.env', 'deploy/kustomize/kustomization.yaml']);
  });

  it('check exits 1 naming each output missing, different or no longer produced; render puts them right, offline', async () => {
    rmSync(join(dir, 'deploy/edge.env'));
    writeFileSync(join(dir, 'deploy/datacenter.env'), `${readFileSync(join(dir, 'deploy/datacenter.env'), 'utf8')}EXTRA=1\n`);
    const stale = await runCli(['check'], dir);
    expect(stale.code).toBe(1);
    expect(stale.stdout).toContain('output deploy/edge.env is missing; run `lg-pins render`');
    expect(stale.stdout).toContain('output deploy/datacenter.env differs from what the lock renders; run `lg-pins render`');
    const lockText = readFileSync(join(dir, 'lg-pins.lock.yaml'), 'utf8');
    // Offline: a proxy that refuses everything changes nothing for render.
    const r = await runCli(['render'], dir, { HTTPS_PROXY: 'http://127.0.0.1:9', HTTP_PROXY: 'http://127.0.0.1:9' });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('wrote deploy/datacenter.env\nwrote deploy/edge.env\n3 outputs already up to date\n');
    expect(readFileSync(join(dir, 'lg-pins.lock.yaml'), 'utf8')).toBe(lockText);
    expect((await runCli(['check'], dir)).code).toBe(0);
    const json = await runCli(['render', '--json'], dir);
    expect(JSON.parse(json.stdout)).toMatchObject({ written: [], removed: [], unchanged: OUTPUTS, lockChanged: false });
  });
});

describe('diff shows output changes after the lock', () => {
  it('text, --json and --markdown list each output that would be created, updated or removed; nothing is written', async () => {
    const dir = exampleDir('lgp-out-diff-');
    expect((await runCli(['lock'], dir)).code).toBe(0);
    editFile(join(dir, 'lg-pins.yaml'), 'tag: v3.0.0', 'tag: v3.1.0');
    rmSync(join(dir, 'deploy/edge.env'));
    const before = snapshot(dir);
    const text = await runCli(['diff'], dir);
    expect(text.code).toBe(1);
    expect(text.stdout).toContain(
      'outputs:\n  update  deploy/arm-servers.env\n  update  deploy/datacenter.env\n  create  deploy/edge.env\n  update  deploy/kustomize/kustomization.yaml\n',
    );
    expect(text.stdout).toContain('1 image and 4 outputs would change');
    const json = JSON.parse((await runCli(['diff', '--json'], dir)).stdout) as { outputs: unknown[] };
    expect(json.outputs).toContainEqual({ path: 'deploy/edge.env', change: 'create' });
    expect(json.outputs).not.toContainEqual(expect.objectContaining({ path: 'deploy/riscv-lab.env' }));
    const md = await runCli(['diff', '--markdown'], dir);
    expect(md.stdout).toContain('| `deploy/datacenter.env` | update |');
    expect(md.stdout).toMatch(/Changes to the deploy outputs[\s\S]*\n-AGENT_TAG=v3\.0\.0\n[\s\S]*\n\+AGENT_TAG=v3\.1\.0\n/);
    expect(snapshot(dir)).toEqual(before);
  });
});

describe('all or nothing', () => {
  it('a failure while the files are put in place leaves the lock and every output as they were (lock and render)', async () => {
    const dir = exampleDir('lgp-out-atomic-');
    await runLock({ cwd: dir });
    editFile(join(dir, 'lg-pins.yaml'), 'tag: v3.0.0', 'tag: v3.1.0');
    const before = snapshot(dir);
    const fault = (n: number) => {
      if (n === 2) throw Object.assign(new Error('injected: no space left on the device'), { code: 'ENOSPC' });
    };
    await expect(runLock({ cwd: dir, hooks: { afterRename: fault } })).rejects.toThrow(/no space left on the device/);
    expect(snapshot(dir)).toEqual(before);
    for (const f of readdirSync(join(dir, 'deploy'))) expect(f).not.toMatch(/lg-pins-(tmp|restore)/);

    rmSync(join(dir, 'deploy/edge.env'));
    rmSync(join(dir, 'deploy/datacenter.env'));
    const gone = snapshot(dir);
    await expect(render({ cwd: dir, hooks: { afterRename: (n) => fault(n + 1) } })).rejects.toThrow(/no space/);
    expect(snapshot(dir)).toEqual(gone);
  });

  it('an output path through a file (not a directory) is exit 2 naming it, before anything is written', async () => {
    const dir = exampleDir('lgp-out-dir-');
    writeFileSync(join(dir, 'deploy'), 'a file where a directory should be\n');
    const r = await runCli(['lock'], dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/deploy\/arm-servers\.env: cannot read the deploy output: .*not a directory/);
    expect(existsSync(join(dir, 'lg-pins.lock.yaml'))).toBe(false);
  });
});

describe('every format from a registry-ref lock, rendered offline', () => {
  const d = (s: string): Digest => computeDigest(new TextEncoder().encode(s));
  const M = 'application/vnd.oci.image.manifest.v1+json';
  const AMD = d('amd64');
  const ARM = d('arm64');

  function registryWorkspace(): string {
    const dir = tempDir('lgp-out-reg-');
    writeFileSync(
      join(dir, 'lg-pins.yaml'),
      `version: 1
images:
  agent: { ref: ghcr.io/linuxguard/agent, tag: v3.1.0 }
fleet:
  dc: { arch: x86_64, hosts: [web-01] }
  arm: { arch: aarch64, hosts: [arm-01] }
outputs:
  - { format: kustomize, path: k8s/pins/kustomization.yaml, digest: index }
  - { format: helm, path: "helm/{group}.yaml" }
  - { format: ansible, path: "group_vars/{group}/lg-pins.yml", reference: tag-digest }
`,
    );
    const lock: Lock = {
      lockVersion: 1,
      images: {
        agent: {
          ref: 'ghcr.io/linuxguard/agent',
          tag: 'v3.1.0',
          digest: d('index'),
          mediaType: 'application/vnd.oci.image.index.v1+json',
          platforms: { 'linux/amd64': { digest: AMD, mediaType: M, size: 1 }, 'linux/arm64/v8': { digest: ARM, mediaType: M, size: 1 } },
        },
      },
      fleet: { dc: { agent: { platform: 'linux/amd64', digest: AMD } }, arm: { agent: { platform: 'linux/arm64/v8', digest: ARM } } },
    };
    writeFileSync(join(dir, 'lg-pins.lock.yaml'), serializeLock(lock));
    return dir;
  }

  it('render writes them all from the lock and records them; helm and ansible carry the digests', async () => {
    const dir = registryWorkspace();
    const r = await runCli(['render'], dir);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(Object.keys(lockOf(dir).outputs ?? {}).sort()).toEqual([
      'group_vars/arm/lg-pins.yml',
      'group_vars/dc/lg-pins.yml',
      'helm/arm.yaml',
      'helm/dc.yaml',
      'k8s/pins/kustomization.yaml',
    ]);
    expect(parseYaml(readFileSync(join(dir, 'helm/arm.yaml'), 'utf8'))).toEqual({
      agent: { image: { registry: 'ghcr.io', repository: 'linuxguard/agent', tag: 'v3.1.0', digest: ARM } },
    });
    expect(parseYaml(readFileSync(join(dir, 'group_vars/dc/lg-pins.yml'), 'utf8'))).toEqual({
      lg_pins: {
        agent: {
          digest: AMD,
          image: `ghcr.io/linuxguard/agent:v3.1.0@${AMD}`,
          platform: 'linux/amd64',
          ref: 'ghcr.io/linuxguard/agent',
          tag: 'v3.1.0',
        },
      },
    });
    expect((await runCli(['check'], dir)).code).toBe(0);
  });

  it("the Kustomize component has Kustomize's documented shape, and a build pins the Deployment's image by digest", async () => {
    const dir = registryWorkspace();
    expect((await runCli(['render'], dir)).code).toBe(0);
    const component = parseYaml(readFileSync(join(dir, 'k8s/pins/kustomization.yaml'), 'utf8')) as Record<string, unknown>;
    // kustomize.config.k8s.io/v1alpha1 Component: apiVersion, kind, and an images list of
    // {name, newName?, newTag?, digest?} (Kustomize's "images" transformer field).
    expect(Object.keys(component).sort()).toEqual(['apiVersion', 'images', 'kind']);
    expect(component).toMatchObject({ apiVersion: 'kustomize.config.k8s.io/v1alpha1', kind: 'Component' });
    for (const image of component.images as Array<Record<string, unknown>>) {
      for (const k of Object.keys(image)) expect(['name', 'newName', 'newTag', 'digest']).toContain(k);
      expect(image.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    }
    const overlay = join(dir, 'k8s/overlay');
    mkdirSync(overlay, { recursive: true });
    writeFileSync(
      join(overlay, 'deployment.yaml'),
      'apiVersion: apps/v1\nkind: Deployment\nmetadata: { name: agent }\nspec:\n  selector: { matchLabels: { app: agent } }\n  template:\n    metadata: { labels: { app: agent } }\n    spec:\n      containers:\n        - { name: agent, image: "ghcr.io/linuxguard/agent:v3.0.0" }\n',
    );
    writeFileSync(join(overlay, 'kustomization.yaml'), 'resources: [deployment.yaml]\ncomponents: [../pins]\n');
    const built = kustomizeBuild(overlay);
    const docs = parseAllDocuments(built).map(
      (doc) => doc.toJSON() as { spec: { template: { spec: { containers: Array<{ image: string }> } } } },
    );
    expect(docs[0]!.spec.template.spec.containers[0]!.image).toBe(`ghcr.io/linuxguard/agent@${d('index')}`);
  });
});

/**
 * `kubectl kustomize DIR` (components need Kustomize 3.7 or later, kubectl 1.21 or later; Debian
 * bookworm's kubernetes-client is 1.20). This machine's kubectl is newer; a machine without one
 * fails here, saying so.
 */
function kustomizeBuild(dir: string): string {
  try {
    return execFileSync('kubectl', ['kustomize', dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    throw new Error(`kubectl kustomize failed (a kubectl with Kustomize components, 1.21 or later, is needed): ${(e as Error).message}`);
  }
}
