import { capMessage } from './safe/text.js';

/**
 * The typed error family. The CLI is the one place that maps these to exit codes
 * (see contract.md "Exit codes"); the core throws or returns them as data.
 */
export const ExitCode = {
  ok: 0,
  changes: 1,
  badInput: 2,
  unavailable: 3,
  integrity: 4,
  /** A bug in lg-pins (EX_SOFTWARE): never expected, always worth a report. */
  internal: 70,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export abstract class LgPinsError extends Error {
  abstract readonly exitCode: ExitCode;
  /** Messages are capped (a 200 KB message helps nobody); SpecError caps each of its issues instead. */
  constructor(message: string, options?: { cause?: unknown; uncapped?: boolean }) {
    super(options?.uncapped ? message : capMessage(message), options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
  }
}

/** One problem in an input file, located as precisely as we can. */
export interface SpecIssue {
  file: string;
  /** 1-based; absent when only the key path is known. */
  line?: number;
  column?: number;
  /** Dotted key path, e.g. `images.agent.ref`. */
  path: string;
  message: string;
}

export function formatIssue(i: SpecIssue): string {
  const where = i.line !== undefined ? `${i.file}:${i.line}:${i.column ?? 1}` : i.file;
  return `${where}: ${i.path ? `${i.path}: ` : ''}${i.message}`;
}

/** Issues reported at once, at most; the rest are counted. */
const MAX_ISSUES = 100;

/** Bad input: usage, spec, lock or inventory file. Exit 2. Carries every issue found (up to 100, each capped). */
export class SpecError extends LgPinsError {
  readonly exitCode = ExitCode.badInput;
  readonly issues: SpecIssue[];
  constructor(issues: SpecIssue[] | string, options?: { cause?: unknown }) {
    const all = typeof issues === 'string' ? [] : issues.map((i) => ({ ...i, message: capMessage(i.message) }));
    const list = all.length > MAX_ISSUES ? [...all.slice(0, MAX_ISSUES), { file: all[MAX_ISSUES]!.file, path: '', message: `and ${all.length - MAX_ISSUES} more problems` }] : all;
    super(typeof issues === 'string' ? capMessage(issues) : list.map(formatIssue).join('\n'), { cause: options?.cause, uncapped: true });
    this.issues = list;
  }
}

export class UsageError extends LgPinsError {
  readonly exitCode = ExitCode.badInput;
}

/** A registry, network or credential failure, or a tag that cannot serve the fleet. Exit 3. */
export class RegistryError extends LgPinsError {
  readonly exitCode = ExitCode.unavailable;
  readonly registry: string | undefined;
  readonly status: number | undefined;
  /** The registry could not be reached at all (connection refused, reset, timed out). */
  readonly unreachable: boolean;
  constructor(message: string, details: { registry?: string; status?: number; unreachable?: boolean; cause?: unknown } = {}) {
    super(message, { cause: details.cause });
    this.registry = details.registry;
    this.status = details.status;
    this.unreachable = details.unreachable ?? false;
  }
}

/** A git or git-host (GitHub, GitLab) failure: push rejected, API refused, rate limited. Exit 3. */
export class GitHostError extends LgPinsError {
  readonly exitCode = ExitCode.unavailable;
  readonly status: number | undefined;
  constructor(message: string, details: { status?: number; cause?: unknown } = {}) {
    super(message, { cause: details.cause });
    this.status = details.status;
  }
}

/** A fleet group whose platform the release does not ship. Exit 3. */
export class CoverageError extends LgPinsError {
  readonly exitCode = ExitCode.unavailable;
}

/** Content that does not hash to its digest, or a bad or missing required signature. Exit 4. */
export class IntegrityError extends LgPinsError {
  readonly exitCode = ExitCode.integrity;
}

/** A file lg-pins must read or write (the lock, an inventory) that the system refuses. Exit 2. */
export class FileError extends LgPinsError {
  readonly exitCode = ExitCode.badInput;
}

/** Something that should never happen: a bug in lg-pins. Exit 70. */
export class InternalError extends LgPinsError {
  readonly exitCode = ExitCode.internal;
}

export function exitCodeOf(err: unknown): ExitCode {
  if (err instanceof LgPinsError) return err.exitCode;
  return ExitCode.badInput;
}

/** The worst class wins: 4 over 3 over 2 over 1 (and an internal error over everything). */
export function worstExitCode(codes: Iterable<number>): ExitCode {
  let worst = 0;
  for (const c of codes) if (c > worst) worst = c;
  return worst as ExitCode;
}
