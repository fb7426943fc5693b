import { resolve } from 'node:path';
import { isDigest } from '../digest.js';
import { loadSpec } from '../config/load.js';
import { InvalidReferenceError, UsageError } from '../errors.js';
import { canonicalName, parseLayoutReference, parseReference } from '../reference.js';
import type { ClientOptions } from '../registry/client.js';
import { resolveFetched, type Resolution } from '../registry/resolve.js';
import { parseSourceRef } from '../config/refs.js';
import type { Image, Spec } from '../config/spec.js';
import { mergeRegistries, Sources } from './sources.js';

export interface InspectResult extends Resolution {
  /** The reference as resolved: registry/repository:tag or @digest. */
  reference: string;
}

/**
 * Show what a tag (or digest) holds: `registry/repo[:tag|@digest]`, or an OCI layout
 * `oci-layout://dir[/repo][:tag|@digest]`. The tag defaults to `latest`.
 */
export async function inspect(ref: string, opts: { cwd?: string; config?: string; client?: ClientOptions } = {}): Promise<InspectResult> {
  const cwd = resolve(opts.cwd ?? process.cwd());
  const { image, reference, display } = toImage(ref, cwd);
  const settings = await specSettings(cwd, opts.config);
  const sources = new Sources({
    ...opts.client,
    registries: mergeRegistries(settings.registries, opts.client?.registries),
    trust: { ...settings.trust, ...opts.client?.trust },
  });
  try {
    const { source, repo } = await sources.forImage(image);
    const fetched = await source.fetchManifest(repo, reference);
    const r = await resolveFetched(source, repo, isDigest(reference) ? '' : reference, fetched.bytes, fetched.digest, fetched.contentType);
    return { ...r, reference: display };
  } finally {
    await sources.close();
  }
}

/**
 * Registry settings (insecure, concurrency) from the spec: the one `--config` names (whose errors
 * count), else one found by discovery, if it loads. inspect works without any spec.
 */
async function specSettings(cwd: string, config?: string): Promise<Pick<Spec, 'registries' | 'trust'>> {
  if (config) return loadSpec({ cwd, config });
  try {
    return await loadSpec({ cwd });
  } catch {
    return { registries: {} };
  }
}

function toImage(ref: string, cwd: string): { image: Image; reference: string; display: string } {
  const base = { id: 'inspect', cadence: 'patch' as const, prerelease: false, notes: {} };
  const layout = parseLayoutReference(ref, true);
  if (typeof layout === 'string') throw new UsageError(`${JSON.stringify(ref)}: ${layout}`);
  if (layout) {
    const source = parseSourceRef(`${layout.scheme}${layout.path}`, cwd);
    if (typeof source === 'string') throw new UsageError(`${JSON.stringify(ref)}: ${source}`);
    return {
      image: { ...base, ref: `${layout.scheme}${layout.path}`, source },
      reference: layout.digest ?? layout.tag ?? 'latest',
      display: ref,
    };
  }
  try {
    const parsed = parseReference(ref);
    const reference = parsed.digest ?? parsed.tag ?? 'latest';
    const repoOnly = { registry: parsed.registry, repository: parsed.repository };
    const display = `${canonicalName(repoOnly)}${parsed.digest ? `@${parsed.digest}` : `:${reference}`}`;
    return { image: { ...base, ref, source: { kind: 'registry', ref: repoOnly } }, reference, display };
  } catch (e) {
    if (e instanceof InvalidReferenceError) throw new UsageError(e.message);
    throw e;
  }
}
