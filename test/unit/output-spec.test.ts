/**
 * `outputs:` mistakes are exit 2 with file, line, column and key (config/outputs.ts and the schema):
 * one file for every group with platform digests, unknown placeholders, paths outside the spec's
 * directory or onto the lock, unknown groups and images, two outputs on one file, bad enums.
 */
import { describe, expect, it } from 'vitest';
import { parseSpec } from '../../src/config/load.js';
import { SpecError } from '../../src/errors.js';

const FILE = '/fleet/lg-pins.yaml';
const HEAD = `version: 1
images:
  agent: { ref: ghcr.io/linuxguard/agent, tag: v3.1.0 }
fleet:
  dc: { arch: x86_64, hosts: [a] }
  edge: { arch: armv7l, hosts: [g] }
outputs:
`; // the first output is on line 8

function issues(outputs: string) {
  try {
    parseSpec(HEAD + outputs, FILE);
  } catch (e) {
    if (!(e instanceof SpecError)) throw e;
    expect(e.exitCode).toBe(2);
    return e.issues.map((i) => ({ line: i.line, path: i.path, message: i.message }));
  }
  throw new Error('the spec was accepted');
}

describe('outputs: every mistake located', () => {
  it.each<[string, string, { line: number; path: string; message: RegExp }]>([
    [
      'one file for every group with platform digests',
      '  - { format: dotenv, path: deploy/all.env }',
      {
        line: 8,
        path: 'outputs[0].path',
        message: /"deploy\/all\.env" has no \{group\}, so every group shares one file: that needs digest: index/,
      },
    ],
    [
      'a placeholder other than {group}',
      '  - { format: dotenv, path: "deploy/{host}.env", digest: index }',
      { line: 8, path: 'outputs[0].path', message: /"\{host\}" is not a placeholder; the only one is \{group\}/ },
    ],
    [
      'a path outside the spec directory',
      '  - { format: dotenv, path: "../elsewhere/{group}.env" }',
      { line: 8, path: 'outputs[0].path', message: /must be a file inside the spec's directory/ },
    ],
    [
      'an absolute path',
      '  - { format: dotenv, path: "/etc/{group}.env" }',
      { line: 8, path: 'outputs[0].path', message: /must be a file inside the spec's directory/ },
    ],
    [
      'the lock itself',
      '  - { format: json, path: lg-pins.lock.yaml, digest: index }',
      { line: 8, path: 'outputs[0].path', message: /is the spec or the lock/ },
    ],
    [
      'a group that is not in the fleet, with a suggestion',
      '  - { format: dotenv, path: "{group}.env", groups: [dc, egde] }',
      { line: 8, path: 'outputs[0].groups[1]', message: /"egde" is not a fleet group of this spec \(did you mean "edge"\?\)/ },
    ],
    [
      'an image that is not in the spec',
      '  - { format: dotenv, path: "{group}.env", images: [agnet] }',
      { line: 8, path: 'outputs[0].images[0]', message: /"agnet" is not an image of this spec \(did you mean "agent"\?\)/ },
    ],
    ['an unknown format', '  - { format: toml, path: "{group}.toml" }', { line: 8, path: 'outputs[0].format', message: /toml/ }],
    [
      'an unknown digest kind',
      '  - { format: dotenv, path: "{group}.env", digest: manifest }',
      { line: 8, path: 'outputs[0].digest', message: /manifest/ },
    ],
    ['a missing path', '  - { format: dotenv }', { line: 8, path: 'outputs[0]', message: /path/ }],
  ])('%s', (_name, outputs, want) => {
    const got = issues(outputs);
    expect(got).toHaveLength(1);
    expect(got[0]).toMatchObject({ line: want.line, path: want.path });
    expect(got[0]!.message).toMatch(want.message);
  });

  it('two outputs on one file: the second is named, with the first', () => {
    const got = issues('  - { format: dotenv, path: "{group}.env" }\n  - { format: json, path: "./{group}.env" }');
    expect(got).toEqual([{ line: 9, path: 'outputs[1].path', message: expect.stringMatching(/is also the path of outputs\[0\]/) }]);
  });

  it('a valid set loads, with the defaults filled in', () => {
    const spec = parseSpec(
      `${HEAD}  - { format: dotenv, path: "deploy/{group}.env" }\n  - { format: kustomize, path: k/kustomization.yaml, digest: index, groups: [dc] }\n`,
      FILE,
    );
    expect(spec.outputs).toEqual([
      { format: 'dotenv', path: 'deploy/{group}.env', perGroup: true, digest: 'platform', reference: 'digest' },
      { format: 'kustomize', path: 'k/kustomization.yaml', perGroup: false, digest: 'index', reference: 'digest', groups: ['dc'] },
    ]);
  });
});
