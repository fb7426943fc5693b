import { dirname, resolve } from 'node:path';
import * as semver from '../semver.js';
import type { SpecIssue } from '../errors.js';
import { parsePlatform, PlatformError, platformKey, unameToPlatform, UNAME_MACHINES, variantProblem, type Platform } from '../platform.js';
import { HOST_RE, hostsFromInventory, type Inventories } from './inventory.js';
import { lockFileFor } from './names.js';
import { parseSourceRef } from './refs.js';
import { checkRegistries } from './registries.js';
import { dict, own, put } from '../safe/dict.js';
import { checkRings } from './rings.js';
import { FileReadError, readTextSync } from '../safe/files.js';
import { LIMITS } from '../safe/limits.js';
import { quoteUntrusted } from '../safe/text.js';
import { suggest } from './schema.js';
import { quote, type SourceFile } from './source.js';

/** What the rules need of a source: to turn a key path and a message into an issue. */
type Issues = Pick<SourceFile, 'issue'>;
import { checkOutputs } from './outputs.js';
import { checkCosign } from './signing.js';
import type { Group, Image, SourceRef, Spec } from './spec.js';
import type { GroupSpec, ImageSpec, SpecFile } from './types.js';

/**
 * The rules a JSON Schema cannot say: refs, platforms, semver ranges, cross references
 * between images and groups, host inventories. Every problem found is collected.
 */
export function applyRules(raw: SpecFile, src: Issues, specFile: string): { spec: Spec; issues: SpecIssue[] } {
  const issues: SpecIssue[] = [];
  const dir = dirname(specFile);
  const images = dict<Image>();
  for (const [id, img] of Object.entries(raw.images ?? {})) {
    const image = checkImage(id, img, src, dir, issues);
    if (image) put(images, id, image);
  }
  const fleet = dict<Group>();
  const imageIds = Object.keys(raw.images ?? {});
  // Every group's hosts and images, even a group with a bad platform, so that a host in two groups is reported at once.
  const members: Member[] = [];
  const inventories: Inventories = new Map();
  for (const [id, g] of Object.entries(raw.fleet ?? {})) {
    const group = checkGroup(id, g, imageIds, src, dir, issues, members, inventories);
    if (group) put(fleet, id, group);
  }
  checkHostsOnce(members, src, issues);
  const rings = checkRings(raw.fleet ?? {}, (g) => members.find((m) => m.id === g)?.images ?? [], src, issues);
  for (const [id, ring] of rings) {
    const group = own(fleet, id);
    if (!group) continue;
    if (ring.after !== undefined) group.after = ring.after;
    group.soakMs = ring.soakMs;
  }
  const spec: Spec = {
    file: specFile,
    dir,
    lockFile: lockFileFor(specFile),
    ...registrySection(checkRegistries(raw.registries ?? {}, src, dir, issues)),
    images,
    fleet,
  };
  if (raw.outputs?.length)
    spec.outputs = checkOutputs(raw.outputs, { images: imageIds, groups: Object.keys(raw.fleet ?? {}) }, spec, src, issues);
  return { spec, issues };
}

function checkImage(id: string, img: ImageSpec, src: Issues, dir: string, issues: SpecIssue[]): Image | undefined {
  const at = ['images', id];
  let source: SourceRef | undefined;
  if (typeof img.ref === 'string' && img.ref !== '') {
    const r = parseSourceRef(img.ref, dir);
    if (typeof r === 'string') issues.push(src.issue([...at, 'ref'], `${quote(img.ref)}: ${r}`));
    else source = r;
  }
  if (typeof img.track === 'string' && semver.validRange(img.track) === null) {
    issues.push(src.issue([...at, 'track'], `${quote(img.track)} is not a valid semver range (e.g. "^3.0.0", "~3.1", ">=3.0.0 <4")`));
  }
  const notes = dict<string>();
  const noteKeys = new Map<string, string>();
  for (const [k, v] of Object.entries(img.notes ?? {})) {
    try {
      const key = platformKey(parseSpecPlatform(k));
      const first = noteKeys.get(key);
      // Two spellings of one platform would silently drop a note.
      if (first !== undefined)
        issues.push(
          src.issue([...at, 'notes', k], `${quote(k)} is the same platform as ${quote(first)} (${key}); give one note per platform`, true),
        );
      else noteKeys.set(key, k);
      put(notes, key, v);
    } catch (e) {
      issues.push(src.issue([...at, 'notes', k], `${quote(k)} is not a platform: ${platformProblem(e, k)}`, true));
    }
  }
  const cosign = checkCosign(img.verify?.cosign, at, src, dir, issues);
  if (!source) return undefined;
  const out: Image = {
    id,
    ref: img.ref,
    source,
    cadence: img.cadence ?? 'patch',
    prerelease: img.prerelease ?? false,
    notes,
  };
  if (img.tag !== undefined) out.tag = img.tag;
  if (img.track !== undefined) out.track = img.track;
  if (cosign) out.verify = { cosign };
  return out;
}

function checkGroup(
  id: string,
  g: GroupSpec,
  imageIds: string[],
  src: Issues,
  dir: string,
  issues: SpecIssue[],
  members: Member[],
  inventories: Inventories,
): Group | undefined {
  const at = ['fleet', id];
  let platform: Platform | undefined;
  if (typeof g.arch === 'string') {
    platform = unameToPlatform(g.arch);
    if (!platform && g.arch !== '') {
      const hint = suggest(g.arch, [...UNAME_MACHINES]);
      issues.push(
        src.issue(
          [...at, 'arch'],
          `${quote(g.arch)} is not a known \`uname -m\` value${hint ? ` (did you mean ${quote(hint)}?)` : ''}; known: ${UNAME_MACHINES.join(', ')}; or use platform: os/arch[/variant]`,
        ),
      );
    }
  } else if (typeof g.platform === 'string' && g.platform !== '') {
    try {
      platform = parseSpecPlatform(g.platform);
    } catch (e) {
      issues.push(src.issue([...at, 'platform'], `${quote(g.platform)} is not a valid platform: ${platformProblem(e, g.platform)}`));
    }
  }
  const images = g.images ?? imageIds;
  (g.images ?? []).forEach((name, i) => {
    if (!imageIds.includes(name)) {
      const hint = suggest(name, imageIds);
      issues.push(
        src.issue([...at, 'images', i], `${quote(name)} is not an image of this spec${hint ? ` (did you mean ${quote(hint)}?)` : ''}`),
      );
    }
  });
  const hosts = new Set<string>();
  (g.hosts ?? []).forEach((h, i) => {
    if (typeof h !== 'string') return;
    if (!HOST_RE.test(h)) issues.push(src.issue([...at, 'hosts', i], `${quote(h)} is not a host name`));
    else hosts.add(h);
  });
  if (typeof g.hostsFile === 'string' && g.hostsFile !== '')
    readHostsFile(resolve(dir, g.hostsFile), [...at, 'hostsFile'], src, issues).forEach((h) => hosts.add(h));
  const from = g.hostsFrom;
  // The schema reports a hostsFrom of the wrong shape; only a well-formed one is read.
  if (from && typeof from.ansible === 'string' && from.ansible !== '' && typeof from.group === 'string' && from.group !== '')
    hostsFromInventory(from, dir, [...at, 'hostsFrom'], src, issues, inventories).forEach((h) => hosts.add(h));
  members.push({ id, hosts: [...hosts], images: images.filter((i) => imageIds.includes(i)) });
  if (!platform) return undefined;
  const wants = g.arch !== undefined ? { arch: g.arch } : { platform: g.platform ?? '' };
  return {
    id,
    wants,
    platform,
    platformKey: platformKey(platform),
    hosts: [...hosts],
    images: images.filter((i) => imageIds.includes(i)),
    onMissing: g.onMissing ?? 'fail',
    soakMs: 0,
  };
}

/** PlatformError's message without its own `invalid platform "<s>": ` prefix (the caller quotes the value). */
function platformProblem(e: unknown, s: string): string {
  const message = (e as Error).message;
  const prefix = `invalid platform "${s}": `;
  return message.startsWith(prefix) ? message.slice(prefix.length) : message;
}

/** Lines of a hosts file quoted in messages, at most; more are counted. */
const MAX_QUOTED_LINES = 5;

/**
 * One host a line; blank lines and `#` comments are skipped. Problems name the inventory file and
 * line, quoting at most a short escaped excerpt of a line, and nothing at all from a file that is
 * not a hosts file (binary, or mostly not host names: a hostsFile pointed at a config.json or
 * /proc/self/environ must not print its secrets).
 */
export function readHostsFile(file: string, at: (string | number)[], src: Issues, issues: SpecIssue[]): string[] {
  let text: string;
  try {
    text = readTextSync(file, LIMITS.hostsFileBytes, 'a hosts file');
  } catch (e) {
    if (!(e instanceof FileReadError)) throw e;
    issues.push(src.issue(at, `cannot read hosts file ${JSON.stringify(file)}: ${e.detail}`));
    return [];
  }
  const nul = text.indexOf('\0');
  if (nul >= 0 || text.includes('\ufffd')) {
    const line = text.slice(0, nul >= 0 ? nul : text.indexOf('\ufffd')).split('\n').length;
    issues.push({
      file,
      line,
      column: 1,
      path: '',
      message: `not a text file (it holds ${nul >= 0 ? 'NUL bytes' : 'bytes that are not UTF-8'}); a hosts file lists one host name a line, and nothing from this one is quoted`,
    });
    return [];
  }
  const hosts: string[] = [];
  const bad: Array<{ n: number; raw: string; line: string }> = [];
  text.split(/\r?\n/).forEach((raw, n) => {
    const line = raw.replace(/#.*$/, '').trim();
    if (!line) return;
    if (HOST_RE.test(line)) hosts.push(line);
    else bad.push({ n: n + 1, raw, line });
  });
  if (bad.length > MAX_QUOTED_LINES && bad.length > hosts.length) {
    issues.push({
      file,
      line: bad[0]!.n,
      column: 1,
      path: '',
      message: `does not look like a hosts file: ${bad.length} of ${bad.length + hosts.length} lines are not host names; nothing from it is quoted (a hosts file lists one host name a line)`,
    });
    return hosts;
  }
  for (const b of bad.slice(0, MAX_QUOTED_LINES)) {
    issues.push({
      file,
      line: b.n,
      column: b.raw.indexOf(b.line) + 1,
      path: '',
      message: `${quoteUntrusted(b.line, 40)} is not a host name (one host a line)`,
    });
  }
  if (bad.length > MAX_QUOTED_LINES) {
    issues.push({
      file,
      line: bad[MAX_QUOTED_LINES]!.n,
      column: 1,
      path: '',
      message: `and ${bad.length - MAX_QUOTED_LINES} more lines that are not host names`,
    });
  }
  return hosts;
}

/** A group's hosts and the images it runs, as the host-overlap check needs them. */
interface Member {
  id: string;
  hosts: string[];
  images: string[];
}

/** A host listed in two groups that run the same image is ambiguous. */
function checkHostsOnce(members: Member[], src: Issues, issues: SpecIssue[]): void {
  // One pass over hosts (not hosts × images), then an image check only for the rare host listed in
  // more than one group. Host names compare without regard to case.
  const seen = new Map<string, Member[]>();
  for (const g of members) {
    for (const h of g.hosts) {
      const key = h.toLowerCase();
      const before = seen.get(key);
      if (!before) {
        seen.set(key, [g]);
        continue;
      }
      if (before.includes(g)) continue;
      for (const other of before) {
        const image = g.images.find((i) => other.images.includes(i));
        if (image === undefined) continue;
        issues.push(
          src.issue(
            ['fleet', g.id],
            `host ${quote(h)} is also in group ${quote(other.id)} and both run image ${quote(image)}; a host belongs to one group per image`,
            true,
          ),
        );
        break;
      }
      before.push(g);
    }
  }
}

/** A platform written in the spec: valid syntax, a known os and architecture, and a variant that exists. */
function parseSpecPlatform(s: string): Platform {
  const p = parsePlatform(s);
  const problem = variantProblem(p);
  if (problem) throw new PlatformError(`invalid platform "${s}": ${problem}`);
  return p;
}

/** The spec's registries, and their trust only when there is any (a spec without TLS settings has no `trust`). */
function registrySection(r: ReturnType<typeof checkRegistries>): Pick<Spec, 'registries' | 'trust'> {
  return Object.keys(r.trust).length ? r : { registries: r.registries };
}
