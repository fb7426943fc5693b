import { randomBytes } from 'node:crypto';
import { terminalSafe } from '../safe/text.js';

/** Where the CLI writes; injectable so tests can run main() in-process. */
export interface Io {
  stdout: { write(s: string): unknown; isTTY?: boolean };
  stderr: { write(s: string): unknown; isTTY?: boolean };
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** The real stderr, for a progress display that redraws itself (only lg-pins' own numbers go there). */
  terminal?: NodeJS.WriteStream;
}

export function processIo(): Io {
  return { stdout: process.stdout, stderr: process.stderr, cwd: process.cwd(), env: process.env, terminal: process.stderr };
}

// Colour is marked with a per-process random nonce, turned into ANSI only by the writer after
// everything else was escaped: text from a registry cannot forge a marker it cannot guess.
const NONCE = randomBytes(8).toString('hex');
const MARK = new RegExp(`\ue000${NONCE}([0-9;]{1,8})\ue001`);
const mark = (code: string) => `\ue000${NONCE}${code}\ue001`;

/** Sanitize text, then turn lg-pins' own colour marks into ANSI. */
function render(s: string): string {
  const parts = s.split(MARK);
  // split() with one capture group alternates text and captured codes.
  return parts.map((p, i) => (i % 2 === 1 ? `\u001b[${p}m` : terminalSafe(p))).join('');
}

/**
 * The one place output leaves lg-pins: every write to stdout and stderr goes through the output
 * sanitizer, whatever command wrote it and whatever it quotes.
 */
export function safeIo(io: Io): Io {
  const wrap = (stream: Io['stdout']): Io['stdout'] => ({
    get isTTY() {
      return stream.isTTY;
    },
    write: (s: string) => stream.write(render(s)),
  });
  return { ...io, stdout: wrap(io.stdout), stderr: wrap(io.stderr) };
}

/** Colour only on a TTY, and never with NO_COLOR. */
export function colours(io: Io, stream: 'stdout' | 'stderr') {
  const on = Boolean(io[stream].isTTY) && !('NO_COLOR' in io.env && io.env.NO_COLOR !== '') && io.env.TERM !== 'dumb';
  const wrap = (code: string) => (s: string) => (on ? `${mark(code)}${s}${mark('0')}` : s);
  return { red: wrap('31'), green: wrap('32'), yellow: wrap('33'), dim: wrap('2'), bold: wrap('1') };
}
