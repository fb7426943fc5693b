/**
 * Small shared pieces of the benchmark: where the repository is, medians, a bounded worker pool,
 * and timing one child process from spawn to exit (so its startup counts).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The repository root: the nearest directory above this file holding bin/lg-pins.js. This file
 * runs compiled as `<root>/node_modules/.cache/lg-pins-bench/scripts/bench/util.js` (a build
 * cache that git, eslint and vitest already ignore) and is type-checked in place.
 */
export const ROOT: string = (() => {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'bin', 'lg-pins.js'))) return `${dir}${sep}`;
    if (dirname(dir) === dir) throw new Error(`cannot find the lg-pins repository root above ${import.meta.url}`);
  }
})();

export const BIN = `${ROOT}bin/lg-pins.js`;
/** The directory of the running (compiled) bench, where wire.js and rss.js live beside main.js. */
export const BENCH_OUT: string = fileURLToPath(new URL('.', import.meta.url));

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Run `work(item)` for every item, at most `concurrency` at a time; results in input order. */
export async function pool<T, R>(items: readonly T[], concurrency: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return results;
}

export interface Timed {
  ms: number;
  code: number;
  stdout: string;
  stderr: string;
}

/** Spawn a command and time it from spawn to exit (wall clock). Never rejects for a non-zero exit. */
export function runTimed(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Timed> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.once('error', reject);
    child.once('close', (code, signal) => {
      const ms = performance.now() - start;
      resolve({
        ms,
        code: code ?? (signal ? 128 : 1),
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      });
    });
  });
}

export const fmtMs = (ms: number): string =>
  Number.isNaN(ms) ? 'n/a' : ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`;
export const fmtRatio = (r: number): string => (Number.isFinite(r) ? `${r.toFixed(2)}×` : 'n/a');

/** The last lines of a child's output, for error messages. */
export const tail = (text: string, lines = 15): string => text.trimEnd().split('\n').slice(-lines).join('\n');
