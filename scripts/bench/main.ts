/**
 * `npm run bench`: lg-pins against the wire minimum and skopeo, on the real test registry
 * (issue 6). Prints a Markdown report and writes it to BENCHMARKS.md. Exits 0 when the bench
 * ran, whatever the targets say (it reports, it does not gate); non-zero when the bench broke.
 *
 *   npm run bench [-- --n 100,500,2000] [--rounds 5] [--quick] [--no-profile] [--mirror-only] [--mirror-n 20]
 *
 * Then the mirror section (mirror.ts): `lg-pins mirror` between two registries.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { startRegistry, type TestRegistry } from '../../test/helpers/registry.js';
import { fill, FLEET, REPOSITORIES, type BenchImage } from './fill.js';
import { auditBench } from './audit.js';
import { fleetBench } from './fleet.js';
import { counted, ensureSkopeo, lgPins, profileCold, skopeoLoop, wire, type Counts, type Skopeo } from './measure.js';
import { mirrorBench } from './mirror.js';
import {
  loadAverage,
  machine,
  renderMarkdown,
  type LockReport,
  type Memory,
  type Report,
  type SizeResult,
  type Startup,
} from './report.js';
import { BENCH_OUT, BIN, fmtMs, median, ROOT, runTimed, tail } from './util.js';

const execFileAsync = promisify(execFile);

/** lg-pins' default per-registry concurrency; the wire client and the skopeo loop use the same. */
const CONCURRENCY = 8;
/** Keep the lock benches under ~10 minutes (the mirror section adds ~4): rounds are cut (never below MIN_ROUNDS) when a size would not fit. */
const BUDGET_MS = 9 * 60_000;
const MIN_ROUNDS = 3;
/** From this size on, the skopeo loop is run once instead of every round. */
const SKOPEO_ONCE_FROM = 2000;

interface Args {
  sizes: number[];
  rounds: number;
  quick: boolean;
  profile: boolean;
  mirrorOnly: boolean;
  mirrorN: number;
  mirrorRounds: number;
}

const USAGE = `usage: npm run bench -- [--n 100,500,2000] [--rounds 5] [--quick] [--no-profile] [--mirror-only] [--mirror-n 20] [--mirror-rounds 3]
  --n N,N,…          image counts to measure (default 100,500,2000)
  --rounds R         rounds per size, median reported (default 5; cut for big sizes to stay under ~10 min)
  --quick            smoke run: N=100, 3 rounds
  --no-profile       skip the CPU profile of one cold lock (node --cpu-prof) at N=500 (or the largest size below)
  --mirror-only      only the mirror section (skip the lock benches); prints the report, leaves BENCHMARKS.md as it is
  --mirror-n N       images copied by the mirror section (default 20; each 4 platforms × 2 layers of 4 MiB)
  --mirror-rounds R  mirror rounds, median reported (default 3; cut to keep the section under ~4 min)`;

function parseArgs(argv: string[]): Args {
  let sizes: number[] | undefined;
  let rounds: number | undefined;
  let quick = false;
  let profile = true;
  let mirrorOnly = false;
  let mirrorN = 20;
  let mirrorRounds = 3;
  const positive = (flag: string, v: string | undefined): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} needs a positive integer, got ${JSON.stringify(v)}\n${USAGE}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const [flag, inline] =
      a.startsWith('--') && a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const value = () => inline ?? argv[++i];
    if (flag === '--n') sizes = (value() ?? '').split(',').map((s) => positive('--n', s.trim()));
    else if (flag === '--rounds') rounds = positive('--rounds', value());
    else if (flag === '--quick') quick = true;
    else if (flag === '--no-profile') profile = false;
    else if (flag === '--mirror-only') mirrorOnly = true;
    else if (flag === '--mirror-n') mirrorN = positive('--mirror-n', value());
    else if (flag === '--mirror-rounds') mirrorRounds = positive('--mirror-rounds', value());
    else if (flag === '--help' || flag === '-h') {
      console.log(USAGE);
      process.exit(0);
    } else throw new Error(`unknown argument ${JSON.stringify(a)}\n${USAGE}`);
  }
  sizes ??= quick ? [100] : [100, 500, 2000];
  return {
    sizes: [...new Set(sizes)].sort((a, b) => a - b),
    rounds: rounds ?? (quick ? 3 : 5),
    quick,
    profile,
    mirrorOnly,
    mirrorN,
    mirrorRounds,
  };
}

const log = (s: string): void => {
  process.stderr.write(`[bench] ${s}\n`);
};

async function ensureBuilt(notes: string[]): Promise<void> {
  const main = `${ROOT}dist/cli/main.js`;
  if (!existsSync(main)) {
    log('dist/ is missing: npm run build …');
    try {
      await execFileAsync('npm', ['run', 'build'], { cwd: ROOT, maxBuffer: 64 * 1024 * 1024 });
    } catch (e) {
      const err = e as Error & { stdout?: string; stderr?: string };
      throw new Error(`npm run build failed:\n${tail(`${err.stdout ?? ''}${err.stderr ?? ''}` || err.message)}`);
    }
    notes.push('dist/ was missing; the bench ran `npm run build` first.');
  } else {
    notes.push(
      `Measured the existing dist/ (dist/cli/main.js built ${statSync(main).mtime.toISOString()}); run \`npm run build\` first to measure the current src/.`,
    );
  }
}

/** The newest modification time under dist/, to notice a rebuild during the run. */
function distStamp(dir = `${ROOT}dist`): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? distStamp(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/** A child environment with no credentials of the user's: empty Docker config, private HOME. */
function childEnv(tmp: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of ['LG_PINS_REGISTRY_AUTH', 'REGISTRY_AUTH_FILE', 'DOCKER_AUTH_CONFIG', 'XDG_CONFIG_HOME', 'NODE_OPTIONS']) delete env[k];
  for (const d of ['home', 'docker', 'run']) mkdirSync(join(tmp, d), { recursive: true });
  return { ...env, HOME: join(tmp, 'home'), DOCKER_CONFIG: join(tmp, 'docker'), XDG_RUNTIME_DIR: join(tmp, 'run'), NO_COLOR: '1' };
}

interface SizeFiles {
  dir: string;
  lockFile: string;
  urls: string;
  refs: string[];
}

function writeSize(tmp: string, reg: TestRegistry, images: BenchImage[]): SizeFiles {
  const dir = join(tmp, `n${images.length}`);
  mkdirSync(dir, { recursive: true });
  const spec = {
    version: 1,
    images: Object.fromEntries(images.map((img) => [img.id, { ref: `${reg.host}/${img.repo}`, tag: img.tag }])),
    fleet: FLEET,
  };
  writeFileSync(join(dir, 'lg-pins.yaml'), stringify(spec));
  const urls = join(dir, 'urls.txt');
  writeFileSync(urls, images.map((img) => `${reg.url}/v2/${img.repo}/manifests/${img.tag}\n`).join(''));
  return { dir, lockFile: join(dir, 'lg-pins.lock.yaml'), urls, refs: images.map((img) => `${reg.host}/${img.repo}:${img.tag}`) };
}

function sameCounts(all: Counts[]): Counts {
  const first = all[0]!;
  // Every round should make the same requests; report the first, flag any difference.
  const differs = all.some((c) => c.manifestGET !== first.manifestGET || c.manifestHEAD !== first.manifestHEAD || c.other !== first.other);
  if (differs) log(`request counts differ between rounds: ${all.map((c) => `${c.manifestGET}/${c.manifestHEAD}/${c.other}`).join(', ')}`);
  return first;
}

async function measureSize(
  reg: TestRegistry,
  f: SizeFiles,
  n: number,
  rounds: number,
  skopeoRounds: number,
  env: NodeJS.ProcessEnv,
): Promise<SizeResult> {
  const raw: SizeResult['raw'] = { cold: [], warm: [], diff: [], wire: [], skopeo: [] };
  const counts = { cold: [] as Counts[], warm: [] as Counts[], diff: [] as Counts[], wire: [] as Counts[], skopeo: [] as Counts[] };
  const diffCodes: number[] = [];
  await wire(f.urls, CONCURRENCY, env); // untimed: warm the registry's file cache
  for (let r = 0; r < rounds; r++) {
    const w = await counted(reg, () => wire(f.urls, CONCURRENCY, env));
    raw.wire.push(w.value.ms);
    counts.wire.push(w.counts);

    rmSync(f.lockFile, { force: true });
    const cold = await counted(reg, () => lgPins(['lock'], f.dir, env));
    raw.cold.push(cold.value.ms);
    counts.cold.push(cold.counts);
    if (!existsSync(f.lockFile)) throw new Error(`lg-pins lock wrote no lock in ${f.dir}`);

    const warm = await counted(reg, () => lgPins(['lock'], f.dir, env));
    raw.warm.push(warm.value.ms);
    counts.warm.push(warm.counts);

    const diff = await counted(reg, () => lgPins(['diff'], f.dir, env, [0, 1]));
    raw.diff.push(diff.value.ms);
    counts.diff.push(diff.counts);
    diffCodes.push(diff.value.code);

    if (r < skopeoRounds) {
      const s = await counted(reg, () => skopeoLoop(f.refs, CONCURRENCY, env));
      raw.skopeo.push(s.value);
      counts.skopeo.push(s.counts);
    }
    log(
      `  N=${n} round ${r + 1}/${rounds}: wire ${fmtMs(w.value.ms)}, cold ${fmtMs(cold.value.ms)}, warm ${fmtMs(warm.value.ms)}, diff ${fmtMs(diff.value.ms)}${raw.skopeo.length > r ? `, skopeo ${fmtMs(raw.skopeo[r]!)}` : ''}`,
    );
  }
  return {
    n,
    rounds,
    skopeoRounds: raw.skopeo.length,
    cold: median(raw.cold),
    warm: median(raw.warm),
    diff: median(raw.diff),
    wire: median(raw.wire),
    skopeo: raw.skopeo.length ? median(raw.skopeo) : undefined,
    counts: {
      cold: sameCounts(counts.cold),
      warm: sameCounts(counts.warm),
      diff: sameCounts(counts.diff),
      wire: sameCounts(counts.wire),
      skopeo: counts.skopeo.length ? sameCounts(counts.skopeo) : undefined,
    },
    raw,
    diffCodes,
  };
}

async function measureStartup(rounds: number, tmp: string, env: NodeJS.ProcessEnv): Promise<Startup> {
  const empty = join(tmp, 'no-urls.txt');
  writeFileSync(empty, '');
  const node: number[] = [];
  const wireEmpty: number[] = [];
  const version: number[] = [];
  for (let r = 0; r < rounds; r++) {
    node.push((await runTimed(process.execPath, ['-e', '0'], { env })).ms);
    wireEmpty.push((await wire(empty, CONCURRENCY, env)).ms);
    const v = await runTimed(process.execPath, [BIN, '--version'], { env, cwd: tmp });
    if (v.code !== 0) throw new Error(`lg-pins --version exited ${v.code}:\n${tail(v.stderr)}`);
    version.push(v.ms);
  }
  return { rounds, node: median(node), wireEmpty: median(wireEmpty), lgPinsVersion: median(version) };
}

async function measureMemory(f: SizeFiles, n: number, runs: number, tmp: string, env: NodeJS.ProcessEnv): Promise<Memory> {
  const peak = async (label: string, r: number): Promise<number> => {
    const out = join(tmp, `rss-${n}-${label}-${r}.json`);
    const res = await runTimed(process.execPath, [`${BENCH_OUT}rss.js`, out, 'lock'], { cwd: f.dir, env });
    if (res.code !== 0 || !existsSync(out)) throw new Error(`rss wrapper (${label} lock) exited ${res.code}:\n${tail(res.stderr)}`);
    return (JSON.parse(readFileSync(out, 'utf8')) as { maxRSSKiB: number }).maxRSSKiB;
  };
  let lgPinsKiB = 0;
  let warmKiB = 0;
  let wireKiB = 0;
  for (let r = 0; r < runs; r++) {
    rmSync(f.lockFile, { force: true });
    lgPinsKiB = Math.max(lgPinsKiB, await peak('cold', r));
    warmKiB = Math.max(warmKiB, await peak('warm', r));
    wireKiB = Math.max(wireKiB, (await wire(f.urls, CONCURRENCY, env)).maxRSSKiB);
  }
  return { n, runs, lgPinsKiB, warmKiB, wireKiB, lockBytes: statSync(f.lockFile).size };
}

/** The lock bench: its own registry, the sizes, startup, memory, fleet, profile. */
async function lockBench(args: Args, skopeo: Skopeo, tmp: string, env: NodeJS.ProcessEnv, notes: string[]): Promise<LockReport> {
  const t0 = performance.now();
  let reg: TestRegistry | undefined;
  try {
    log('starting the registry …');
    reg = await startRegistry();
    const maxN = args.sizes[args.sizes.length - 1]!;
    const repos = Math.min(REPOSITORIES, maxN);
    const tf = performance.now();
    const images = await fill({ url: reg.url }, maxN, repos);
    const fillMs = performance.now() - tf;
    log(`filled ${reg.host} with ${maxN} images in ${repos} repositories in ${fmtMs(fillMs)}`);

    const startup = await measureStartup(Math.max(args.rounds, 5), tmp, env);
    log(
      `startup: node ${fmtMs(startup.node)}, wire (empty) ${fmtMs(startup.wireEmpty)}, lg-pins --version ${fmtMs(startup.lgPinsVersion)}`,
    );

    const sizes: SizeResult[] = [];
    const files = new Map<number, SizeFiles>();
    for (const n of args.sizes) {
      const f = writeSize(tmp, reg, images.slice(0, n));
      files.set(n, f);
      let rounds = args.rounds;
      const skopeoRounds = !skopeo.available ? 0 : n >= SKOPEO_ONCE_FROM ? 1 : rounds;
      const prev = sizes[sizes.length - 1];
      if (prev) {
        // Project this size's round from the last one (linear in N) and cut rounds to fit the budget.
        const perImageRound = (prev.raw.cold[0]! + prev.raw.warm[0]! + prev.raw.diff[0]! + prev.raw.wire[0]!) / prev.n;
        const skopeoCost = prev.raw.skopeo.length ? (prev.raw.skopeo[0]! / prev.n) * n * Math.min(skopeoRounds, rounds) : 0;
        const reserve = 45_000; // memory runs, fleet bench, report
        const left = BUDGET_MS - (performance.now() - t0) - reserve - skopeoCost;
        const fit = Math.floor(left / (perImageRound * n * 1.2));
        if (fit < rounds) {
          rounds = Math.max(MIN_ROUNDS, fit);
          if (rounds < args.rounds)
            notes.push(`N=${n}: ${rounds} rounds instead of ${args.rounds}, to keep the lock benches under ~10 minutes on this machine.`);
        }
      }
      if (skopeo.available && skopeoRounds < rounds)
        notes.push(`N=${n}: the skopeo loop was measured once (not the median of ${rounds} rounds): it costs one process per tag.`);
      log(`N=${n}: ${rounds} rounds …`);
      const res = await measureSize(reg, f, n, rounds, Math.min(skopeoRounds, rounds), env);
      if (res.diffCodes.some((c) => c !== 0))
        notes.push(`N=${n}: \`lg-pins diff\` exited ${res.diffCodes.join(', ')} (1 = it found changes, unexpected with nothing changed).`);
      sizes.push(res);
    }

    const biggest = sizes[sizes.length - 1]!;
    log(`peak memory at N=${biggest.n} …`);
    const memory = await measureMemory(files.get(biggest.n)!, biggest.n, 3, tmp, env);

    log('spec + coverage for 100,000 hosts …');
    const fleet = await fleetBench(Math.max(args.rounds, 5), { file: join(tmp, 'fleet', 'lg-pins.yaml') });
    log('audit of 100,000 host reports …');
    const audit = await auditBench(3, join(tmp, 'audit'));

    let profile: LockReport['profile'];
    if (args.profile) {
      const target = [...sizes].reverse().find((s) => s.n <= 500) ?? sizes[0]!;
      const f = files.get(target.n)!;
      rmSync(f.lockFile, { force: true });
      const profDir = join(tmp, 'cpuprof');
      mkdirSync(profDir, { recursive: true });
      log(`profiling one cold lock at N=${target.n} …`);
      profile = { n: target.n, summary: await profileCold(f.dir, env, profDir, ROOT) };
    }

    return {
      fillMs,
      filled: maxN,
      repositories: repos,
      concurrency: CONCURRENCY,
      requestedRounds: args.rounds,
      sizes,
      startup,
      memory,
      fleet,
      audit,
      profile,
    };
  } finally {
    await reg?.stop();
  }
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const started = new Date();
  const loadStart = loadAverage();
  const t0 = performance.now();
  const notes: string[] = [];
  const cmdArgs = process.argv.slice(2).join(' ');
  const command = `npm run bench${cmdArgs ? ` -- ${cmdArgs}` : ''}`;

  await ensureBuilt(notes);
  const builtAt = distStamp();
  const skopeo = await ensureSkopeo(log);
  if (skopeo.note) notes.push(`skopeo: ${skopeo.note}.`);

  const tmp = mkdtempSync(join(tmpdir(), 'lg-pins-bench-'));
  const cleanTmp = () => rmSync(tmp, { recursive: true, force: true });
  process.on('exit', cleanTmp);
  const env = childEnv(tmp);
  try {
    const lock = args.mirrorOnly ? undefined : await lockBench(args, skopeo, tmp, env, notes);
    log(`mirror: N=${args.mirrorN}, up to ${args.mirrorRounds} rounds …`);
    let mirror: Report['mirror'];
    try {
      mirror = await mirrorBench({
        n: args.mirrorN,
        rounds: args.mirrorRounds,
        concurrency: CONCURRENCY,
        skopeo: skopeo.available,
        tmp,
        env,
        log,
      });
      notes.push(...mirror.notes.map((n) => `Mirror: ${n}`));
    } catch (e) {
      // Keep the lock results of a long run; the exit code still says the bench broke.
      if (!lock) throw e;
      notes.push(`**The mirror section broke:** ${tail((e as Error).message, 5).replace(/\s+/g, ' ')}`);
      process.exitCode = 1;
    }

    if (!skopeo.available) notes.push('The skopeo columns are skipped: skopeo is not available.');
    if (distStamp() !== builtAt)
      notes.push('**dist/ changed during the run** (rebuilt by someone else?): figures may mix two builds; re-run on a quiet tree.');
    const report: Report = { command, started, durationMs: performance.now() - t0, skopeo, lock, mirror, notes };
    const md = renderMarkdown(report, machine(skopeo.version, loadStart));
    console.log(md);
    if (args.mirrorOnly) log('--mirror-only: BENCHMARKS.md left as it is (it holds the full run)');
    else {
      writeFileSync(join(ROOT, 'BENCHMARKS.md'), `${md}\n`);
      log(`wrote ${join(ROOT, 'BENCHMARKS.md')}`);
    }
  } finally {
    cleanTmp();
  }
}

for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => process.exit(130));

try {
  await main();
} catch (e) {
  console.error(`bench failed: ${(e as Error).stack ?? String(e)}`);
  process.exitCode = 1;
}
