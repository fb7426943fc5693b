/**
 * Rollout rings in the spec: `after: <group>` and `soak: <duration>` on fleet groups. A follower
 * must name a group of the fleet that runs every image it runs, and no chain of `after` may come
 * back to where it started. Problems are issues at the group's `after` or `soak` key (exit 2).
 */
import type { SpecIssue } from '../errors.js';
import { own } from '../safe/dict.js';
import { suggest } from './schema.js';
import { quote, type SourceFile } from './source.js';
import type { GroupSpec } from './types.js';

type Issues = Pick<SourceFile, 'issue'>;

const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;
const DURATION_RE = /^(?:\d{1,6}[smhdw])+$/;

/** `30m`, `12h`, `3d`, `1d12h` (units s, m, h, d, w) in ms; `0` is none; undefined when it is not a duration. */
export function parseDuration(text: string): number | undefined {
  if (text === '0') return 0;
  if (!DURATION_RE.test(text)) return undefined;
  let ms = 0;
  for (const [, n, unit] of text.matchAll(/(\d+)([smhdw])/g)) ms += Number(n) * UNIT_MS[unit as keyof typeof UNIT_MS];
  return ms;
}

/** `3d`, `12h`, `1d12h`, `30m`: a duration in ms as the spec would write it. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0';
  let rest = ms;
  let out = '';
  for (const [unit, size] of [
    ['d', UNIT_MS.d],
    ['h', UNIT_MS.h],
    ['m', UNIT_MS.m],
    ['s', UNIT_MS.s],
  ] as const) {
    const n = Math.floor(rest / size);
    if (n) out += `${n}${unit}`;
    rest -= n * size;
  }
  return out || `${ms}ms`;
}

export interface Ring {
  after?: string;
  soakMs: number;
}

/** Each group's place in the rings (every group of `fleet`), and the problems, located. */
export function checkRings(
  fleet: Readonly<Record<string, GroupSpec>>,
  imagesOf: (group: string) => readonly string[],
  src: Issues,
  issues: SpecIssue[],
): Map<string, Ring> {
  const rings = new Map<string, Ring>();
  const ids = Object.keys(fleet);
  for (const [id, g] of Object.entries(fleet)) {
    const at = ['fleet', id];
    let soakMs = 0;
    if (typeof g.soak === 'number' && g.soak !== 0)
      issues.push(src.issue([...at, 'soak'], `${g.soak} is not a duration: give it a unit (30m, 12h, 3d)`));
    if (typeof g.soak === 'string' || typeof g.soak === 'number') {
      const ms = typeof g.soak === 'number' ? 0 : parseDuration(g.soak);
      if (ms === undefined)
        issues.push(src.issue([...at, 'soak'], `${quote(String(g.soak))} is not a duration (e.g. 30m, 12h, 3d, 1d12h)`));
      else soakMs = ms;
      if (g.after === undefined)
        issues.push(src.issue([...at, 'soak'], `soak needs after: the group whose release this one waits for`, true));
    }
    if (typeof g.after !== 'string') {
      rings.set(id, { soakMs });
      continue;
    }
    const leader = own(fleet, g.after);
    if (!leader) {
      const hint = suggest(g.after, ids);
      issues.push(
        src.issue([...at, 'after'], `${quote(g.after)} is not a group of this fleet${hint ? ` (did you mean ${quote(hint)}?)` : ''}`),
      );
      rings.set(id, { soakMs });
      continue;
    }
    const theirs = new Set(imagesOf(g.after));
    const lacking = imagesOf(id).filter((i) => !theirs.has(i));
    if (lacking.length)
      issues.push(
        src.issue(
          [...at, 'after'],
          `group ${quote(id)} runs ${lacking.map((i) => `image ${quote(i)}`).join(', ')}, which its leader ${quote(g.after)} does not run; a follower takes a release only once its leader runs it`,
        ),
      );
    rings.set(id, { after: g.after, soakMs });
  }
  for (const cycle of cycles(rings)) {
    const path = [...cycle, cycle[0]!].map((c) => quote(c)).join(' → ');
    issues.push(src.issue(['fleet', cycle[0]!, 'after'], `${path} is a cycle; a ring needs a first group without after`));
  }
  return rings;
}

/** Each cycle of `after` links once, starting from its first group in spec order. */
function cycles(rings: ReadonlyMap<string, Ring>): string[][] {
  const out: string[][] = [];
  const done = new Set<string>();
  for (const start of rings.keys()) {
    const path: string[] = [];
    let at: string | undefined = start;
    while (at !== undefined && !done.has(at) && !path.includes(at)) {
      path.push(at);
      at = rings.get(at)?.after;
    }
    if (at !== undefined && path.includes(at)) out.push(path.slice(path.indexOf(at)));
    for (const p of path) done.add(p);
  }
  return out;
}
