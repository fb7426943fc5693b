/**
 * The report: machine description, the results table, the targets of issue 6 with PASS/FAIL,
 * the mirror section (mirror-report.ts), and notes; rendered as Markdown (printed and written to
 * BENCHMARKS.md).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, release, totalmem } from 'node:os';
import type { AuditBenchResult } from './audit.js';
import type { FleetBenchResult } from './fleet.js';
import { fmtCounts, type Counts, type ProfileSummary } from './measure.js';
import type { MirrorReport } from './mirror.js';
import { renderMirror } from './mirror-report.js';
import { fmtMs, fmtRatio, ROOT } from './util.js';

export interface SizeResult {
  n: number;
  rounds: number;
  skopeoRounds: number;
  cold: number;
  warm: number;
  diff: number;
  wire: number;
  /** Undefined when skopeo is not available. */
  skopeo: number | undefined;
  counts: { cold: Counts; warm: Counts; diff: Counts; wire: Counts; skopeo: Counts | undefined };
  /** Every round, for the appendix. */
  raw: { cold: number[]; warm: number[]; diff: number[]; wire: number[]; skopeo: number[] };
  /** `lg-pins diff` exit codes seen (0 = nothing changes). */
  diffCodes: number[];
}

export interface Startup {
  rounds: number;
  node: number;
  wireEmpty: number;
  lgPinsVersion: number;
}

export interface Memory {
  n: number;
  runs: number;
  /** `lock` cold (the target). */
  lgPinsKiB: number;
  /** `lock` warm (reads the lock it just wrote). */
  warmKiB: number;
  wireKiB: number;
  lockBytes: number;
}

/** The lock bench (everything but the mirror section). */
export interface LockReport {
  fillMs: number;
  filled: number;
  repositories: number;
  concurrency: number;
  requestedRounds: number;
  sizes: SizeResult[];
  startup: Startup;
  memory: Memory | undefined;
  fleet: FleetBenchResult;
  audit: AuditBenchResult;
  profile: { n: number; summary: ProfileSummary } | undefined;
}

export interface Report {
  command: string;
  started: Date;
  durationMs: number;
  skopeo: { available: boolean; version?: string; note?: string };
  /** Undefined with --mirror-only. */
  lock: LockReport | undefined;
  mirror: MirrorReport | undefined;
  notes: string[];
}

interface Target {
  target: string;
  measured: string;
  result: 'PASS' | 'FAIL' | 'SKIP';
}

const mb = (kib: number): number => (kib * 1024) / 1e6;

function run(cmd: string, args: string[]): string | undefined {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], cwd: ROOT }).trim();
  } catch {
    return undefined;
  }
}

/** The 1/5/15-minute load averages: the machine may be shared, and a busy one makes noisy figures. */
export function loadAverage(): string {
  try {
    return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  } catch {
    return 'n/a';
  }
}

export function machine(skopeoVersion: string | undefined, loadAtStart: string): Array<[string, string]> {
  let cpu = cpus()[0]?.model ?? 'unknown';
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m?.[1]) cpu = m[1].trim();
  } catch {
    // not Linux: keep os.cpus()
  }
  const commit = run('git', ['rev-parse', '--short', 'HEAD']);
  const dirty = run('git', ['status', '--porcelain', '--untracked-files=no']);
  const pkg = JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { version: string };
  return [
    ['CPU', `${cpu} (${cpus().length} logical cores)`],
    ['Memory', `${(totalmem() / 2 ** 30).toFixed(1)} GiB`],
    ['OS', `Linux ${release()}`],
    [
      'Load average (1/5/15 min)',
      `${loadAtStart} at the start, ${loadAverage()} at the end (above ${cpus().length}, the core count, means other work competed with the bench)`,
    ],
    ['Node', process.version],
    ['Registry', run('docker-registry', ['--version']) ?? 'docker-registry (version unknown)'],
    ['skopeo', skopeoVersion ?? 'not available'],
    ['lg-pins', `${pkg.version}${commit ? ` at ${commit}${dirty ? ' (with uncommitted changes)' : ''}` : ''}, built dist/`],
  ];
}

function targets(r: LockReport, skopeoNote: string): Target[] {
  const out: Target[] = [];
  const sizes = r.sizes;
  const at500 = sizes.find((s) => s.n === 500) ?? sizes[sizes.length - 1]!;
  const note500 = at500.n === 500 ? '' : ` (N=500 not measured; N=${at500.n})`;
  const ratio = at500.cold / at500.wire;
  out.push({
    target: 'Cold lock ≤ 1.5× the wire minimum at N=500',
    measured: `${fmtMs(at500.cold)} vs ${fmtMs(at500.wire)} = ${fmtRatio(ratio)}${note500}`,
    result: ratio <= 1.5 ? 'PASS' : 'FAIL',
  });

  const warmGets = sizes.map((s) => s.counts.warm.manifestGET);
  const warmOk = sizes.every((s) => s.counts.warm.manifestGET === 0 && s.warm <= s.cold);
  out.push({
    target: 'Warm relock: 0 manifest GETs, and no slower than cold',
    measured:
      sizes
        .map(
          (s) =>
            `N=${s.n}: ${s.counts.warm.manifestGET} GET, ${s.counts.warm.manifestHEAD} HEAD, ${fmtMs(s.warm)} vs cold ${fmtMs(s.cold)}`,
        )
        .join('; ') + (warmGets.some((g) => g > 0) ? ' (GETs seen)' : ''),
    result: warmOk ? 'PASS' : 'FAIL',
  });

  out.push({
    target: '`diff` costs no more than `lock` (cold)',
    measured: sizes.map((s) => `N=${s.n}: ${fmtMs(s.diff)} vs ${fmtMs(s.cold)}`).join('; '),
    result: sizes.every((s) => s.diff <= s.cold) ? 'PASS' : 'FAIL',
  });

  const withSkopeo = sizes.filter((s) => s.skopeo !== undefined);
  out.push(
    withSkopeo.length
      ? {
          target: 'lg-pins (cold) beats the skopeo loop',
          measured: withSkopeo
            .map((s) => `N=${s.n}: ${fmtMs(s.cold)} vs ${fmtMs(s.skopeo!)} (${fmtRatio(s.skopeo! / s.cold)} faster)`)
            .join('; '),
          result: withSkopeo.every((s) => s.cold < s.skopeo!) ? 'PASS' : 'FAIL',
        }
      : { target: 'lg-pins (cold) beats the skopeo loop', measured: skopeoNote, result: 'SKIP' },
  );

  if (sizes.length >= 2) {
    const first = sizes[0]!;
    const last = sizes[sizes.length - 1]!;
    const per = (s: SizeResult) => s.cold / s.n;
    const growth = per(last) / per(first);
    out.push({
      target: 'Time linear in N (cold ms/image at the largest N ≤ 1.5× the smallest)',
      measured: `${sizes.map((s) => `N=${s.n}: ${per(s).toFixed(2)} ms/image`).join('; ')}; ratio ${fmtRatio(growth)}`,
      result: growth <= 1.5 ? 'PASS' : 'FAIL',
    });
  } else {
    out.push({ target: 'Time linear in N', measured: 'needs at least two sizes (--n)', result: 'SKIP' });
  }

  if (r.memory) {
    const peak = mb(r.memory.lgPinsKiB);
    out.push({
      target: 'Peak memory < 150 MB at N=2000 (cold lock)',
      measured: `${peak.toFixed(1)} MB max RSS at N=${r.memory.n}${r.memory.n === 2000 ? '' : ' (N=2000 not measured)'}`,
      result: peak < 150 ? 'PASS' : 'FAIL',
    });
  }

  out.push({
    target: 'Spec loading + fleet coverage, 100,000 hosts in 2,000 groups, < 1 s',
    measured: `${fmtMs(r.fleet.totalMs)} (parse ${fmtMs(r.fleet.parseMs)} + plan ${fmtMs(r.fleet.planMs)})`,
    result: r.fleet.totalMs < 1000 ? 'PASS' : 'FAIL',
  });
  const a = r.audit;
  out.push({
    target: `\`audit\` of ${a.reports.toLocaleString('en')} host reports against a ${a.groups.toLocaleString('en')}-group lock < 2 s and < 300 MB`,
    measured: `${fmtMs(a.ms)} (median of ${a.rounds}, a fresh process), ${mb(a.maxRssKiB).toFixed(1)} MB max RSS`,
    result: a.ms < 2000 && mb(a.maxRssKiB) < 300 ? 'PASS' : 'FAIL',
  });
  return out;
}

const row = (cells: Array<string | number>): string => `| ${cells.join(' | ')} |`;

export function renderMarkdown(r: Report, machineRows: Array<[string, string]>): string {
  const L: string[] = [];
  L.push('# lg-pins benchmarks', '');
  L.push(
    `Generated by \`${r.command}\` on ${r.started.toISOString()} (took ${fmtMs(r.durationMs)}). Do not edit by hand: re-run the command.`,
    '',
  );
  L.push('## Machine', '');
  L.push(row(['', '']), row(['---', '---']));
  for (const [k, v] of machineRows) L.push(row([k, v]));
  L.push('');
  const skopeoNote = r.skopeo.note ?? 'skopeo not available';
  if (r.lock) L.push(...renderLock(r.lock, skopeoNote));
  if (r.mirror) L.push(...renderMirror(r.mirror, skopeoNote));
  if (r.notes.length) {
    L.push('## Notes', '');
    for (const n of r.notes) L.push(`- ${n}`);
    L.push('');
  }
  return L.join('\n');
}

function renderLock(r: LockReport, skopeoNote: string): string[] {
  const L: string[] = [];
  L.push('## Setup', '');
  L.push(
    `- The real test registry (Debian \`docker-registry\`) on 127.0.0.1, filesystem storage, access log on; filled with ${r.filled} images in ${r.repositories} repositories in ${fmtMs(r.fillMs)}: the four platform images (linux/amd64, linux/arm64/v8, linux/arm/v7, linux/riscv64) pushed once per repository, then one OCI index per image (a unique annotation, so every index digest differs), tagged \`t<i>\`.`,
    '- The spec for size N: `img<i>: { ref: 127.0.0.1:PORT/bench/r<i mod 20>, tag: t<i> }` for i < N, and a fleet of 4 groups (x86_64, aarch64, armv7l, riscv64).',
    '- Every lg-pins figure is the BUILT CLI in a fresh process (`node bin/lg-pins.js …`, cwd = the spec directory), startup included; the figure is the median wall time of the rounds.',
    '- **cold** = `lock` with the lock deleted first; **warm** = `lock` again, nothing changed; **diff** = `diff` with the lock present.',
    `- **wire** = the wire minimum: a bare Node process (undici Agent, keep-alive, Accept with the four manifest media types) making exactly one GET per tag, ${r.concurrency} at a time (lg-pins' default per-registry concurrency).`,
    `- **skopeo** = \`skopeo inspect --raw docker://127.0.0.1:PORT/bench/r<k>:t<i> --tls-verify=false\` once per tag, ${r.concurrency} at a time.`,
    '- Requests are counted in the registry access log around each run: manifest GET / manifest HEAD (+ any other request).',
    '- One untimed wire pass warms the registry before each size; in every round the variants run in the order wire, cold, warm, diff, skopeo.',
    '',
  );

  L.push('## Results', '');
  L.push(
    row([
      'N',
      'rounds',
      'lock cold',
      'lock warm',
      'diff',
      'wire min',
      'skopeo',
      'cold ÷ wire',
      'cold ms/image',
      'cold GET/HEAD',
      'warm GET/HEAD',
      'diff GET/HEAD',
    ]),
  );
  L.push(row(Array.from({ length: 12 }, (_, i) => (i < 2 ? '---' : '---:'))));
  for (const s of r.sizes) {
    const skopeo =
      s.skopeo === undefined
        ? 'skipped'
        : `${fmtMs(s.skopeo)}${s.skopeoRounds < s.rounds ? ` (${s.skopeoRounds} run${s.skopeoRounds === 1 ? '' : 's'})` : ''}`;
    L.push(
      row([
        s.n,
        s.rounds,
        fmtMs(s.cold),
        fmtMs(s.warm),
        fmtMs(s.diff),
        fmtMs(s.wire),
        skopeo,
        fmtRatio(s.cold / s.wire),
        (s.cold / s.n).toFixed(2),
        fmtCounts(s.counts.cold),
        fmtCounts(s.counts.warm),
        fmtCounts(s.counts.diff),
      ]),
    );
  }
  L.push('');

  L.push('## Targets (issue 6)', '');
  L.push(row(['target', 'measured', 'result']), row(['---', '---', '---']));
  for (const t of targets(r, skopeoNote)) L.push(row([t.target, t.measured, `**${t.result}**`]));
  L.push('');

  L.push('## Where the time goes', '');
  L.push(
    `Process startup (median of ${r.startup.rounds}): \`node -e 0\` ${fmtMs(r.startup.node)}; the wire client with no tags (node + undici) ${fmtMs(r.startup.wireEmpty)}; \`lg-pins --version\` (loads the CLI) ${fmtMs(r.startup.lgPinsVersion)}.`,
    '',
  );
  if (r.sizes.length >= 2) {
    L.push('Marginal cost per image between sizes (slope of the medians):', '');
    L.push(row(['between', 'lock cold', 'lock warm', 'diff', 'wire min', 'skopeo']), row(['---', '---:', '---:', '---:', '---:', '---:']));
    for (let i = 1; i < r.sizes.length; i++) {
      const a = r.sizes[i - 1]!;
      const b = r.sizes[i]!;
      const slope = (x: number | undefined, y: number | undefined) =>
        x === undefined || y === undefined ? 'n/a' : `${((y - x) / (b.n - a.n)).toFixed(2)} ms`;
      L.push(
        row([
          `N=${a.n}→${b.n}`,
          slope(a.cold, b.cold),
          slope(a.warm, b.warm),
          slope(a.diff, b.diff),
          slope(a.wire, b.wire),
          slope(a.skopeo, b.skopeo),
        ]),
      );
    }
    L.push('');
  }
  if (r.memory) {
    L.push(
      `Peak memory at N=${r.memory.n} (max RSS, ${r.memory.runs} cold runs through a wrapper that imports dist/cli/main.js and reads its peak RSS, VmHWM in /proc/self/status, at the end; highest run): lg-pins lock cold ${mb(r.memory.lgPinsKiB).toFixed(1)} MB; lg-pins lock warm (reading the ${(r.memory.lockBytes / 1e6).toFixed(1)} MB lock it wrote) ${mb(r.memory.warmKiB).toFixed(1)} MB; the wire client ${mb(r.memory.wireKiB).toFixed(1)} MB.`,
      '',
    );
  }
  const f = r.fleet;
  L.push(
    `Spec + coverage in process (built code): ${f.hosts.toLocaleString('en')} hosts in ${f.groups.toLocaleString('en')} groups, ${f.images} images, spec ${(f.specBytes / 1e6).toFixed(1)} MB of YAML; median of ${f.rounds}: \`parseSpec\` ${fmtMs(f.parseMs)} + \`planLock\` ${fmtMs(f.planMs)} = ${fmtMs(f.totalMs)} (first round ${fmtMs(f.firstTotalMs)}); ${f.pins.toLocaleString('en')} group pins.`,
    '',
  );
  if (r.profile) {
    const p = r.profile.summary;
    L.push(`CPU profile of one cold \`lock\` at N=${r.profile.n} (\`node --cpu-prof\`, self time, ${fmtMs(p.totalMs)} sampled):`, '');
    L.push(row(['module', 'self', 'share']), row(['---', '---:', '---:']));
    for (const m of p.byModule) L.push(row([`\`${m.name}\``, fmtMs(m.ms), `${((100 * m.ms) / p.totalMs).toFixed(1)} %`]));
    L.push('');
    L.push(row(['function', 'self']), row(['---', '---:']));
    for (const fn of p.byFunction) L.push(row([`\`${fn.name}\``, fmtMs(fn.ms)]));
    L.push('');
  }

  L.push('## Rounds (ms)', '');
  L.push(row(['N', 'variant', 'every round']), row(['---', '---', '---']));
  for (const s of r.sizes) {
    for (const k of ['cold', 'warm', 'diff', 'wire', 'skopeo'] as const) {
      if (s.raw[k].length) L.push(row([s.n, k, s.raw[k].map((x) => Math.round(x)).join(', ')]));
    }
  }
  L.push('');
  return L;
}
