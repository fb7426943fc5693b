/**
 * Ids that are Object.prototype names, and runs interrupted in the middle of a write (issue 10,
 * items 8 and 12), through the built CLI on a copy of the bundled example.
 */
import { spawn } from 'node:child_process';
import { cpSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, ROOT, runCli } from '../helpers/cli.js';
import { exampleDir } from '../helpers/example.js';

describe('ids that are Object.prototype names', () => {
  it('constructor, prototype, valueof and hasownproperty work end to end as image, group and registry ids', async () => {
    const dir = exampleDir('lgp-ids-');
    writeFileSync(
      join(dir, 'lg-pins.yaml'),
      [
        'version: 1',
        'registries:',
        '  constructor:',
        '    concurrency: 2',
        'images:',
        '  constructor: { ref: oci-layout://examples/linuxguard-agent, tag: v3.0.0 }',
        '  prototype: { ref: oci-layout://examples/linuxguard-agent, tag: v3.1.0 }',
        '  valueof: { ref: oci-layout://examples/linuxguard-agent, tag: v3.1.1 }',
        'fleet:',
        '  constructor: { arch: x86_64, hosts: [web-01] }',
        '  hasownproperty: { arch: aarch64, hosts: [arm-01], images: [constructor, prototype] }',
        '  prototype: { arch: riscv64, hosts: [rv-01], images: [constructor], onMissing: hold }',
        '',
      ].join('\n'),
    );
    const lock = await runCli(['lock'], dir);
    expect(lock.stderr).toBe('');
    expect(lock.code).toBe(0);
    const text = readFileSync(join(dir, 'lg-pins.lock.yaml'), 'utf8');
    for (const id of ['constructor', 'prototype', 'valueof', 'hasownproperty']) expect(text).toMatch(new RegExp(`^ {2}${id}:`, 'm'));
    expect(text).toMatch(/^ {4}constructor: \{ platform: linux\/amd64/m);
    expect((await runCli(['check'], dir)).code).toBe(0);
    expect((await runCli(['diff'], dir)).code).toBe(0);
    expect((await runCli(['verify'], dir)).code).toBe(0);
    const pins = await runCli(['pins', '--group', 'constructor', '--image', 'constructor'], dir);
    expect(pins.code).toBe(0);
    expect(pins.stdout).toMatch(/^oci-layout:\/\/examples\/linuxguard-agent@sha256:[a-f0-9]{64}\n$/);
    const json = JSON.parse((await runCli(['pins', '--json'], dir)).stdout) as Array<{ group: string; image: string }>;
    expect(json.map((r) => `${r.group}/${r.image}`).sort()).toEqual([
      'constructor/constructor',
      'constructor/prototype',
      'constructor/valueof',
      'hasownproperty/constructor',
      'hasownproperty/prototype',
      'prototype/constructor',
    ]);
    // A group or image that is not in the spec stays unknown, even when Object.prototype has the name.
    const unknown = await runCli(['pins', '--group', 'tostring'], dir);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/group "tostring" is not in/);
  });

  it('__proto__ and toString are refused by the schema with exit 2, naming the key', async () => {
    const dir = exampleDir('lgp-ids-');
    writeFileSync(
      join(dir, 'lg-pins.yaml'),
      'version: 1\nimages:\n  __proto__: { ref: oci-layout://examples/linuxguard-agent, tag: v3.0.0 }\n  toString: { ref: oci-layout://examples/linuxguard-agent, tag: v3.0.0 }\n',
    );
    const r = await runCli(['lock'], dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/lg-pins\.yaml:3:3: images\.__proto__: image id "__proto__" must be lowercase letters/);
    expect(r.stderr).toMatch(/lg-pins\.yaml:4:3: images\.toString: image id "toString" must be lowercase letters/);
  });
});

describe('an interrupted run', () => {
  it.each(['SIGINT', 'SIGTERM'] as const)(
    '%s in the middle of writing the lock leaves no temporary file and the old lock',
    async (signal) => {
      const dir = exampleDir('lgp-ids-');
      const lockFile = join(dir, 'lg-pins.lock.yaml');
      cpSync(join(ROOT, 'lg-pins.lock.yaml'), lockFile);
      writeFileSync(join(dir, 'lg-pins.yaml'), readFileSync(join(dir, 'lg-pins.yaml'), 'utf8').replace('tag: v3.0.0', 'tag: v3.1.0'));
      // Fault injection in the harness, as the proxy does for registries: the temporary file is
      // written, then its fsync never returns, so the signal lands in the middle of the write.
      const hook = join(dir, 'hang-on-sync.cjs');
      writeFileSync(
        hook,
        `
      const fsp = require('node:fs/promises');
      const open = fsp.open;
      fsp.open = async function (path, ...rest) {
        const handle = await open.call(this, path, ...rest);
        if (String(path).includes('.lg-pins-tmp-')) {
          handle.sync = () => new Promise(() => { setInterval(() => {}, 1000); process.stderr.write('LGP-TEST: temporary file written\\n'); });
        }
        return handle;
      };
      require('node:module').syncBuiltinESMExports();
    `,
      );
      const child = spawn(process.execPath, ['--require', hook, BIN, 'lock'], { cwd: dir, env: { ...process.env, NO_COLOR: '1' } });
      let stderr = '';
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no write began: ${stderr}`)), 20_000);
        child.stderr.on('data', (d: Buffer) => {
          stderr += d.toString();
          if (stderr.includes('LGP-TEST: temporary file written')) {
            clearTimeout(timer);
            resolve();
          }
        });
      });
      // The first temporary file is the first deploy output's (outputs go first, the lock last).
      const temps = () => (readdirSync(dir, { recursive: true }) as string[]).filter((f) => f.includes('lg-pins-tmp'));
      expect(temps()).toHaveLength(1);
      const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, sig) => resolve(sig)));
      child.kill(signal);
      expect(await exited).toBe(signal);
      expect(temps()).toEqual([]);
      expect(readFileSync(lockFile, 'utf8')).toBe(readFileSync(join(ROOT, 'lg-pins.lock.yaml'), 'utf8'));
    },
  );
});
