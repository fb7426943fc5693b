/**
 * `lg-pins audit` at fleet scale: 100,000 host reports (JSON lines, one a host: 90 % current, 5 %
 * the wrong platform, 5 % an old digest) against the lock of the big fleet (2,000 groups of 50
 * hosts, one image; written by the built planner and serializer), judged by the BUILT CLI in a
 * fresh process. Wall time (median) and peak RSS (through rss.js).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type * as Load from '../../src/config/load.js';
import type * as LockPlan from '../../src/plan/lock-plan.js';
import type * as Serialize from '../../src/lock/serialize.js';
import { bigFleet } from './fleet.js';
import { BENCH_OUT, BIN, median, ROOT, runTimed } from './util.js';

export interface AuditBenchResult {
  reports: number;
  groups: number;
  rounds: number;
  ms: number;
  maxRssKiB: number;
  exitCode: number;
}

export async function auditBench(rounds: number, dir: string): Promise<AuditBenchResult> {
  const dist = (p: string) => pathToFileURL(`${ROOT}dist/${p}`).href;
  const { parseSpec } = (await import(dist('config/load.js'))) as typeof Load;
  const { planLock } = (await import(dist('plan/lock-plan.js'))) as typeof LockPlan;
  const { serializeLock } = (await import(dist('lock/serialize.js'))) as typeof Serialize;
  mkdirSync(dir, { recursive: true });
  const specFile = join(dir, 'lg-pins.yaml');
  // One image, so that each of the 100,000 hosts reports one container (a report a host).
  const { text, outcomes, groups } = await bigFleet({ images: 1 });
  writeFileSync(specFile, text);
  const spec = parseSpec(text, specFile);
  const lock = planLock(spec, undefined, outcomes).lock;
  writeFileSync(join(dir, 'lg-pins.lock.yaml'), serializeLock(lock));

  const lines: string[] = [];
  let n = 0;
  for (const g of Object.values(spec.fleet)) {
    const image = g.images[0]!; // the one image
    const entry = lock.images[image]!;
    const pin = lock.fleet[g.id]![image]!;
    const other = Object.values(entry.platforms).find((p) => p.digest !== pin.digest)!.digest;
    for (const host of g.hosts) {
      const digest = n % 20 === 0 ? other : n % 20 === 1 ? `sha256:${(n % 16).toString(16).repeat(64)}` : pin.digest;
      lines.push(JSON.stringify({ host, image: `registry.example.com/fleet/${image}@${digest}` }));
      n++;
    }
  }
  writeFileSync(join(dir, 'reports.jsonl'), `${lines.join('\n')}\n`);
  const args = ['audit', '--from', 'reports.jsonl'];
  const times: number[] = [];
  let exitCode = 0;
  for (let r = 0; r < rounds; r++) {
    const res = await runTimed(process.execPath, [BIN, ...args], { cwd: dir });
    // Exit 1: the generated drift is found.
    if (res.code !== 1) throw new Error(`audit bench: lg-pins audit exited ${res.code}: ${res.stderr.slice(0, 500)}`);
    exitCode = res.code;
    times.push(res.ms);
  }
  const out = join(dir, 'rss.json');
  await runTimed(process.execPath, [`${BENCH_OUT}rss.js`, out, ...args], { cwd: dir });
  const { maxRSSKiB } = JSON.parse(readFileSync(out, 'utf8')) as { maxRSSKiB: number };
  return { reports: lines.length, groups, rounds, ms: median(times), maxRssKiB: maxRSSKiB, exitCode };
}
