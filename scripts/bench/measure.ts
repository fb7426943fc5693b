/**
 * The measured runs: the built lg-pins CLI in a fresh process, the wire-minimum client in a fresh
 * process, the skopeo loop; request counts from the registry's access log; a CPU profile summary.
 */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { settledAccessLog, type AccessLogEntry, type TestRegistry } from '../../test/helpers/registry.js';
import { BENCH_OUT, BIN, pool, runTimed, tail, type Timed } from './util.js';

const execFileAsync = promisify(execFile);

/** Requests seen in the access log during one run. */
export interface Counts {
  manifestGET: number;
  manifestHEAD: number;
  /** Anything else (ping, tag lists, blobs, token…). */
  other: number;
}

const isSentinel = (e: AccessLogEntry): boolean => e.path.includes('/manifests/sentinel-');

function count(entries: readonly AccessLogEntry[]): Counts {
  const c: Counts = { manifestGET: 0, manifestHEAD: 0, other: 0 };
  for (const e of entries) {
    if (isSentinel(e)) continue;
    const manifest = /^\/v2\/.+\/manifests\/[^/]+$/.test(e.path);
    if (manifest && e.method === 'GET') c.manifestGET++;
    else if (manifest && e.method === 'HEAD') c.manifestHEAD++;
    else c.other++;
  }
  return c;
}

/** Run `work` and count the registry requests it made (access log settled before and after). */
export async function counted<T>(reg: TestRegistry, work: () => Promise<T>): Promise<{ value: T; counts: Counts }> {
  const before = (await settledAccessLog(reg)).length;
  const value = await work();
  const after = await settledAccessLog(reg);
  return { value, counts: count(after.slice(before)) };
}

export const fmtCounts = (c: Counts | undefined): string =>
  c ? `${c.manifestGET} / ${c.manifestHEAD}${c.other ? ` (+${c.other})` : ''}` : 'n/a';

/** The built CLI, as a user runs it: `node bin/lg-pins.js <args>` in the spec directory. */
export async function lgPins(args: string[], cwd: string, env: NodeJS.ProcessEnv, okCodes: readonly number[] = [0]): Promise<Timed> {
  const r = await runTimed(process.execPath, [BIN, ...args], { cwd, env });
  if (!okCodes.includes(r.code)) throw new Error(`lg-pins ${args.join(' ')} exited ${r.code} in ${cwd}:\n${tail(r.stderr || r.stdout)}`);
  return r;
}

/** The wire minimum in its own process: one GET per URL listed in `urlsFile`. */
export async function wire(urlsFile: string, concurrency: number, env: NodeJS.ProcessEnv): Promise<Timed & { maxRSSKiB: number }> {
  const r = await runTimed(process.execPath, [`${BENCH_OUT}wire.js`, urlsFile, String(concurrency)], { env });
  if (r.code !== 0) throw new Error(`wire client exited ${r.code}:\n${tail(r.stderr || r.stdout)}`);
  const summary = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as { maxRSSKiB?: number };
  return { ...r, maxRSSKiB: summary.maxRSSKiB ?? Number.NaN };
}

/** `skopeo inspect --raw` once per reference, `concurrency` at a time; wall time of the whole loop. */
export async function skopeoLoop(refs: readonly string[], concurrency: number, env: NodeJS.ProcessEnv): Promise<number> {
  const start = performance.now();
  await pool(refs, concurrency, async (ref) => {
    try {
      await execFileAsync('skopeo', ['inspect', '--raw', `docker://${ref}`, '--tls-verify=false'], { env, maxBuffer: 16 * 1024 * 1024 });
    } catch (e) {
      const err = e as Error & { stderr?: string };
      throw new Error(`skopeo inspect --raw docker://${ref} failed: ${tail(err.stderr ?? err.message, 5)}`);
    }
  });
  return performance.now() - start;
}

export interface Skopeo {
  available: boolean;
  version?: string;
  note?: string;
}

/** Debian's skopeo, installed with apt-get when missing (the bench runs as root in CI images). */
export async function ensureSkopeo(log: (s: string) => void): Promise<Skopeo> {
  const version = async (): Promise<string | undefined> => {
    try {
      return (await execFileAsync('skopeo', ['--version'])).stdout.trim();
    } catch {
      return undefined;
    }
  };
  let v = await version();
  if (v) return { available: true, version: v };
  log('skopeo is missing: apt-get install -y skopeo …');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const attempts: string[][] = [
    ['apt-get', 'install', '-y', 'skopeo'],
    ['apt-get', 'update'],
    ['apt-get', 'install', '-y', 'skopeo'],
  ];
  let why = '';
  for (const [cmd, ...args] of attempts) {
    try {
      await execFileAsync(cmd!, args, { env, maxBuffer: 64 * 1024 * 1024, timeout: 300_000 });
      if ((v = await version())) return { available: true, version: v, note: 'installed by the bench with apt-get' };
    } catch (e) {
      why = tail((e as Error & { stderr?: string }).stderr ?? (e as Error).message, 3);
    }
  }
  return {
    available: false,
    note: `skopeo could not be installed (apt-get install -y skopeo: ${why.replace(/\s+/g, ' ').trim() || 'failed'}); column skipped`,
  };
}

/** Self time by module and by function from one V8 .cpuprofile. */
export interface ProfileSummary {
  totalMs: number;
  byModule: Array<{ name: string; ms: number }>;
  byFunction: Array<{ name: string; ms: number }>;
}

interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }>;
  samples: number[];
  timeDeltas: number[];
}

/** One cold `lock` with `--cpu-prof`, summarised. */
export async function profileCold(cwd: string, env: NodeJS.ProcessEnv, dir: string, root: string): Promise<ProfileSummary> {
  const r = await runTimed(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${dir}`, BIN, 'lock'], { cwd, env });
  if (r.code !== 0) throw new Error(`profiled lock exited ${r.code}:\n${tail(r.stderr)}`);
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) throw new Error(`no .cpuprofile written in ${dir}`);
  const prof = JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile;
  const self = new Map<number, number>();
  prof.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (prof.timeDeltas[i] ?? 0) / 1000));
  const byModule = new Map<string, number>();
  const byFunction = new Map<string, number>();
  let totalMs = 0;
  for (const n of prof.nodes) {
    const ms = self.get(n.id) ?? 0;
    if (!ms) continue;
    totalMs += ms;
    const module = moduleName(n.callFrame.url, root);
    const fn = `${n.callFrame.functionName || '(anonymous)'} ${module}${n.callFrame.url ? `:${n.callFrame.lineNumber + 1}` : ''}`;
    byModule.set(module, (byModule.get(module) ?? 0) + ms);
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + ms);
  }
  const top = (m: Map<string, number>, k: number) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, k)
      .map(([name, ms]) => ({ name, ms }));
  return { totalMs, byModule: top(byModule, 12), byFunction: top(byFunction, 15) };
}

function moduleName(url: string, root: string): string {
  if (!url) return '(native/idle/gc)';
  if (url.startsWith('node:')) return 'node: (core)';
  const path = url.replace(/^file:\/\//, '');
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
  if (nm) return nm[1]!;
  return path.startsWith(root) ? path.slice(root.length) : path;
}
