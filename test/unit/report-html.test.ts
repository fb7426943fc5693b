import { describe, expect, it } from 'vitest';
import { digestOf, fakeRelease } from '../helpers/resolution.js';
import { parseSpec } from '../../src/config/load.js';
import { planLock } from '../../src/plan/lock-plan.js';
import { reportHtml } from '../../src/render/report-html.js';

const d = digestOf;
const release = fakeRelease;

const spec = parseSpec(
  `version: 1
images:
  agent:
    ref: reg.example/agent
    tag: v2
    notes: { linux/arm/v7: "<script>alert(1)</script> degraded" }
fleet:
  canary: { arch: x86_64, hosts: [web-01] }
  dc: { arch: x86_64, hosts: [web-02], after: canary, soak: 1d }
  edge: { arch: armv7l, hosts: [gw-01] }
  lab: { arch: riscv64, hosts: [lab-01], onMissing: hold }
`,
  '/f/lg-pins.yaml',
);
const v1 = planLock(
  spec,
  undefined,
  new Map([['agent', { ok: true, resolution: release('v1', ['linux/amd64', 'linux/arm/v7', 'linux/riscv64']) }]]),
  new Date('2026-12-01T00:00:00Z'),
).lock;
const v2 = planLock(
  spec,
  v1,
  new Map([
    [
      'agent',
      {
        ok: true,
        resolution: release('v2', ['linux/amd64', 'linux/arm/v7']),
        verifiedBy: {
          identity: 'https://github.com/lg/agent/.github/workflows/release.yml@refs/tags/v2',
          issuer: 'https://token.actions.githubusercontent.com',
          logIndex: 42,
          trustedRoot: 'sha256:x',
        },
      },
    ],
  ]),
  new Date('2026-12-04T00:00:00Z'),
).lock;

describe('reportHtml (pure)', () => {
  const html = reportHtml({ spec, lock: v2, lockName: 'lg-pins.lock.yaml' });
  it('says held, waiting and current in words and symbols, per cell', () => {
    expect(html).toContain('<span class="state warn">⏸ held on v1</span><small>linux/riscv64 is not in v2</small>');
    expect(html).toContain('<span class="state warn">⏳ waiting for canary</span><small>stays on v1; v2 next</small>');
    expect(html).toContain('<span class="state ok">✓ v2</span>');
  });
  it('escapes every text it quotes (a note cannot inject markup)', () => {
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt; degraded');
    expect(html).not.toContain('<script>');
  });
  it('names the keyless signer with its Rekor log index, and the full digest in the title of the short one', () => {
    expect(html).toContain('signed by https:');
    expect(html).toContain('Rekor log index 42');
    expect(html).toContain(`<code title="${d('v2/linux/amd64')}">${d('v2/linux/amd64').slice(0, 19)}</code>`);
  });
  it('is the same bytes for the same input', () => {
    expect(reportHtml({ spec, lock: v2, lockName: 'lg-pins.lock.yaml' })).toBe(html);
  });
});
