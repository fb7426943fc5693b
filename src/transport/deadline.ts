import { DeadlineError } from '../errors.js';
import { LIMITS } from '../safe/limits.js';
import type { Deadline, Layer } from './types.js';

/**
 * The deadline layer: one timer for the whole try, the headers, every redirect and the whole body.
 * An idle timer re-armed per chunk would let a server trickle a byte a second forever. undici's own
 * timeouts run on a coarse ~1 s timer, so a native timer holds this one. It sits outside the follow
 * layer (redirects share the try's time) and inside the retry layer (each try gets its own).
 * `bound` names what set the deadline, for the message.
 *
 * A streamed transfer (`streamBytes`, a blob up or down) gets its size's worth of time more at the
 * floor rate; a streamed answer keeps the timer running until its body is read or let go, and a
 * deadline passed while it is read ends the stream with the DeadlineError.
 */
export function deadline(ms: number, bound?: string): Layer {
  return (next) => async (req) => {
    const abort = new AbortController();
    const clock: Deadline = { signal: abort.signal, reading: false };
    const extra = req.streamBytes ? Math.ceil((req.streamBytes / LIMITS.minTransferRate) * 1000) : 0;
    const timer = setTimeout(() => abort.abort(new DeadlineError(ms + extra, clock.reading, bound)), ms + extra);
    let handedOver = false;
    try {
      const res = await next({ ...req, deadline: clock });
      const stream = res.stream;
      if (stream) {
        handedOver = true;
        const onAbort = () => stream.destroy(abort.signal.reason as Error);
        abort.signal.addEventListener('abort', onAbort, { once: true });
        stream.once('close', () => {
          clearTimeout(timer);
          abort.signal.removeEventListener('abort', onAbort);
        });
      }
      return res;
    } catch (e) {
      // An abort surfaces as undici's AbortError (or the reason itself); report the deadline.
      if (abort.signal.aborted && abort.signal.reason instanceof DeadlineError) throw abort.signal.reason;
      throw e;
    } finally {
      if (!handedOver) clearTimeout(timer);
    }
  };
}
