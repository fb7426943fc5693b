/**
 * Deploy outputs, pure: (spec, lock) → the files the lock renders, and (rendered, what is on disk,
 * what the lock recorded) → what to write, what to remove, and what must not be touched. No I/O:
 * `run/outputs.ts` reads the disk and applies the plan with the lock in one atomic step.
 */
import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import type { Output, Spec } from '../config/spec.js';
import type { Digest } from '../digest.js';
import type { FleetPin, Lock, LockImage } from '../lock/model.js';
import { parseReference } from '../reference.js';
import { own } from '../safe/dict.js';
import { isGenerated, renderFormat, type OutputRow } from './output-formats.js';

export interface RenderedOutput {
  /** Relative to the spec's directory, normalized, with `/`. */
  path: string;
  content: string;
}

export interface OutputProblem {
  path: string;
  message: string;
}

const GROUP = '{group}';

/** Every file the spec's outputs render from the lock, sorted by path, and why any cannot be rendered. */
export function renderOutputs(spec: Spec, lock: Lock): { files: RenderedOutput[]; problems: OutputProblem[] } {
  const files: RenderedOutput[] = [];
  const problems: OutputProblem[] = [];
  for (const o of spec.outputs ?? []) {
    const groups = (o.groups ?? Object.keys(spec.fleet)).filter((g) => own(spec.fleet, g));
    const rowsOf = (g: string) => rows(o, g, lock, problems);
    if (o.perGroup) {
      for (const g of groups) {
        const path = outputPath(o.path.split(GROUP).join(g));
        files.push({ path, content: renderFormat(o.format, rowsOf(g)) });
      }
      continue;
    }
    const path = outputPath(o.path);
    const all = groups.flatMap(rowsOf);
    // JSON is keyed by group, so each group keeps its own release; the other formats are keyed by image.
    const clash = o.format === 'json' ? undefined : disagreement(all);
    if (clash) problems.push({ path, message: clash });
    else files.push({ path, content: renderFormat(o.format, o.format === 'json' ? all : sharedPlatforms(all)) });
  }
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { files, problems };
}

/** A spec path as the lock records it: normalized, relative, `/`-separated. */
export function outputPath(p: string): string {
  return posix.normalize(p.replace(/\\/g, '/'));
}

function rows(o: Output, group: string, lock: Lock, problems: OutputProblem[]): OutputRow[] {
  const pins = own(lock.fleet, group);
  const out: OutputRow[] = [];
  for (const [image, pin] of Object.entries(pins ?? {})) {
    if (o.images && !o.images.includes(image)) continue;
    const entry = own(lock.images, image);
    if (!entry) continue;
    const digest = o.digest === 'platform' ? pin.digest : indexOf(pin, entry);
    if (!digest) {
      problems.push({
        path: o.path,
        message: `group ${JSON.stringify(group)} is held on ${image} ${pin.tag ?? entry.tag}, and the lock does not record that release's index digest (a lock written before held pins recorded it); use digest: platform for this output, or let the group move`,
      });
      continue;
    }
    out.push(row(o, group, image, entry, pin, digest));
  }
  return out;
}

/** The index digest a group runs: its held release's, or the image's. */
function indexOf(pin: FleetPin, entry: LockImage): Digest | undefined {
  return pin.held !== undefined ? pin.index : entry.digest;
}

function row(o: Output, group: string, image: string, entry: LockImage, pin: FleetPin, digest: Digest): OutputRow {
  const tag = pin.tag ?? entry.tag;
  const r: OutputRow = {
    group,
    image,
    ref: entry.ref,
    tag,
    digest,
    platform: pin.platform,
    reference: o.reference === 'tag-digest' ? `${entry.ref}:${tag}@${digest}` : `${entry.ref}@${digest}`,
  };
  if (!entry.ref.startsWith('oci-layout://')) {
    try {
      const ref = parseReference(entry.ref);
      r.registry = ref.registry;
      r.repository = ref.repository;
    } catch {
      // The lock's ref was checked when it was written; a ref that no longer parses just has no split.
    }
  }
  return r;
}

/** In one file for several groups an image's row names every platform its index serves them (`linux/amd64,linux/arm64/v8`). */
function sharedPlatforms(all: OutputRow[]): OutputRow[] {
  const platforms = new Map<string, Set<string>>();
  for (const r of all) platforms.set(r.image, (platforms.get(r.image) ?? new Set()).add(r.platform));
  return all.map((r) => ({ ...r, platform: [...platforms.get(r.image)!].sort().join(',') }));
}

/** In one file for several groups, each image must be one release (a held group runs another). */
function disagreement(all: OutputRow[]): string | undefined {
  const first = new Map<string, OutputRow>();
  for (const r of all) {
    const f = first.get(r.image);
    if (!f) first.set(r.image, r);
    else if (f.digest !== r.digest || f.tag !== r.tag)
      return `groups ${JSON.stringify(f.group)} and ${JSON.stringify(r.group)} run different releases of ${r.image} (${f.tag} and ${r.tag}); one file cannot pin both: put {group} in the path, or select the groups with groups:`;
  }
  return undefined;
}

export const contentDigest = (content: string): Digest => `sha256:${createHash('sha256').update(content).digest('hex')}` as Digest;

export interface OutputChanges {
  /** Files to (re)write: missing, or not what the lock renders (with what is there now). */
  write: Array<RenderedOutput & { before?: string }>;
  /** Of those, the ones not on disk at all. */
  missing: string[];
  /** Files lg-pins wrote before that the spec no longer produces. */
  remove: string[];
  /** Files at an output path that lg-pins did not write: never overwritten. */
  foreign: string[];
  /** What the lock records: every rendered path and the digest of its content. */
  record: Record<string, Digest>;
}

/**
 * What writing the rendered outputs means on this disk. `disk` holds the current text of every
 * rendered and every recorded path (undefined when absent). A file is lg-pins' own when the lock
 * recorded it or it carries the generated header; anything else at an output path is foreign.
 */
export function outputChanges(
  rendered: readonly RenderedOutput[],
  disk: ReadonlyMap<string, string | undefined>,
  recorded: Readonly<Record<string, string>> | undefined,
): OutputChanges {
  const mine = (path: string) => own(recorded, path) !== undefined;
  const write: OutputChanges['write'] = [];
  const foreign: string[] = [];
  const missing: string[] = [];
  const record: Record<string, Digest> = {};
  for (const f of rendered) {
    record[f.path] = contentDigest(f.content);
    const now = disk.get(f.path);
    if (now === f.content) continue;
    if (now !== undefined && !mine(f.path) && !isGenerated(now)) foreign.push(f.path);
    else write.push(now === undefined ? f : { ...f, before: now });
    if (now === undefined) missing.push(f.path);
  }
  const produced = new Set(rendered.map((f) => f.path));
  const remove = Object.keys(recorded ?? {})
    .filter((p) => !produced.has(p))
    .filter((p) => {
      const now = disk.get(p);
      return now !== undefined && isGenerated(now);
    })
    .sort();
  return { write, missing, remove, foreign, record };
}
