import { DeadlineError } from '../errors.js';
import type { Deadline, Layer } from './types.js';

/**
 * The deadline layer: one timer for the whole try, the headers, every redirect and the whole body.
 * An idle timer re-armed per chunk would let a server trickle a byte a second forever. undici's own
 * timeouts run on a coarse ~1 s timer, so a native timer holds this one. It sits outside the follow
 * layer (redirects share the try's time) and inside the retry layer (each try gets its own).
 * `bound` names what set the deadline, for the message.
 */
export function deadline(ms: number, bound?: string): Layer {
  return (next) => async (req) => {
    const abort = new AbortController();
    const clock: Deadline = { signal: abort.signal, reading: false };
    const timer = setTimeout(() => abort.abort(new DeadlineError(ms, clock.reading, bound)), ms);
    try {
      return await next({ ...req, deadline: clock });
    } catch (e) {
      // An abort surfaces as undici's AbortError (or the reason itself); report the deadline.
      if (abort.signal.aborted && abort.signal.reason instanceof DeadlineError) throw abort.signal.reason;
      throw e;
    } finally {
      clearTimeout(timer);
    }
  };
}
