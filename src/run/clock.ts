import { UsageError } from '../errors.js';

/**
 * The run's clock: `LG_PINS_NOW` (RFC 3339, e.g. 2026-12-04T10:00:00Z, for reproducible runs and
 * tests) when set, else the system's. A value that is not an RFC 3339 date-time is exit 2.
 */
export function clockFrom(env: NodeJS.ProcessEnv): Date {
  const text = env.LG_PINS_NOW;
  if (text === undefined || text === '') return new Date();
  const ok = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})$/.test(text);
  const at = ok ? new Date(text) : undefined;
  if (!at || Number.isNaN(at.getTime()))
    throw new UsageError(`LG_PINS_NOW=${JSON.stringify(text)} is not an RFC 3339 date-time (e.g. 2026-12-04T10:00:00Z)`);
  return at;
}
