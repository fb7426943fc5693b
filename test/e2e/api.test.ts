import { cpSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/cli.js';

describe("the programmatic API, imported by the package's own name", () => {
  it("import { lock } from 'lg-pins' resolves the example and returns data, printing nothing", async () => {
    // A variable specifier: resolved at run time through package.json "exports" (dist/), not by the typecheck.
    const name = 'lg-pins';
    const api = (await import(name)) as Pick<typeof import('../../src/index.js'), 'ExitCode'> & {
      lock(o: { cwd: string; dryRun: boolean }): Promise<{
        exitCode: number;
        written: boolean;
        lock: { images: Record<string, { tag: string }>; fleet: Record<string, unknown> };
      }>;
    };
    const dir = mkdtempSync(join(tmpdir(), 'lgp-api-'));
    cpSync(join(ROOT, 'lg-pins.yaml'), join(dir, 'lg-pins.yaml'));
    cpSync(join(ROOT, 'examples'), join(dir, 'examples'), { recursive: true });
    const r = await api.lock({ cwd: dir, dryRun: true });
    expect(r.exitCode).toBe(0);
    expect(r.written).toBe(false);
    expect(r.lock.images.agent?.tag).toBe('v3.0.0');
    expect(Object.keys(r.lock.fleet).sort()).toEqual(['arm-servers', 'datacenter', 'edge', 'riscv-lab']);
    expect(api.ExitCode.integrity).toBe(4);
  });
});
