/**
 * The one bounded file reader. Every input file (spec, lock, hosts file, auth files, keys, OCI
 * layouts) is read through here: only a regular file (a FIFO, a device such as /dev/zero, a socket
 * or a directory is refused before a byte is read, so nothing can hang or stream forever), and at
 * most `maxBytes` (checked before reading and while reading, for files such as /proc entries that
 * report no size).
 */
import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from 'node:fs';
import { FileReadError } from '../errors.js';
import { formatBytes } from './limits.js';

export { FileReadError };

// O_NONBLOCK: opening a FIFO with no writer returns at once (then fstat refuses it) instead of blocking.
const FLAGS = constants.O_RDONLY | constants.O_NONBLOCK;

function kind(st: Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

function openError(file: string, e: unknown): FileReadError {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return new FileReadError(file, 'missing', 'no such file', code);
  if (code === 'EISDIR') return new FileReadError(file, 'not-regular', 'it is a directory, not a file', code);
  const words: Record<string, string> = {
    EACCES: 'permission denied',
    EPERM: 'operation not permitted',
    ELOOP: 'too many symbolic links',
    ENOTDIR: 'a path component is not a directory',
    ENAMETOOLONG: 'the path is too long',
  };
  return new FileReadError(file, 'unreadable', `cannot read it: ${(code && words[code]) ?? code ?? 'unknown error'}`, code);
}

function check(file: string, st: Stats, maxBytes: number, what: string): void {
  if (!st.isFile()) throw new FileReadError(file, 'not-regular', `it is ${kind(st)}; ${what} must be a regular file`);
  if (st.size > maxBytes) throw tooLarge(file, maxBytes, what, st.size);
}

function tooLarge(file: string, maxBytes: number, what: string, size?: number): FileReadError {
  return new FileReadError(
    file,
    'too-large',
    `${size !== undefined ? `it is ${formatBytes(size)}` : 'it is too large'}; lg-pins reads at most ${formatBytes(maxBytes)} of ${what}`,
  );
}

/** Read a whole regular file of at most `maxBytes`. `what` names it in messages ("a hosts file"). */
export function readBoundedSync(file: string, maxBytes: number, what: string): Buffer {
  let fd: number;
  try {
    fd = openSync(file, FLAGS);
  } catch (e) {
    throw openError(file, e);
  }
  try {
    check(file, fstatSync(fd), maxBytes, what);
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const buf = Buffer.allocUnsafe(Math.min(64 * 1024, maxBytes + 1 - total));
      let n: number;
      try {
        n = readSync(fd, buf, 0, buf.length, null);
      } catch (e) {
        throw openError(file, e);
      }
      if (n === 0) break;
      total += n;
      if (total > maxBytes) throw tooLarge(file, maxBytes, what);
      chunks.push(buf.subarray(0, n));
    }
    return Buffer.concat(chunks, total);
  } finally {
    closeSync(fd);
  }
}

/**
 * The promise form of readBoundedSync, for async callers. Input files are small and bounded, and a
 * FIFO or device is refused before any read, so a synchronous read never blocks for long.
 */
export async function readBounded(file: string, maxBytes: number, what: string): Promise<Buffer> {
  return readBoundedSync(file, maxBytes, what);
}

/** Read as UTF-8 text; bytes that are not UTF-8 become U+FFFD (callers escape what they quote). */
export function readTextSync(file: string, maxBytes: number, what: string): string {
  return readBoundedSync(file, maxBytes, what).toString('utf8');
}

export async function readText(file: string, maxBytes: number, what: string): Promise<string> {
  return (await readBounded(file, maxBytes, what)).toString('utf8');
}
