/**
 * `lg-pins audit`, pure: what each host of each group should run (the lock) against what it
 * reports running. A report names a host and a digest (and, for messages, the reference it was
 * pulled by); digests are matched across everything the lock pins, so a host that pulled from a
 * mirror (same digest, another registry) is judged like one that pulled from upstream.
 *
 * - `current`: the group's pinned platform digest, or the pinned index digest.
 * - `wrong-platform`: another platform's digest of the pinned index (it says which it runs).
 * - `outdated`: a digest of this image's repository (or its mirrors') the lock does not pin for it.
 * - `missing`: no report for a host that should run the image.
 * - `unmanaged`: a host that reports but that no group lists (reported; not by itself a failure).
 */
import type { Spec } from '../config/spec.js';
import type { FleetPin, Lock, LockImage } from '../lock/model.js';
import { dict, own, put } from '../safe/dict.js';

export type AuditState = 'current' | 'wrong-platform' | 'outdated' | 'missing';

/** One container a host reports running. */
export interface HostReport {
  host: string;
  /** `sha256:…` */
  digest: string;
  /** `registry/repository` the report names (normalized), for matching a digest the lock does not know. */
  repository: string;
  /** Where it came from, for messages: `file:line` or `file: items[3]…`. */
  where: string;
}

export interface AuditRow {
  group: string;
  host: string;
  image: string;
  state: AuditState;
  /** The platform the group needs (its pin's). */
  needs: string;
  /** What the host runs, when it reports the image: the platform of a known digest, and the digest. */
  runs?: { digest: string; platform?: string; tag?: string };
}

export interface AuditResult {
  /** Every host × image pair that is not current (the drift), in spec order. */
  rows: AuditRow[];
  unmanaged: string[];
  /** Per group: how many host × image pairs are in each state. */
  counts: Record<string, Record<AuditState, number>>;
  /** Per group and image: how many of its hosts are in each state (the report's cells). */
  cells: Record<string, Record<string, Record<AuditState, number>>>;
}

/** What a digest is in the lock: which image, which release and platform. */
interface Known {
  image: string;
  tag: string;
  /** Undefined for an index digest. */
  platform?: string;
}

/**
 * Judge every host × image of the spec's groups against the reports. `repositoriesOf` names, per
 * image id, the `registry/repository` names a host may pull it by (its ref and its mirrors').
 */
export function audit(spec: Spec, lock: Lock, reports: readonly HostReport[], repositoriesOf: (image: string) => string[]): AuditResult {
  const known = new Map<string, Known>();
  const note = (digest: string, k: Known) => {
    if (!known.has(digest)) known.set(digest, k);
  };
  for (const [id, entry] of Object.entries(lock.images)) {
    note(entry.digest, { image: id, tag: entry.tag });
    for (const [key, p] of Object.entries(entry.platforms)) note(p.digest, { image: id, tag: entry.tag, platform: key });
  }
  for (const pins of Object.values(lock.fleet))
    for (const [id, pin] of Object.entries(pins)) {
      note(pin.digest, { image: id, tag: pin.tag ?? own(lock.images, id)?.tag ?? '', platform: pin.platform });
      if (pin.index) note(pin.index, { image: id, tag: pin.tag ?? '' });
    }
  const imageOfRepo = new Map<string, string>();
  for (const id of Object.keys(lock.images)) for (const r of repositoriesOf(id)) imageOfRepo.set(r, id);

  // image → host → the digests it reports for that image (one string for the usual single one).
  const seen = new Map<string, Map<string, string | string[]>>();
  const reporting = new Set<string>();
  for (const r of reports) {
    reporting.add(r.host);
    const image = known.get(r.digest)?.image ?? imageOfRepo.get(r.repository);
    if (!image) continue;
    let hosts = seen.get(image);
    if (!hosts) seen.set(image, (hosts = new Map()));
    const had = hosts.get(r.host);
    if (had === undefined) hosts.set(r.host, r.digest);
    else if (typeof had === 'string') {
      if (had !== r.digest) hosts.set(r.host, [had, r.digest]);
    } else if (!had.includes(r.digest)) had.push(r.digest);
  }

  const rows: AuditRow[] = [];
  const counts: AuditResult['counts'] = dict();
  const cells: AuditResult['cells'] = dict();
  const managed = new Set<string>();
  for (const g of Object.values(spec.fleet)) {
    const c = zero();
    put(counts, g.id, c);
    const byImage = dict<Record<AuditState, number>>();
    put(cells, g.id, byImage);
    for (const image of g.images) {
      const pin = own(own(lock.fleet, g.id), image);
      const entry = own(lock.images, image);
      if (!pin || !entry) continue;
      const cell = zero();
      put(byImage, image, cell);
      const index = releaseIndex(pin, entry);
      const reported = seen.get(image);
      for (const host of g.hosts) {
        const had = reported?.get(host);
        // The common case, without a row: one digest, the right one.
        if (typeof had === 'string' && (had === pin.digest || had === index)) {
          c.current++;
          cell.current++;
          continue;
        }
        const row = judge(g.id, host, image, pin, entry, had === undefined ? [] : typeof had === 'string' ? [had] : had, known);
        c[row.state]++;
        cell[row.state]++;
        if (row.state !== 'current') rows.push(row);
      }
    }
    for (const host of g.hosts) managed.add(host);
  }
  const unmanaged = [...reporting].filter((h) => !managed.has(h)).sort();
  return { rows, unmanaged, counts, cells };
}

const zero = (): Record<AuditState, number> => ({ current: 0, 'wrong-platform': 0, outdated: 0, missing: 0 });

/** The index digest of the release a group should run: its pin's (a held or waiting pin's own), else the locked one. */
function releaseIndex(pin: FleetPin, entry: LockImage): string | undefined {
  return pin.index ?? (pin.tag === undefined ? entry.digest : undefined);
}

const WORST: readonly AuditState[] = ['wrong-platform', 'outdated', 'current'];

function judge(
  group: string,
  host: string,
  image: string,
  pin: FleetPin,
  entry: LockImage,
  digests: readonly string[],
  known: ReadonlyMap<string, Known>,
): AuditRow {
  const base = { group, host, image, needs: pin.platform };
  if (!digests.length) return { ...base, state: 'missing' };
  const index = releaseIndex(pin, entry);
  const states = digests.map((digest) => {
    const k = known.get(digest);
    const runs = { digest, ...(k?.platform ? { platform: k.platform } : {}), ...(k?.tag ? { tag: k.tag } : {}) };
    if (digest === pin.digest || digest === index) return { state: 'current' as const, runs };
    const sameRelease = k && k.image === image && k.platform && (pin.tag === undefined ? k.tag === entry.tag : k.tag === pin.tag);
    if (sameRelease) return { state: 'wrong-platform' as const, runs };
    return { state: 'outdated' as const, runs };
  });
  // A host running the image twice (two pods) is as good as its worst.
  const worst = states.sort((a, b) => WORST.indexOf(a.state) - WORST.indexOf(b.state))[0]!;
  return { ...base, state: worst.state, runs: worst.runs };
}
