/**
 * OCI platforms: parsing, containerd normalisation, `uname -m` mapping and matching
 * (containerd's `platforms` package; README "The spec").
 *
 * Matching ranks candidates the way containerd does within one architecture (an arm/v7 host
 * takes v7, then v6, then v5) but, on purpose, never crosses architectures: no 386 for amd64,
 * no 32-bit arm for arm64.
 */
import { PlatformError } from './errors.js';

export { PlatformError };

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
  /** `os.version` in an index, e.g. Windows `10.0.17763.1234`. */
  osVersion?: string;
  /** `os.features` in an index, e.g. `win32k`. */
  osFeatures?: string[];
}

/** GOOS values, plus containerd's `macos` alias. */
const KNOWN_OS: ReadonlySet<string> = new Set([
  'aix',
  'android',
  'darwin',
  'dragonfly',
  'freebsd',
  'hurd',
  'illumos',
  'ios',
  'js',
  'linux',
  'macos',
  'nacl',
  'netbsd',
  'openbsd',
  'plan9',
  'solaris',
  'wasip1',
  'windows',
  'zos',
]);
/** GOARCH values, plus containerd's aliases. */
const KNOWN_ARCH: ReadonlySet<string> = new Set([
  '386',
  'amd64',
  'amd64p32',
  'arm',
  'armbe',
  'arm64',
  'arm64be',
  'loong64',
  'mips',
  'mipsle',
  'mips64',
  'mips64le',
  'mips64p32',
  'mips64p32le',
  'ppc',
  'ppc64',
  'ppc64le',
  'riscv',
  'riscv64',
  's390',
  's390x',
  'sparc',
  'sparc64',
  'wasm',
  'x86_64',
  'x86-64',
  'aarch64',
  'armhf',
  'armel',
  'i386',
]);
const VARIANT_RE = /^[a-z0-9][a-z0-9._-]*$/;

/** Variants that exist for the architectures that have them (after normalisation). */
const KNOWN_VARIANTS: Record<string, { re: RegExp; list: string }> = {
  amd64: { re: /^(?:v[2-4])?$/, list: 'v1, v2, v3, v4' },
  arm: { re: /^v[5-8]$/, list: 'v5, v6, v7, v8' },
  arm64: { re: /^(?:v8\.[1-9]|v9(?:\.[0-5])?)?$/, list: 'v8, v8.1..v8.9, v9, v9.1..v9.5' },
};

/**
 * Why a platform someone wrote (a spec's `platform:` or a notes key) names a variant that does not
 * exist, e.g. `linux/amd64/v9`; undefined when it is fine. Index entries are not held to this.
 */
export function variantProblem(p: Platform): string | undefined {
  const known = KNOWN_VARIANTS[p.architecture];
  const n = normalizePlatform(p);
  if (!known || known.re.test(n.variant ?? '')) return undefined;
  return `${p.architecture} has no variant "${p.variant ?? ''}" (known: ${known.list})`;
}

/**
 * Parse `os/arch[/variant]` (e.g. `linux/arm/v7`, `linux/arm64`, `linux/amd64/v3`) and return it
 * normalised. Case-insensitive; aliases such as `linux/aarch64` are accepted. Throws
 * {@link PlatformError} on bad syntax or an unknown os or architecture.
 */
export function parsePlatform(s: string): Platform {
  const parts = s.split('/');
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => p.trim() === '')) {
    throw new PlatformError(`invalid platform "${s}": expected os/arch or os/arch/variant, e.g. linux/arm/v7`);
  }
  const [os, arch, variant] = parts.map((p) => p.toLowerCase()) as [string, string, string | undefined];
  if (!KNOWN_OS.has(os)) throw new PlatformError(`invalid platform "${s}": unknown os "${os}" (e.g. linux, windows)`);
  if (!KNOWN_ARCH.has(arch)) {
    throw new PlatformError(`invalid platform "${s}": unknown architecture "${arch}" (e.g. amd64, arm64, arm, 386, riscv64)`);
  }
  if (variant !== undefined && !VARIANT_RE.test(variant)) {
    throw new PlatformError(`invalid platform "${s}": invalid variant "${variant}" (letters, digits, ".", "_", "-")`);
  }
  return normalizePlatform(variant === undefined ? { os, architecture: arch } : { os, architecture: arch, variant });
}

/**
 * containerd's normalisation: lowercase; `macos` → darwin; `x86_64`/`x86-64` → amd64 (v1 → none);
 * `i386` → 386; `aarch64` → arm64; `armhf` → arm/v7; `armel` → arm/v6; arm variant ''/7 → v7,
 * 5/6/8 → v5/v6/v8; arm64 variant 8/v8/v8.0 → none, 9/v9.0 → v9; os features sorted and
 * deduplicated. Empty variants and feature lists are left out of the result.
 */
export function normalizePlatform(p: Platform): Platform {
  let os = p.os.toLowerCase();
  let arch = p.architecture.toLowerCase();
  let variant = (p.variant ?? '').toLowerCase();
  if (os === 'macos') os = 'darwin';
  switch (arch) {
    case 'i386':
      arch = '386';
      break;
    case 'x86_64':
    case 'x86-64':
    case 'amd64':
      arch = 'amd64';
      if (variant === 'v1') variant = '';
      break;
    case 'aarch64':
    case 'arm64':
      arch = 'arm64';
      if (variant === '8' || variant === 'v8' || variant === 'v8.0') variant = '';
      else if (variant === '9' || variant === '9.0' || variant === 'v9.0') variant = 'v9';
      break;
    case 'armhf':
      arch = 'arm';
      variant = 'v7';
      break;
    case 'armel':
      arch = 'arm';
      variant = 'v6';
      break;
    case 'arm':
      if (variant === '' || variant === '7') variant = 'v7';
      else if (variant === '5' || variant === '6' || variant === '8') variant = `v${variant}`;
      break;
  }
  const out: Platform = { os, architecture: arch };
  if (variant !== '') out.variant = variant;
  if (p.osVersion !== undefined && p.osVersion !== '') out.osVersion = p.osVersion;
  if (p.osFeatures !== undefined && p.osFeatures.length > 0) out.osFeatures = [...new Set(p.osFeatures)].sort();
  return out;
}

/**
 * The display and lock key `os/arch[/variant]` of the normalised platform. arm64 with no
 * variant is shown as `linux/arm64/v8` (the lock contract's spelling); arm always has a variant;
 * amd64 v1 has none (`linux/amd64`, `linux/amd64/v3`).
 */
export function platformKey(p: Platform): string {
  const n = normalizePlatform(p);
  const variant = n.variant ?? (n.architecture === 'arm64' ? 'v8' : undefined);
  return `${n.os}/${n.architecture}${variant !== undefined ? `/${variant}` : ''}`;
}

/** Equal after normalisation: os, architecture, variant and os version. */
export function samePlatform(a: Platform, b: Platform): boolean {
  const x = normalizePlatform(a);
  const y = normalizePlatform(b);
  return x.os === y.os && x.architecture === y.architecture && x.variant === y.variant && x.osVersion === y.osVersion;
}

/** `uname -m` values (and Debian architecture names) → linux platforms. */
const UNAME_TABLE: Readonly<Record<string, Platform>> = {
  x86_64: { os: 'linux', architecture: 'amd64' },
  amd64: { os: 'linux', architecture: 'amd64' },
  aarch64: { os: 'linux', architecture: 'arm64' },
  arm64: { os: 'linux', architecture: 'arm64' },
  armv8l: { os: 'linux', architecture: 'arm', variant: 'v8' },
  armv7l: { os: 'linux', architecture: 'arm', variant: 'v7' },
  armhf: { os: 'linux', architecture: 'arm', variant: 'v7' },
  armv6l: { os: 'linux', architecture: 'arm', variant: 'v6' },
  armel: { os: 'linux', architecture: 'arm', variant: 'v6' },
  armv5tel: { os: 'linux', architecture: 'arm', variant: 'v5' },
  armv5tejl: { os: 'linux', architecture: 'arm', variant: 'v5' },
  armv5l: { os: 'linux', architecture: 'arm', variant: 'v5' },
  i386: { os: 'linux', architecture: '386' },
  i486: { os: 'linux', architecture: '386' },
  i586: { os: 'linux', architecture: '386' },
  i686: { os: 'linux', architecture: '386' },
  riscv64: { os: 'linux', architecture: 'riscv64' },
  ppc64le: { os: 'linux', architecture: 'ppc64le' },
  ppc64el: { os: 'linux', architecture: 'ppc64le' },
  s390x: { os: 'linux', architecture: 's390x' },
  loongarch64: { os: 'linux', architecture: 'loong64' },
  loong64: { os: 'linux', architecture: 'loong64' },
};

/** Every accepted `uname -m` value, for error messages. */
export const UNAME_MACHINES: readonly string[] = Object.freeze(Object.keys(UNAME_TABLE));

/**
 * The linux platform of a `uname -m` value (case-insensitive, surrounding spaces ignored), or
 * undefined when it is not one lg-pins knows. The result is normalised (arm64 has no variant).
 */
export function unameToPlatform(machine: string): Platform | undefined {
  const key = machine.trim().toLowerCase();
  if (!Object.hasOwn(UNAME_TABLE, key)) return undefined;
  const p = UNAME_TABLE[key];
  return p === undefined ? undefined : { ...p };
}

/** `vN` → N, `vN.M` → [N, M]; undefined for anything else. */
function versionOf(variant: string): [number, number] | undefined {
  const m = /^v(\d+)(?:\.(\d+))?$/.exec(variant);
  return m ? [Number(m[1]), Number(m[2] ?? '0')] : undefined;
}

/** Variants (normalised; '' is none) a host of this normalised arch/variant runs, best first. */
function acceptableVariants(arch: string, variant: string): string[] {
  const v = versionOf(variant);
  const out: string[] = [];
  if (arch === 'arm' && v && v[1] === 0) {
    for (let n = v[0]; n >= 5; n--) out.push(`v${n}`);
  } else if (arch === 'amd64' && v && v[1] === 0 && variant === `v${v[0]}`) {
    for (let n = v[0]; n >= 2; n--) out.push(`v${n}`);
    out.push('');
  } else if (arch === 'arm64' && v && (v[0] === 8 || v[0] === 9)) {
    let minor = v[1];
    if (v[0] === 9) {
      for (let m = minor; m >= 1; m--) out.push(`v9.${m}`);
      out.push('v9');
      minor = Math.min(minor + 5, 9);
    }
    for (let m = minor; m >= 1; m--) out.push(`v8.${m}`);
    out.push('');
  }
  if (out.length === 0 || out[0] !== variant) out.unshift(variant);
  return out;
}

/**
 * The ordered list of platforms a host of `want` can run, best first: containerd's ranking
 * WITHIN one architecture only. arm/vN → vN … v5; amd64/vN → vN … v2, amd64; arm64 → arm64;
 * arm64/v8.x → v8.x … v8.1, arm64; arm64/v9.x → v9.x … v9, v8.min(x+5, 9) … v8.1, arm64.
 * Other architectures run only their own variant. Entries carry os, architecture and variant.
 */
export function acceptablePlatforms(want: Platform): Platform[] {
  const n = normalizePlatform(want);
  return acceptableVariants(n.architecture, n.variant ?? '').map((variant) =>
    variant === '' ? { os: n.os, architecture: n.architecture } : { os: n.os, architecture: n.architecture, variant },
  );
}

/** Windows builds must agree on major.minor.build; elsewhere os.version is ignored. */
function osVersionCompatible(os: string, want?: string, candidate?: string): boolean {
  if (os !== 'windows' || want === undefined || candidate === undefined) return true;
  const prefix = (v: string): string => v.split('.').slice(0, 3).join('.');
  return prefix(want) === prefix(candidate);
}

/**
 * Rank of `candidate` for a host of `want`: 0 is best, undefined when it cannot run there.
 * Both sides are normalised. A candidate whose os or architecture is `unknown` (a buildx
 * attestation) never matches; its os.features must be a subset of the host's.
 */
export function platformRank(want: Platform, candidate: Platform): number | undefined {
  const w = normalizePlatform(want);
  const c = normalizePlatform(candidate);
  if (c.os === 'unknown' || c.architecture === 'unknown') return undefined;
  if (c.os !== w.os || c.architecture !== w.architecture) return undefined;
  const rank = acceptableVariants(w.architecture, w.variant ?? '').indexOf(c.variant ?? '');
  if (rank < 0) return undefined;
  const hostFeatures = new Set(w.osFeatures ?? []);
  if (!(c.osFeatures ?? []).every((f) => hostFeatures.has(f))) return undefined;
  if (!osVersionCompatible(w.os, w.osVersion, c.osVersion)) return undefined;
  return rank;
}

/**
 * Index of the best candidate for `want` (lowest rank; ties go to the lowest index, i.e. index
 * order), or undefined when none can run there. Candidates are raw platforms from an index.
 */
export function bestMatch(want: Platform, candidates: readonly Platform[]): number | undefined {
  let best: number | undefined;
  let bestRank = Infinity;
  candidates.forEach((candidate, i) => {
    const rank = platformRank(want, candidate);
    if (rank !== undefined && rank < bestRank) {
      best = i;
      bestRank = rank;
    }
  });
  return best;
}

/** Whether a host of `want` can run the platform a lock names by its key (`linux/arm/v6`). */
export function canRunKey(want: Platform, key: string): boolean {
  try {
    return platformRank(want, parsePlatform(key)) !== undefined;
  } catch {
    return false;
  }
}
