/**
 * Deploy outputs, pure (plan/outputs.ts, plan/output-formats.ts): every format's content against
 * the lock's digests, platform and index digests (a held group's index is its held release's),
 * references, subsets, one file for several groups, and what writing means on a given disk
 * (missing, different, foreign, no longer produced). Inline data, no I/O.
 */
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { parseSpec } from '../../src/config/load.js';
import { computeDigest, type Digest } from '../../src/digest.js';
import type { Lock } from '../../src/lock/model.js';
import { isGenerated, OUTPUT_HEADER } from '../../src/plan/output-formats.js';
import { contentDigest, outputChanges, renderOutputs, type RenderedOutput } from '../../src/plan/outputs.js';

const d = (s: string): Digest => computeDigest(new TextEncoder().encode(s));
const INDEX = 'application/vnd.oci.image.index.v1+json';
const M = 'application/vnd.oci.image.manifest.v1+json';

/** agent v3.1.0 (no riscv64: the lab holds v3.0.0), tool v1. */
const LOCK: Lock = {
  lockVersion: 1,
  images: {
    agent: {
      ref: 'ghcr.io/linuxguard/agent',
      tag: 'v3.1.0',
      digest: d('agent/v3.1.0'),
      mediaType: INDEX,
      platforms: {
        'linux/amd64': { digest: d('agent/v3.1.0/amd64'), mediaType: M, size: 1 },
        'linux/arm/v7': { digest: d('agent/v3.1.0/arm'), mediaType: M, size: 1 },
      },
    },
    'my-tool': {
      ref: 'registry.example:5000/team/tool',
      tag: 'v1',
      digest: d('tool/v1'),
      mediaType: INDEX,
      platforms: { 'linux/amd64': { digest: d('tool/v1/amd64'), mediaType: M, size: 1 } },
    },
  },
  fleet: {
    dc: {
      agent: { platform: 'linux/amd64', digest: d('agent/v3.1.0/amd64') },
      'my-tool': { platform: 'linux/amd64', digest: d('tool/v1/amd64') },
    },
    edge: { agent: { platform: 'linux/arm/v7', digest: d('agent/v3.1.0/arm') } },
    lab: {
      agent: {
        platform: 'linux/riscv64',
        digest: d('agent/v3.0.0/riscv'),
        tag: 'v3.0.0',
        index: d('agent/v3.0.0'),
        held: 'linux/riscv64 is not in v3.1.0',
      },
    },
  },
};

const spec = (outputs: string) =>
  parseSpec(
    `version: 1
images:
  agent: { ref: ghcr.io/linuxguard/agent, tag: v3.1.0 }
  my-tool: { ref: "registry.example:5000/team/tool", tag: v1 }
fleet:
  dc: { arch: x86_64, hosts: [a] }
  edge: { arch: armv7l, hosts: [g] }
  lab: { arch: riscv64, hosts: [r], onMissing: hold, images: [agent] }
outputs:
${outputs}`,
    '/fleet/lg-pins.yaml',
  );

const files = (outputs: string, lock: Lock = LOCK) => {
  const r = renderOutputs(spec(outputs), lock);
  expect(r.problems).toEqual([]);
  return Object.fromEntries(r.files.map((f) => [f.path, f.content]));
};

describe('formats', () => {
  it('dotenv: one file per group, KEY=VALUE sorted, the prefix the id upper-cased with _ for the rest', () => {
    const out = files('  - { format: dotenv, path: "deploy/{group}.env" }');
    expect(Object.keys(out)).toEqual(['deploy/dc.env', 'deploy/edge.env', 'deploy/lab.env']);
    expect(out['deploy/dc.env']).toBe(
      [
        OUTPUT_HEADER,
        `AGENT_DIGEST=${d('agent/v3.1.0/amd64')}`,
        `AGENT_IMAGE=ghcr.io/linuxguard/agent@${d('agent/v3.1.0/amd64')}`,
        'AGENT_TAG=v3.1.0',
        `MY_TOOL_DIGEST=${d('tool/v1/amd64')}`,
        `MY_TOOL_IMAGE=registry.example:5000/team/tool@${d('tool/v1/amd64')}`,
        'MY_TOOL_TAG=v1',
        '',
      ].join('\n'),
    );
    // The held lab runs its held release's platform digest and tag.
    expect(out['deploy/lab.env']).toContain(`AGENT_IMAGE=ghcr.io/linuxguard/agent@${d('agent/v3.0.0/riscv')}\nAGENT_TAG=v3.0.0\n`);
  });

  it("ansible: group_vars with lg_pins.<image>.{digest,image,platform,ref,tag}; index digests, the held group's its release's", () => {
    const out = files('  - { format: ansible, path: "group_vars/{group}/lg-pins.yml", digest: index, reference: tag-digest }');
    const dc = parse(out['group_vars/dc/lg-pins.yml']!) as { lg_pins: Record<string, Record<string, string>> };
    expect(dc.lg_pins.agent).toEqual({
      digest: d('agent/v3.1.0'),
      image: `ghcr.io/linuxguard/agent:v3.1.0@${d('agent/v3.1.0')}`,
      platform: 'linux/amd64',
      ref: 'ghcr.io/linuxguard/agent',
      tag: 'v3.1.0',
    });
    const lab = parse(out['group_vars/lab/lg-pins.yml']!) as { lg_pins: Record<string, Record<string, string>> };
    expect(lab.lg_pins.agent).toMatchObject({ digest: d('agent/v3.0.0'), tag: 'v3.0.0' });
    expect(Object.keys(lab.lg_pins)).toEqual(['agent']);
  });

  it('kustomize: a Component whose images name the ref as written, its repository and digest', () => {
    const out = files('  - { format: kustomize, path: k8s/pins/kustomization.yaml, digest: index, groups: [dc, edge] }');
    const c = parse(out['k8s/pins/kustomization.yaml']!) as Record<string, unknown>;
    expect(c).toEqual({
      apiVersion: 'kustomize.config.k8s.io/v1alpha1',
      kind: 'Component',
      images: [
        { name: 'ghcr.io/linuxguard/agent', newName: 'ghcr.io/linuxguard/agent', digest: d('agent/v3.1.0') },
        { name: 'registry.example:5000/team/tool', newName: 'registry.example:5000/team/tool', digest: d('tool/v1') },
      ],
    });
    const tagged = files('  - { format: kustomize, path: "k8s/{group}/kustomization.yaml", reference: tag-digest }');
    expect(parse(tagged['k8s/edge/kustomization.yaml']!)).toMatchObject({
      images: [{ name: 'ghcr.io/linuxguard/agent', newTag: 'v3.1.0', digest: d('agent/v3.1.0/arm') }],
    });
  });

  it("helm: Bitnami's image.{registry,repository,tag,digest} per image id", () => {
    const out = files('  - { format: helm, path: "helm/{group}.values.yaml" }');
    expect(parse(out['helm/dc.values.yaml']!)).toEqual({
      agent: { image: { registry: 'ghcr.io', repository: 'linuxguard/agent', tag: 'v3.1.0', digest: d('agent/v3.1.0/amd64') } },
      'my-tool': { image: { registry: 'registry.example:5000', repository: 'team/tool', tag: 'v1', digest: d('tool/v1/amd64') } },
    });
  });

  it('json: one file for several groups, keyed by group then image, marked by a first "$comment" key', () => {
    const out = files('  - { format: json, path: deploy/pins.json, digest: index, groups: [dc, lab], images: [agent] }');
    const doc = JSON.parse(out['deploy/pins.json']!) as Record<string, unknown>;
    expect(Object.keys(doc)).toEqual(['$comment', 'dc', 'lab']);
    expect(doc.dc).toEqual({
      agent: {
        digest: d('agent/v3.1.0'),
        image: `ghcr.io/linuxguard/agent@${d('agent/v3.1.0')}`,
        platform: 'linux/amd64',
        ref: 'ghcr.io/linuxguard/agent',
        tag: 'v3.1.0',
      },
    });
    expect(doc.lab).toMatchObject({ agent: { digest: d('agent/v3.0.0'), tag: 'v3.0.0' } });
    expect(isGenerated(out['deploy/pins.json']!)).toBe(true);
  });

  it('every format is byte-identical for the same lock, and marked as generated', () => {
    const all = `  - { format: dotenv, path: "a/{group}.env" }
  - { format: ansible, path: "b/{group}.yml" }
  - { format: kustomize, path: "c/{group}/kustomization.yaml" }
  - { format: helm, path: "d/{group}.yaml" }
  - { format: json, path: "e/{group}.json" }`;
    const once = files(all);
    expect(files(all)).toEqual(once);
    for (const text of Object.values(once)) expect(isGenerated(text)).toBe(true);
  });
});

describe('what cannot be rendered', () => {
  it('one file for groups that run different releases (a held group) is a problem naming both', () => {
    const r = renderOutputs(spec('  - { format: dotenv, path: all.env, digest: index }'), LOCK);
    expect(r.files).toEqual([]);
    expect(r.problems).toEqual([
      {
        path: 'all.env',
        message: expect.stringMatching(/groups "dc" and "lab" run different releases of agent \(v3\.1\.0 and v3\.0\.0\).*\{group\}/),
      },
    ]);
  });

  it('an index output for a held pin that recorded no index (an older lock) is a problem', () => {
    const old: Lock = JSON.parse(JSON.stringify(LOCK));
    delete old.fleet.lab!.agent!.index;
    const r = renderOutputs(spec('  - { format: dotenv, path: "{group}.env", digest: index, groups: [lab] }'), old);
    expect(r.problems[0]!.message).toMatch(/"lab" is held on agent v3\.0\.0, and the lock does not record that release's index digest/);
  });
});

describe('outputChanges: what writing means on this disk', () => {
  const f = (path: string, content: string): RenderedOutput => ({ path, content });
  const rendered = [f('a.env', `${OUTPUT_HEADER}\nA=1\n`), f('b.env', `${OUTPUT_HEADER}\nB=1\n`)];
  const disk = (entries: Record<string, string | undefined>) => new Map(Object.entries(entries));

  it.each<
    [
      string,
      Record<string, string | undefined>,
      Record<string, string> | undefined,
      { write: string[]; missing: string[]; remove: string[]; foreign: string[] },
    ]
  >([
    ['nothing there yet', {}, undefined, { write: ['a.env', 'b.env'], missing: ['a.env', 'b.env'], remove: [], foreign: [] }],
    [
      'all up to date: nothing written',
      { 'a.env': rendered[0]!.content, 'b.env': rendered[1]!.content },
      {},
      { write: [], missing: [], remove: [], foreign: [] },
    ],
    [
      'a generated file that differs is rewritten',
      { 'a.env': `${OUTPUT_HEADER}\nA=0\n`, 'b.env': rendered[1]!.content },
      undefined,
      { write: ['a.env'], missing: [], remove: [], foreign: [] },
    ],
    [
      "a user's file at an output path is foreign",
      { 'a.env': 'A=mine\n', 'b.env': rendered[1]!.content },
      undefined,
      { write: [], missing: [], remove: [], foreign: ['a.env'] },
    ],
    [
      "a recorded file is lg-pins' even with its header edited away",
      { 'a.env': 'A=edited\n', 'b.env': rendered[1]!.content },
      { 'a.env': 'sha256:x' },
      { write: ['a.env'], missing: [], remove: [], foreign: [] },
    ],
    [
      'a recorded file no longer produced is removed',
      { 'a.env': rendered[0]!.content, 'b.env': rendered[1]!.content, 'old.env': `${OUTPUT_HEADER}\n` },
      { 'old.env': 'sha256:x' },
      { write: [], missing: [], remove: ['old.env'], foreign: [] },
    ],
    [
      '... unless a user replaced it with a file of their own',
      { 'a.env': rendered[0]!.content, 'b.env': rendered[1]!.content, 'old.env': 'MINE=1\n' },
      { 'old.env': 'sha256:x' },
      { write: [], missing: [], remove: [], foreign: [] },
    ],
    [
      '... or it is gone already',
      { 'a.env': rendered[0]!.content, 'b.env': rendered[1]!.content },
      { 'old.env': 'sha256:x' },
      { write: [], missing: [], remove: [], foreign: [] },
    ],
  ])('%s', (_name, on, recorded, want) => {
    const c = outputChanges(rendered, disk(on), recorded);
    expect({ write: c.write.map((w) => w.path), missing: c.missing, remove: c.remove, foreign: c.foreign }).toEqual(want);
    expect(c.record).toEqual({ 'a.env': contentDigest(rendered[0]!.content), 'b.env': contentDigest(rendered[1]!.content) });
  });
});
