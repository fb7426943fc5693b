import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { IntegrityError, RegistryError } from '../../src/errors.js';
import { LayoutSource } from '../../src/registry/layout.js';
import { resolveTag } from '../../src/registry/resolve.js';

const EXAMPLE = new URL('../../examples/linuxguard-agent', import.meta.url).pathname;

describe('OCI image layout source (the bundled example)', () => {
  const source = new LayoutSource(EXAMPLE);

  it('lists the ref.name tags', async () => {
    expect((await source.listTags('')).sort()).toEqual(['v2.9.0', 'v3.0.0', 'v3.1.0', 'v3.1.1']);
  });

  it('resolves a multi-arch release, skipping attestation entries', async () => {
    const r = await resolveTag(source, '', 'v3.0.0');
    expect(r.mediaType).toBe('application/vnd.oci.image.index.v1+json');
    expect(r.platforms.map((p) => p.key)).toEqual(['linux/amd64', 'linux/arm64/v8', 'linux/arm/v7', 'linux/riscv64']);
    const v31 = await resolveTag(source, '', 'v3.1.0');
    expect(v31.platforms.map((p) => p.key)).not.toContain('linux/riscv64');
  });

  it('reads a single-platform tag from its config blob; its platform digest is the top-level digest', async () => {
    const r = await resolveTag(source, '', 'v2.9.0');
    expect(r.platforms).toHaveLength(1);
    expect(r.platforms[0]!.key).toBe('linux/amd64');
    expect(r.platforms[0]!.digest).toBe(r.digest);
  });

  it('reports a missing tag as exit 3', async () => {
    await expect(resolveTag(source, '', 'v9.9.9')).rejects.toThrow(RegistryError);
    await expect(resolveTag(source, '', 'v9.9.9')).rejects.toThrow(/tag "v9.9.9" not found/);
  });

  it('refuses a corrupted blob as an integrity failure (exit 4)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lgp-layout-'));
    cpSync(EXAMPLE, dir, { recursive: true });
    const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as {
      manifests: Array<{ digest: string; size: number; annotations: Record<string, string> }>;
    };
    const v300 = index.manifests.find((m) => m.annotations['org.opencontainers.image.ref.name'] === 'v3.0.0')!;
    const path = join(dir, 'blobs', 'sha256', v300.digest.slice('sha256:'.length));
    const original = readFileSync(path);
    const tampered = Buffer.from(original);
    tampered[tampered.length - 2] = tampered[tampered.length - 2]! ^ 1;
    writeFileSync(path, tampered);
    const err = await resolveTag(new LayoutSource(dir), '', 'v3.0.0').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IntegrityError);
    expect((err as IntegrityError).exitCode).toBe(4);
    expect((err as Error).message).toMatch(/hashes to sha256:[a-f0-9]{64}; the layout is corrupt/);
  });
});
