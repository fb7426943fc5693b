import type { Image, Spec } from '../config/spec.js';
import { canonicalName } from '../reference.js';
import { RegistryClient, type ClientOptions } from '../registry/client.js';
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
  private client?: RegistryClient;
  private readonly layouts = new Map<string, LayoutSource>();

  constructor(private readonly opts: ClientOptions = {}) {}

  forImage(image: Image): ImageSource {
    const s = image.source;
    if (s.kind === 'layout') {
      let layout = this.layouts.get(s.dir);
      if (!layout) this.layouts.set(s.dir, (layout = new LayoutSource(s.dir)));
      return { source: layout, repo: s.repo ?? '', display: image.ref };
    }
    this.client ??= new RegistryClient(this.opts);
    return { source: this.client.source(s.ref.registry), repo: s.ref.repository, display: canonicalName(s.ref) };
  }

  async close(): Promise<void> {
    await this.client?.close();
  }

  static forSpec(spec: Spec, opts: ClientOptions = {}): Sources {
    return new Sources({ ...opts, registries: { ...spec.registries, ...opts.registries } });
  }
}
