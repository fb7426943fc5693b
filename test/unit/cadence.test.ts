import { describe, expect, it } from 'vitest';
import { candidates, chooseTag, tagVersion } from '../../src/plan/cadence.js';

const TAGS = [
  'latest',
  'v3.0.0',
  '3.0.1',
  'v3.1.0',
  'v3.1.1',
  'v3.2.0-rc.1',
  'v4.0.0',
  'sha256-' + 'a'.repeat(64) + '.sig',
  'sha256-' + 'b'.repeat(64),
  'nightly',
  'v2.9.0',
];

describe('release candidates', () => {
  it('keep semver tags (optional v) inside the range, newest first, no pre-releases or bookkeeping tags', () => {
    expect(candidates(TAGS, { track: '^3.0.0', prerelease: false }).map((c) => c.tag)).toEqual(['v3.1.1', 'v3.1.0', '3.0.1', 'v3.0.0']);
    expect(candidates(TAGS, { track: '^3.0.0', prerelease: true }).map((c) => c.tag)[0]).toBe('v3.2.0-rc.1');
    expect(tagVersion('sha256-' + 'a'.repeat(64) + '.sig')).toBeUndefined();
    expect(tagVersion('latest')).toBeUndefined();
  });
});

describe('chooseTag', () => {
  const img = (cadence: 'patch' | 'minor' | 'major', track = '>=3.0.0') => ({ track, cadence, prerelease: false });
  it.each([
    ['first lock takes the newest candidate', img('patch', '^3.0.0'), undefined, 'v3.1.1'],
    ['patch: any newer candidate', img('patch', '^3.0.0'), 'v3.1.0', 'v3.1.1'],
    ['minor: a newer patch of the current minor is passed over', img('minor', '^3.0.0'), 'v3.1.0', 'v3.1.0'],
    ['minor: a newer minor takes its newest patch', img('minor', '^3.0.0'), '3.0.1', 'v3.1.1'],
    ['major: a newer minor is passed over', img('major', '^3.0.0'), 'v3.0.0', 'v3.0.0'],
    ['major: a newer major is taken', img('major'), 'v3.1.1', 'v4.0.0'],
    ['never a downgrade', img('patch', '^3.0.0'), 'v3.9.0', 'v3.9.0'],
    ['a pin outside an edited range is replaced', img('patch', '^4.0.0'), 'v3.1.1', 'v4.0.0'],
  ])('%s', (_name, image, pinned, expected) => {
    expect(chooseTag(TAGS, image, pinned)).toBe(expected);
  });
  it('returns undefined when nothing satisfies the range', () => {
    expect(chooseTag(TAGS, img('patch', '^9'), undefined)).toBeUndefined();
  });
});

describe('tags a lock could not name', () => {
  it('semver build metadata (+build) is not a Docker tag, so never a candidate', () => {
    expect(tagVersion('v1.0.0+build1')).toBeUndefined();
    expect(candidates(['v1.0.0+build1', 'v1.0.0'], { track: '^1.0.0', prerelease: false }).map((c) => c.tag)).toEqual(['v1.0.0']);
  });
});

describe('pre-release pins', () => {
  const tags = ['v1.0.0', 'v1.1.0-rc.1', 'v1.1.0', 'v1.1.1', 'v2.0.0-rc.1'];
  it('move on to newer releases of their own line under minor and major', () => {
    expect(chooseTag(tags.slice(0, 3), { track: '^1.0.0', cadence: 'minor', prerelease: true }, 'v1.1.0-rc.1')).toBe('v1.1.0');
    expect(chooseTag(tags.slice(0, 4), { track: '^1.0.0', cadence: 'major', prerelease: true }, 'v1.1.0-rc.1')).toBe('v1.1.1');
    expect(chooseTag(tags, { track: '>=1.0.0', cadence: 'major', prerelease: true }, 'v2.0.0-rc.1')).toBe('v2.0.0-rc.1');
  });
  it('a stable pin under minor still passes over a newer patch', () => {
    expect(chooseTag(tags.slice(0, 4), { track: '^1.0.0', cadence: 'minor', prerelease: true }, 'v1.1.0')).toBe('v1.1.0');
  });
});
