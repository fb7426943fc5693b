import type { Image, Spec } from '../config/spec.js';
import { canonicalName, registryKey } from '../reference.js';
import { dictFrom, type Dict } from '../safe/dict.js';
import type { RegistrySettings } from '../config/types.js';
import type { ClientOptions, RegistryClient } from '../registry/client.js';
import { LayoutSource } from '../registry/layout.js';
import type { ContentSource } from '../registry/source.js';

export interface ImageSource {
  source: ContentSource;
  /** Repository path inside the source. */
  repo: string;
  /** For messages: registry/repository. */
  display: string;
}

/** Opens one content source per registry or layout directory for a run; close() when done. */
export class Sources {
  private client?: Promise<RegistryClient>;
  private readonly layouts = new Map<string, LayoutSource>();

  constructor(private readonly opts: ClientOptions = {}) {}

  /** The source of an image; the HTTP client (undici) is loaded only when a registry is needed. */
  async forImage(image: Image): Promise<ImageSource> {
    const s = image.source;
    if (s.kind === 'layout') {
      let layout = this.layouts.get(s.dir);
      if (!layout) this.layouts.set(s.dir, (layout = new LayoutSource(s.dir)));
      return { source: layout, repo: s.repo ?? '', display: image.ref };
    }
    return { source: (await this.registryClient()).source(s.ref.registry), repo: s.ref.repository, display: canonicalName(s.ref) };
  }

  /** The run's one registry client (its pools, credentials and tokens), for writing as well as reading. */
  registryClient(): Promise<RegistryClient> {
    this.client ??= import('../registry/client.js').then((m) => new m.RegistryClient(this.opts));
    return this.client;
  }

  async close(): Promise<void> {
    await (await this.client)?.close();
  }

  static forSpec(spec: Spec, opts: ClientOptions = {}): Sources {
    return new Sources({ ...opts, registries: mergeRegistries(spec.registries, opts.registries), trust: { ...spec.trust, ...opts.trust } });
  }
}

/** Registry settings from the spec, overridden by the caller's, keyed by registryKey() (null-prototype). */
export function mergeRegistries(...layers: Array<Record<string, RegistrySettings> | undefined>): Dict<RegistrySettings> {
  return dictFrom(layers.flatMap((l) => Object.entries(l ?? {})).map(([k, v]) => [registryKey(k), v] as const));
}
