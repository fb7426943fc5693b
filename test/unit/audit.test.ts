import { describe, expect, it } from 'vitest';
import { digestOf, fakeRelease } from '../helpers/resolution.js';
import { parseReports, reportedImage } from '../../src/audit/reports.js';
import { parseSpec } from '../../src/config/load.js';
import { FileError } from '../../src/errors.js';
import type { Lock } from '../../src/lock/model.js';
import { audit, type HostReport } from '../../src/plan/audit.js';
import { planLock } from '../../src/plan/lock-plan.js';

const d = digestOf;
const release = fakeRelease;

const spec = parseSpec(
  `version: 1
images:
  agent: { ref: reg.example/lg/agent, tag: v2 }
registries:
  reg.example: { mirrors: [mirror.corp/airgap] }
fleet:
  dc: { arch: x86_64, hosts: [web-01, web-02] }
  edge: { arch: armv7l, hosts: [gw-01, gw-02] }
  lab: { arch: riscv64, hosts: [lab-01], onMissing: hold }
`,
  '/f/lg-pins.yaml',
);
const v1 = planLock(
  spec,
  undefined,
  new Map([['agent', { ok: true, resolution: release('v1', ['linux/amd64', 'linux/arm/v7', 'linux/riscv64']) }]]),
).lock;
const lock: Lock = planLock(spec, v1, new Map([['agent', { ok: true, resolution: release('v2', ['linux/amd64', 'linux/arm/v7']) }]])).lock;
const repos = () => ['reg.example/lg/agent', 'mirror.corp/airgap/lg/agent'];
const report = (host: string, digest: string, repository = 'reg.example/lg/agent'): HostReport => ({
  host,
  digest,
  repository,
  where: 'r.json',
});

describe('audit (pure)', () => {
  it.each([
    ['the group platform digest', d('v2/linux/amd64'), 'current', undefined],
    ['the pinned index digest', d('v2/index'), 'current', undefined],
    ['another platform of the pinned index (the arm/amd64 mix-up)', d('v2/linux/arm/v7'), 'wrong-platform', 'linux/arm/v7'],
    ['the previous release (the lock no longer knows its digests)', d('v1/linux/amd64'), 'outdated', undefined],
    ['the release a held group stays on', d('v1/linux/riscv64'), 'outdated', 'linux/riscv64'],
    ['a digest the lock never pinned, of the same repository', d('something else'), 'outdated', undefined],
  ])('web-01 running %s: %s', (_name, digest, state, platform) => {
    const r = audit(spec, lock, [report('web-01', digest)], repos);
    const row = r.rows.find((x) => x.host === 'web-01');
    // Rows are the drift: a current pair is only counted (in its group and its cell).
    if (state === 'current') {
      expect(row).toBeUndefined();
      expect(r.counts.dc!.current).toBe(1);
      expect(r.cells.dc!.agent!.current).toBe(1);
      return;
    }
    expect(row!.state).toBe(state);
    expect(row!.needs).toBe('linux/amd64');
    expect(row!.runs?.platform).toBe(platform);
    expect(r.cells.dc!.agent![state as 'outdated']).toBe(1);
  });

  it('counts per group, missing hosts, a held group judged against its own release, unmanaged hosts', () => {
    const r = audit(
      spec,
      lock,
      [
        report('web-01', d('v2/linux/amd64')),
        report('web-02', d('v2/linux/arm/v7')),
        report('gw-01', d('v2/linux/arm/v7'), 'mirror.corp/airgap/lg/agent'),
        // Held on v1: running v1's riscv64 digest is current for it.
        report('lab-01', d('v1/linux/riscv64')),
        report('stray-01', d('v2/linux/amd64')),
      ],
      repos,
    );
    expect(r.counts).toEqual({
      dc: { current: 1, 'wrong-platform': 1, outdated: 0, missing: 0 },
      edge: { current: 1, 'wrong-platform': 0, outdated: 0, missing: 1 },
      lab: { current: 1, 'wrong-platform': 0, outdated: 0, missing: 0 },
    });
    expect(r.rows.find((x) => x.host === 'gw-02')).toEqual({
      group: 'edge',
      host: 'gw-02',
      image: 'agent',
      state: 'missing',
      needs: 'linux/arm/v7',
    });
    expect(r.unmanaged).toEqual(['stray-01']);
  });

  it('a host running the image twice is as good as its worst; a digest matched through a mirror name counts', () => {
    const r = audit(spec, lock, [report('web-01', d('v2/linux/amd64')), report('web-01', d('old'), 'mirror.corp/airgap/lg/agent')], repos);
    expect(r.rows.find((x) => x.host === 'web-01')).toMatchObject({ state: 'outdated', runs: { digest: d('old') } });
  });

  it('another repository entirely is not this image: the host is missing it', () => {
    const r = audit(spec, lock, [report('web-01', d('nginx'), 'docker.io/library/nginx')], repos);
    expect(r.rows.find((x) => x.host === 'web-01')!.state).toBe('missing');
    expect(r.counts.dc).toEqual({ current: 0, 'wrong-platform': 0, outdated: 0, missing: 2 });
    expect(r.unmanaged).toEqual([]);
  });
});

describe('host reports', () => {
  const A = d('a');
  it.each([
    ['reg.example/lg/agent:v2@' + A, { digest: A, repository: 'reg.example/lg/agent' }],
    ['docker-pullable://reg.example/lg/agent@' + A, { digest: A, repository: 'reg.example/lg/agent' }],
    ['nginx@' + A, { digest: A, repository: 'docker.io/library/nginx' }],
    [A, { digest: A, repository: '' }],
  ])('%s', (text, want) => {
    expect(reportedImage(text)).toEqual(want);
  });

  it('JSON arrays, JSON lines and kubectl pod lists', () => {
    expect(parseReports(JSON.stringify([{ host: 'h1', image: `r.example/a@${A}` }]), 'a.json')).toEqual([
      { host: 'h1', digest: A, repository: 'r.example/a', where: 'a.json: [0]' },
    ]);
    const lines = `{"host":"h1","image":"r.example/a@${A}"}\n\n{"host":"h2","image":"r.example/a@${A}"}\n`;
    expect(parseReports(lines, 'r.jsonl').map((r) => [r.host, r.where])).toEqual([
      ['h1', 'r.jsonl:1'],
      ['h2', 'r.jsonl:3'],
    ]);
    const pods = {
      kind: 'List',
      items: [
        {
          spec: { nodeName: 'node-1' },
          status: {
            initContainerStatuses: [{ image: 'r.example/init:1', imageID: `docker-pullable://r.example/init@${A}` }],
            containerStatuses: [
              { image: 'r.example/a:v2', imageID: A },
              { image: 'r.example/b:v1', imageID: '' },
            ],
          },
        },
        { spec: {}, status: { phase: 'Pending' } },
      ],
    };
    expect(parseReports(JSON.stringify(pods), 'pods.json').map((r) => [r.host, r.repository, r.where])).toEqual([
      ['node-1', 'r.example/init', 'pods.json: items[0].status.initContainerStatuses[0]'],
      ['node-1', 'r.example/a', 'pods.json: items[0].status.containerStatuses[0]'],
    ]);
  });

  it.each([
    ['a JSON line that is not JSON', `{"host":"h1","image":"r/a@${d('x')}"}\n{"host": h2}\n`, /^r\.jsonl:2: not JSON \(column \d+: /],
    [
      'a reference without a digest',
      `{"host":"h1","image":"r.example/a:v2"}\n{"host":"h2","image":"x"}\n`,
      /^r\.jsonl:1: "image" "r\.example\/a:v2" names no digest/,
    ],
    ['a host that is not a string', '[{"host": 7, "image": "x"}]', /^r\.jsonl: \[0\]: "host" must be a non-empty string$/],
    ['a broken array', '[{"host": "h1",\n "image": }]', /^r\.jsonl:2:\d+: not valid JSON/],
    [
      'a pod list with a bad imageID',
      JSON.stringify({ items: [{ spec: { nodeName: 'n' }, status: { containerStatuses: [{ imageID: 5 }] } }] }),
      /^r\.jsonl: items\[0\]\.status\.containerStatuses\[0\]\.imageID must be a string$/,
    ],
    ['something else', '{"kind": "Deployment"}', /^r\.jsonl: not a report lg-pins reads/],
  ])('%s is exit 2 naming the file and line or path', (_name, text, message) => {
    let caught: unknown;
    try {
      parseReports(text, 'r.jsonl');
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(FileError);
    expect((caught as FileError).exitCode).toBe(2);
    expect((caught as FileError).message).toMatch(message);
  });
});
