import type { ResolveCallbacks } from '../run/resolve.js';
import type { ClientOptions } from '../registry/client.js';
import { progressLine } from '../render/lock.js';
import { colours, type Io } from './io.js';

/** Flags every command takes. */
export interface GlobalOptions {
  config?: string;
  verbose?: boolean;
  json?: boolean;
  /** Seconds, for commands that use the network. */
  timeout?: number;
}

export interface ProposeFlags {
  dryRun?: boolean;
  remote?: string;
  base?: string;
  branch?: string;
  label?: string[];
  author?: string;
}

/** The registry client's options from the flags and the CLI's environment (credential lookup included). */
export function clientOptions(o: GlobalOptions, io: Io): ClientOptions {
  const opts: ClientOptions = { env: io.env };
  if (o.timeout) opts.policy = { timeoutMs: o.timeout * 1000 };
  // URLs and statuses only: headers (and so credentials) never reach the trace.
  if (o.verbose) opts.onRequest = (e) => io.stderr.write(`${e.method} ${e.url} → ${e.status}\n`);
  return opts;
}

/** A line per image on a terminal (stderr), none with --json or off a terminal. */
export function progressCallbacks(o: GlobalOptions, io: Io): ResolveCallbacks {
  if (!io.stderr.isTTY || o.json) return {};
  const paint = colours(io, 'stderr');
  return { onImageDone: (id, out) => io.stderr.write(progressLine(id, out, paint)) };
}
