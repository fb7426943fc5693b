/** A ref as the spec (or a lock, or `inspect`) writes it, turned into where its content comes from. */
import { isAbsolute, resolve } from 'node:path';
import { InvalidReferenceError } from '../errors.js';
import { parseLayoutReference, parseRepository } from '../reference.js';
import { locateLayout } from '../registry/layout.js';
import type { SourceRef } from './spec.js';

/**
 * `oci-layout://<dir>[/<repo>]`, `oci:<dir>` (relative to `baseDir`), or a registry repository.
 * Returns the problem as a string when invalid (the caller quotes the ref).
 */
export function parseSourceRef(ref: string, baseDir: string): SourceRef | string {
  const layout = parseLayoutReference(ref);
  if (typeof layout === 'string') return layout;
  if (layout) return locateLayout(isAbsolute(layout.path) ? layout.path : resolve(baseDir, layout.path));
  try {
    return { kind: 'registry', ref: parseRepository(ref) };
  } catch (e) {
    if (!(e instanceof InvalidReferenceError)) throw e;
    // Drop the error's own `invalid image reference "<ref>": ` prefix: the caller quotes the ref.
    const prefix = `invalid image reference "${ref}": `;
    return e.message.startsWith(prefix) ? e.message.slice(prefix.length) : e.message;
  }
}
