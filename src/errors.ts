import { capMessage } from './safe/text.js';

/**
 * The typed error family: every error class of lg-pins, one base per exit code. The CLI is the one
 * place that maps them to exit codes (README "Exit codes"); the core throws or returns them as
 * data. The classes at the end are internal signals that never leave the module that catches them.
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
  /** Messages are capped (a 200 KB message helps nobody); bad input caps each of its issues instead. */
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

// ---- Exit 2: bad input -------------------------------------------------------------------------

/**
 * Bad input (exit 2): a message, or every located issue found in an input file (at most 100, each
 * capped). The subclass says which input.
 */
export abstract class BadInputError extends LgPinsError {
  readonly exitCode = ExitCode.badInput;
  readonly issues: SpecIssue[];
  constructor(issues: SpecIssue[] | string, options?: { cause?: unknown }) {
    const all = typeof issues === 'string' ? [] : issues.map((i) => ({ ...i, message: capMessage(i.message) }));
    const list =
      all.length > MAX_ISSUES
        ? [...all.slice(0, MAX_ISSUES), { file: all[MAX_ISSUES]!.file, path: '', message: `and ${all.length - MAX_ISSUES} more problems` }]
        : all;
    super(typeof issues === 'string' ? capMessage(issues) : list.map(formatIssue).join('\n'), { cause: options?.cause, uncapped: true });
    this.issues = list;
  }
}

/** Flags and arguments. */
export class UsageError extends BadInputError {}

/** The spec and the files it names (hosts files, keys). */
export class SpecError extends BadInputError {}

/** The lock file: unreadable, damaged or of another version. */
export class LockError extends BadInputError {}

/** Registry credentials: a Docker config.json, a containers auth.json, LG_PINS_REGISTRY_AUTH. */
export class AuthConfigError extends BadInputError {}

/** TLS trust and proxy settings outside the spec: a certs.d directory, NODE_EXTRA_CA_CERTS, HTTPS_PROXY. */
export class TrustConfigError extends BadInputError {}

/** A file lg-pins must write (or a path it must write through) that it refuses or the system refuses. */
export class FileError extends BadInputError {}

/** Deploy outputs that cannot be rendered or written: a foreign file in the way, groups one file cannot serve. */
export class OutputError extends BadInputError {}

/** A platform string that cannot be understood. */
export class PlatformError extends BadInputError {}

/** A string that is not a valid image reference. */
export class InvalidReferenceError extends BadInputError {
  /** The string that failed to parse, exactly as given. */
  readonly input: string;
  constructor(input: string, problem: string) {
    super(`invalid image reference "${input}": ${problem}`);
    this.input = input;
  }
}

// ---- Exit 3: something outside cannot serve the fleet -------------------------------------------

/** A registry, network, credential or git-host failure, or a release that cannot serve the fleet. */
export abstract class UnavailableError extends LgPinsError {
  readonly exitCode = ExitCode.unavailable;
}

/** A registry, network or credential failure, or a tag that cannot serve the fleet. */
export class RegistryError extends UnavailableError {
  readonly registry: string | undefined;
  readonly status: number | undefined;
  /** The registry's own error code (distribution-spec `errors[0].code`, e.g. MANIFEST_UNKNOWN), when it sent one. */
  readonly code: string | undefined;
  /** The registry could not be reached at all (connection refused, reset, timed out). */
  readonly unreachable: boolean;
  constructor(
    message: string,
    details: { registry?: string; status?: number; code?: string; unreachable?: boolean; cause?: unknown } = {},
  ) {
    super(message, { cause: details.cause });
    this.registry = details.registry;
    this.status = details.status;
    this.code = details.code;
    this.unreachable = details.unreachable ?? false;
  }
}

/** A git or git-host (GitHub, GitLab) failure: push rejected, API refused, rate limited. */
export class GitHostError extends UnavailableError {
  readonly status: number | undefined;
  constructor(message: string, details: { status?: number; cause?: unknown } = {}) {
    super(message, { cause: details.cause });
    this.status = details.status;
  }
}

/** A fleet group whose platform the release does not ship. */
export class CoverageError extends UnavailableError {}

// ---- Exit 4 and 70 ------------------------------------------------------------------------------

/** Content that does not hash to its digest, or a bad or missing required signature. Exit 4. */
export class IntegrityError extends LgPinsError {
  readonly exitCode = ExitCode.integrity;
}

/** Something that should never happen: a bug in lg-pins. Exit 70. */
export class InternalError extends LgPinsError {
  readonly exitCode = ExitCode.internal;
}

/** The worst class wins: 4 over 3 over 2 over 1 (and an internal error over everything). */
export function worstExitCode(codes: Iterable<number>): ExitCode {
  let worst = 0;
  for (const c of codes) if (c > worst) worst = c;
  return worst as ExitCode;
}

// ---- Internal signals: caught by the module that made them, turned into the family above ---------

export type FileRefusal = 'missing' | 'not-regular' | 'too-large' | 'unreadable';

/** Why a file could not be read (safe/files.ts); the message names the file and never holds its content. */
export class FileReadError extends Error {
  constructor(
    readonly file: string,
    readonly reason: FileRefusal,
    /** The reason without the file name, e.g. "it is a FIFO (named pipe); a lock must be a regular file". */
    readonly detail: string,
    readonly errno?: string,
  ) {
    super(`${file}: ${detail}`);
    this.name = 'FileReadError';
  }
}

/** A JSON value of the wrong shape (safe/json.ts): names the field, what was expected and what came. */
export class ShapeError extends Error {
  constructor(
    readonly field: string,
    readonly expected: string,
    readonly got: string,
  ) {
    super(`${field || 'the document'} must be ${expected}, got ${got}`);
    this.name = 'ShapeError';
  }
}

/** A manifest lg-pins cannot use. `unsupported` marks valid content of a kind lg-pins does not pin (schema 1). */
export class ManifestError extends Error {
  constructor(
    message: string,
    readonly unsupported = false,
  ) {
    super(message);
    this.name = 'ManifestError';
  }
}

/**
 * A try's deadline passed (headers and body together). Retried like a timeout. `bound` says what set
 * the deadline, for the message (a registry's: "the --timeout of each try").
 */
export class DeadlineError extends Error {
  readonly code = 'LG_PINS_DEADLINE';
  constructor(
    readonly ms: number,
    /** The headers had arrived: the body was being read. */
    readonly reading: boolean,
    bound?: string,
  ) {
    const limit = `${ms / 1000} s${bound ? `, ${bound}` : ''}`;
    super(
      reading
        ? `timed out reading the response (the whole answer must arrive within ${limit})`
        : `timed out waiting for the response (no answer within ${limit})`,
    );
    this.name = 'DeadlineError';
  }
}

export type TransportFailure = 'unreachable' | 'redirects' | 'redirect-refused' | 'too-large' | 'tls' | 'proxy';

/**
 * The transport stack (src/transport/) gave up on a request: no answer after every attempt
 * (`unreachable`, the last error as `cause`), too many redirects, a redirect it refuses to follow,
 * or a body over its cap. The message is neutral ("more than 5 redirects from https://host");
 * each caller turns it into its own error: a RegistryError naming the registry, a GitHostError
 * naming the API. It is a verdict, never retried: the same request would meet the same one.
 */
export class TransportError extends Error {
  readonly status: number | undefined;
  constructor(
    readonly kind: TransportFailure,
    message: string,
    details: { status?: number; cause?: unknown } = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'TransportError';
    this.status = details.status;
  }
}

/** A network failure on the way through a proxy: the original error (its code kept), and the proxy to name. */
export class ProxiedNetworkError extends Error {
  readonly code: string | undefined;
  constructor(
    cause: Error,
    /** The proxy without its credentials (`http://proxy.example:3128`). */
    readonly proxy: string,
  ) {
    super(cause.message, { cause });
    this.name = 'ProxiedNetworkError';
    this.code = (cause as NodeJS.ErrnoException).code ?? (cause.cause as NodeJS.ErrnoException | undefined)?.code;
  }
}
