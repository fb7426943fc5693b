/**
 * Rollout rings from the command line: LG_PINS_NOW sets the clock `lock` and `diff` judge soak
 * times by (RFC 3339), a bad value is exit 2 naming it, and `diff --json` lists who waits.
 */
import { describe, expect, it } from 'vitest';
import { emptyDockerConfigDir, useRegistry, workspace } from '../helpers/workspace.js';
import { pushMultiArch } from '../helpers/push.js';
import { runCli, STACK } from '../helpers/cli.js';

const ctx = useRegistry();
const P = [
  { os: 'linux', architecture: 'amd64' },
  { os: 'linux', architecture: 'arm', variant: 'v7' },
];

describe('lg-pins with rings', () => {
  it('LG_PINS_NOW sets the clock; diff --json says who waits until when; a bad LG_PINS_NOW is exit 2', async () => {
    const repo = 'cli-rings/agent';
    await pushMultiArch({ url: ctx.reg.url }, repo, 'v1.0.0', P, { salt: 'cli-rings 1' });
    const ws = workspace({
      images: { agent: { ref: `${ctx.reg.host}/${repo}`, track: '^1.0.0' } },
      fleet: {
        canary: { arch: 'x86_64', hosts: ['web-01'] },
        edge: { arch: 'armv7l', hosts: ['gw-01'], after: 'canary', soak: '12h' },
      },
    });
    const env = { DOCKER_CONFIG: emptyDockerConfigDir() };
    const first = await runCli(['lock'], ws.dir, { ...env, LG_PINS_NOW: '2026-12-04T10:00:00+01:00' });
    expect(first.code).toBe(0);
    expect(ws.lockText()).toContain('since: "2026-12-04T09:00:00Z"');

    await pushMultiArch({ url: ctx.reg.url }, repo, 'v1.1.0', P, { salt: 'cli-rings 2' });
    const d = await runCli(['diff', '--json'], ws.dir, { ...env, LG_PINS_NOW: '2026-12-05T10:00:00Z' });
    expect(d.code).toBe(1);
    expect((JSON.parse(d.stdout) as { waiting: unknown }).waiting).toEqual([
      { group: 'edge', image: 'agent', after: 'canary', tag: 'v1.1.0', until: '2026-12-05T22:00:00Z' },
    ]);

    const locked = await runCli(['lock'], ws.dir, { ...env, LG_PINS_NOW: '2026-12-05T10:00:00Z' });
    expect(locked.code).toBe(0);
    expect(locked.stderr).toContain('waiting: edge waits for canary: takes agent v1.1.0 from 2026-12-05T22:00:00Z\n');
    expect(ws.lockText()).toContain('edge:\n    agent: { platform: linux/arm/v7, digest: ');
    expect(ws.lockText()).toContain('tag: v1.0.0, index: sha256:');

    const bad = await runCli(['lock'], ws.dir, { ...env, LG_PINS_NOW: 'tomorrow' });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('LG_PINS_NOW="tomorrow" is not an RFC 3339 date-time (e.g. 2026-12-04T10:00:00Z)');
    expect(bad.stderr).not.toMatch(STACK);
  });
});
