/**
 * `lg-pins audit --from FILE...` (offline): what the hosts report running, judged against the lock
 * (plan/audit.ts). `-` reads standard input. Exit 0 when every host runs what it should, 1
 * otherwise; a report that cannot be read is exit 2 naming its file and line or path.
 */
import { resolve } from 'node:path';
import { loadSpec, type LoadOptions } from '../config/load.js';
import type { Spec } from '../config/spec.js';
import type { Lock } from '../lock/model.js';
import { FileError, LockError, UsageError } from '../errors.js';
import { parseReports } from '../audit/reports.js';
import { readLock } from '../lock/read.js';
import { audit, type AuditResult, type HostReport } from '../plan/audit.js';
import { canonicalName, parseMirrorTarget, registryKey } from '../reference.js';
import { own } from '../safe/dict.js';
import { FileReadError, readText } from '../safe/files.js';
import { LIMITS } from '../safe/limits.js';

export interface AuditOptions extends LoadOptions {
  from: string[];
  /** Where `-` reads from (default: process.stdin). */
  stdin?: () => Promise<string>;
}

export interface AuditRunResult extends AuditResult {
  lockFile: string;
  reports: number;
  exitCode: 0 | 1;
}

export async function runAudit(opts: AuditOptions): Promise<AuditRunResult> {
  if (!opts.from.length) throw new UsageError('audit needs at least one --from FILE (a report of what hosts run; - for standard input)');
  const spec = await loadSpec(opts);
  const lock = await readLock(spec.lockFile);
  if (!lock) throw new LockError(`${spec.lockFile}: there is no lock yet, so nothing to audit against; run \`lg-pins lock\` first`);
  const { result, reports } = await auditReports(spec, lock, opts);
  return { ...result, lockFile: spec.lockFile, reports, exitCode: result.rows.length === 0 ? 0 : 1 };
}

/** Read every report of `opts.from` and judge them against the lock (for `audit` and `report`). */
export async function auditReports(
  spec: Spec,
  lock: Lock,
  opts: Pick<AuditOptions, 'from' | 'cwd' | 'stdin'>,
): Promise<{ result: AuditResult; reports: number }> {
  const reports: HostReport[] = [];
  for (const file of opts.from) {
    const text = file === '-' ? await (opts.stdin ?? readStdin)() : await readReport(file, opts.cwd ?? process.cwd());
    for (const r of parseReports(text, file === '-' ? '<stdin>' : file)) reports.push(r);
  }
  const repositoriesOf = (id: string): string[] => {
    const image = own(spec.images, id);
    const source = image?.source;
    if (!source || source.kind !== 'registry') return [];
    const names = [canonicalName(source.ref)];
    for (const m of own(spec.registries, registryKey(source.ref.registry))?.mirrors ?? []) {
      const t = parseMirrorTarget(m, spec.dir);
      if (typeof t !== 'string' && t.kind === 'registry') names.push(`${t.host}/${t.prefix ? `${t.prefix}/` : ''}${source.ref.repository}`);
    }
    return names;
  };
  return { result: audit(spec, lock, reports, repositoriesOf), reports: reports.length };
}

async function readReport(file: string, cwd: string): Promise<string> {
  try {
    return await readText(resolve(cwd, file), LIMITS.reportBytes, 'a host report');
  } catch (e) {
    if (!(e instanceof FileReadError)) throw e;
    throw new FileError(`${file}: cannot read the report: ${e.detail}`, { cause: e });
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of process.stdin) {
    size += (c as Buffer).length;
    if (size > LIMITS.reportBytes) throw new FileError(`<stdin>: the report is larger than ${LIMITS.reportBytes / 1024 / 1024} MiB`);
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
