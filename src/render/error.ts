import { BadInputError, ExitCode, LgPinsError } from '../errors.js';
import type { Paint } from './paint.js';

/** The exit code of anything thrown: its class's, or 70 for what is not an lg-pins error (a bug). */
export function errorExitCode(e: unknown): ExitCode {
  return e instanceof LgPinsError ? e.exitCode : ExitCode.internal;
}

/** The `--json` document of a command that failed outright: exit code, message, located issues. */
export function errorJson(e: unknown): object {
  const err = e instanceof Error ? e : new Error(String(e));
  const issues = e instanceof BadInputError ? e.issues : [];
  return { error: { exitCode: errorExitCode(e), message: err.message, ...(issues.length ? { issues } : {}) } };
}

/** The message on stderr: every issue on its own line; a stack trace only for a bug, and only with --verbose. */
export function errorText(e: unknown, verbose: boolean, paint: Paint): string {
  const err = e instanceof Error ? e : new Error(String(e));
  if (e instanceof BadInputError && e.issues.length > 1) {
    return `${paint.red('error:')} ${e.issues.length} problems:\n${e.message
      .split('\n')
      .map((l) => `  ${l}`)
      .join('\n')}\n`;
  }
  if (e instanceof LgPinsError && e.exitCode !== ExitCode.internal) return `${paint.red('error:')} ${e.message}\n`;
  return `${paint.red('lg-pins: internal error:')} ${err.message}\n${verbose ? `${err.stack ?? ''}\n` : 'This is a bug in lg-pins: run with --verbose for details, and please report it.\n'}`;
}
