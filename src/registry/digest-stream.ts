import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { digestAlgorithm, type Digest } from '../digest.js';
import { IntegrityError } from '../errors.js';

/**
 * A pass-through that hashes a blob on its way and ends in an IntegrityError (exit 4) when the
 * bytes are not the blob they claim to be: more bytes than the descriptor's size (at once, before
 * they are passed on), or, at the end, fewer bytes or another digest. Whoever reads the stream
 * (an upload, a file) therefore never completes with bad content: the error arrives before the
 * stream ends. `onBytes` counts what has passed, for progress.
 */
export class DigestCheck extends Transform {
  private readonly hash: Hash;
  private seen = 0;

  constructor(
    private readonly expected: { digest: Digest; size: number },
    /** For messages: where the bytes come from (`registry/repo`, a layout). */
    private readonly from: string,
    private readonly onBytes?: (n: number) => void,
  ) {
    super();
    this.hash = createHash(digestAlgorithm(expected.digest));
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.seen += chunk.length;
    if (this.seen > this.expected.size) {
      done(
        new IntegrityError(
          `${this.from}: blob ${this.expected.digest} is larger than its descriptor's ${this.expected.size} bytes; refusing it`,
        ),
      );
      return;
    }
    this.hash.update(chunk);
    this.onBytes?.(chunk.length);
    done(null, chunk);
  }

  override _flush(done: TransformCallback): void {
    if (this.seen !== this.expected.size) {
      done(
        new IntegrityError(
          `${this.from}: blob ${this.expected.digest} is ${this.seen} bytes, its descriptor says ${this.expected.size}; refusing it`,
        ),
      );
      return;
    }
    const actual = `${digestAlgorithm(this.expected.digest)}:${this.hash.digest('hex')}`;
    if (actual !== this.expected.digest) {
      done(new IntegrityError(`${this.from}: blob ${this.expected.digest} hashes to ${actual}; refusing it`));
      return;
    }
    done();
  }
}
