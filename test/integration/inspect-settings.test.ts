/**
 * `inspect` follows the spec's registry settings: the spec given with --config, or one found by
 * discovery. Proven on the real registry (plain HTTP on loopback): a spec that marks it
 * `insecure: false` makes inspect try HTTPS and fail, where without a spec it succeeds.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RegistryError, SpecError } from '../../src/errors.js';
import { inspect } from '../../src/run/inspect.js';
import { pushMultiArch } from '../helpers/push.js';
import { useRegistry } from '../helpers/workspace.js';

const ctx = useRegistry();

describe('inspect and the spec', () => {
  it('uses registry settings from --config or discovery, and works with no spec at all', async () => {
    await pushMultiArch({ url: ctx.reg.url }, 'team/agent', 'v1', [{ os: 'linux', architecture: 'amd64' }], { salt: 'inspect' });
    const ref = `${ctx.reg.host}/team/agent:v1`;
    const client = { credentials: ctx.anonymous, policy: { backoffMs: 5, attempts: 1 } };
    const bare = mkdtempSync(join(tmpdir(), 'lgp-inspect-'));
    expect((await inspect(ref, { cwd: bare, client })).platforms.map((p) => p.key)).toEqual(['linux/amd64']);

    const withSpec = mkdtempSync(join(tmpdir(), 'lgp-inspect-'));
    writeFileSync(
      join(withSpec, 'lg-pins.yaml'),
      `version: 1\nregistries:\n  "${ctx.reg.host}": { insecure: false }\nimages:\n  a: { ref: ${ctx.reg.host}/team/agent, tag: v1 }\n`,
    );
    await expect(inspect(ref, { cwd: withSpec, client })).rejects.toBeInstanceOf(RegistryError);
    await expect(inspect(ref, { cwd: bare, config: join(withSpec, 'lg-pins.yaml'), client })).rejects.toBeInstanceOf(RegistryError);
    // An explicit --config that is broken is an error; inspect does not guess.
    writeFileSync(join(bare, 'broken.yaml'), 'version: 2\n');
    await expect(inspect(ref, { cwd: bare, config: 'broken.yaml', client })).rejects.toBeInstanceOf(SpecError);
  });
});
