import { errorExitCode, errorJson, errorText } from '../render/error.js';
import { jsonDocument } from '../render/paint.js';
import { colours, type Io } from './io.js';

/**
 * The one top-level handler: a message on stderr, no stack trace (unless --verbose for an internal
 * error); with --json also one JSON document on stdout, so scripts always get something to parse.
 */
export function reportError(e: unknown, io: Io, verbose: boolean, json = false): number {
  if (json) io.stdout.write(jsonDocument(errorJson(e)));
  io.stderr.write(errorText(e, verbose, colours(io, 'stderr')));
  return errorExitCode(e);
}
