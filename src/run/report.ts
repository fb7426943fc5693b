/**
 * `lg-pins report --html FILE [--from FILE...]` (offline): the fleet at a glance as one HTML page,
 * written whole (a temporary file, then renamed). A report, not a gate: exit 0 once written, 2 on
 * bad input (the spec, the lock, a host report, the output path).
 */
import { relative, resolve } from 'node:path';
import { loadSpec, type LoadOptions } from '../config/load.js';
import { FileError, LockError, UsageError } from '../errors.js';
import { commitFiles } from '../lock/commit.js';
import { readLock } from '../lock/read.js';
import { reportHtml } from '../render/report-html.js';
import { auditReports } from './audit.js';

export interface ReportOptions extends LoadOptions {
  html?: string;
  from?: string[];
  stdin?: () => Promise<string>;
}

export interface ReportResult {
  file: string;
  bytes: number;
  /** Host reports read (with --from). */
  reports: number;
}

export async function report(opts: ReportOptions): Promise<ReportResult> {
  if (!opts.html) throw new UsageError('report needs --html FILE: the page to write');
  const spec = await loadSpec(opts);
  const lock = await readLock(spec.lockFile);
  if (!lock) throw new LockError(`${spec.lockFile}: there is no lock yet, so nothing to report; run \`lg-pins lock\` first`);
  const cwd = opts.cwd ?? process.cwd();
  const judged = opts.from?.length ? await auditReports(spec, lock, { from: opts.from, cwd, stdin: opts.stdin }) : undefined;
  const html = reportHtml({ spec, lock, lockName: relative(cwd, spec.lockFile) || spec.lockFile, audit: judged?.result });
  const file = resolve(cwd, opts.html);
  try {
    await commitFiles([{ file, content: html }]);
  } catch (e) {
    throw new FileError(`cannot write ${opts.html}: ${(e as Error).message}`, { cause: e });
  }
  return { file, bytes: Buffer.byteLength(html), reports: judged?.reports ?? 0 };
}
