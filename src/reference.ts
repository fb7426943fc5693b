/**
 * Docker image references (distribution/reference semantics; README "The spec").
 *
 * `reference := name [":" tag] ["@" digest]`, `name := [domain "/"] path`, normalised the way
 * Docker does it (`ubuntu` → `docker.io/library/ubuntu`). Unlike Docker, a reference with
 * neither tag nor digest keeps `tag` undefined: callers decide whether that means `latest`.
 */
import { resolve } from 'node:path';
import { digestProblem, type Digest } from './digest.js';
import { InvalidReferenceError } from './errors.js';

/** A parsed, normalised image reference. */
export interface ImageRef {
  /** `host[:port]`, lowercased; `docker.io` for Docker Hub (`index.docker.io` is rewritten). */
  registry: string;
  /** The path inside the registry, e.g. `library/ubuntu` or `linuxguard-agent`. */
  repository: string;
  tag?: string;
  digest?: Digest;
}

/** Docker Hub's names, in one table: references, its API host, and Docker's credential key. */
export const DOCKER_HUB = {
  /** What Docker Hub references normalise to. */
  canonical: 'docker.io',
  /** The legacy name, rewritten to `docker.io`. */
  legacy: 'index.docker.io',
  /** The host that serves the registry API. */
  api: 'registry-1.docker.io',
  /** The key Docker's config.json and credential helpers use for Docker Hub. */
  authKey: 'https://index.docker.io/v1/',
} as const;

/** Any of Docker Hub's host names (lowercase). */
export function isDockerHub(host: string): boolean {
  const h = host.toLowerCase();
  return h === DOCKER_HUB.canonical || h === DOCKER_HUB.legacy || h === DOCKER_HUB.api;
}

/** Longest repository path accepted (distribution/reference v0.6.0 `NameTotalLengthMax`). */
const MAX_PATH_LENGTH = 255;

/** A tag a registry can hold (distribution-spec): the one tag grammar of lg-pins. */
export const TAG_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

/** True when `s` is a tag a registry can hold. */
export function isTag(s: unknown): s is string {
  return typeof s === 'string' && TAG_RE.test(s);
}
const COMPONENT_RE = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$/;
const DNS_LABEL_RE = /^[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?$/;
const IPV6_RE = /^\[[a-fA-F0-9:]+\]$/;
const PORT_RE = /^[0-9]+$/;
const IMAGE_ID_RE = /^[a-f0-9]{64}$/;

/** Why `domain` (`host[:port]`) is not a valid registry, or undefined when it is. */
function domainProblem(domain: string): string | undefined {
  let host = domain;
  let port: string | undefined;
  if (domain.startsWith('[')) {
    const close = domain.indexOf(']');
    host = close < 0 ? domain : domain.slice(0, close + 1);
    const rest = close < 0 ? '' : domain.slice(close + 1);
    if (rest !== '') {
      if (!rest.startsWith(':')) return `registry "${domain}" is invalid: expected ":port" after "${host}"`;
      port = rest.slice(1);
    }
    if (!IPV6_RE.test(host)) return `registry "${domain}" is invalid: a bracketed IPv6 address holds only hex digits and ":"`;
  } else {
    const colon = domain.lastIndexOf(':');
    if (colon >= 0) {
      host = domain.slice(0, colon);
      port = domain.slice(colon + 1);
    }
    const bad = host.split('.').find((label) => !DNS_LABEL_RE.test(label));
    if (bad !== undefined) {
      return `registry host "${host}" is invalid: ${bad === '' ? 'it has an empty label' : `label "${bad}" is not letters, digits and inner dashes`}`;
    }
  }
  if (port !== undefined) {
    if (!PORT_RE.test(port)) return `registry "${domain}" has an invalid port "${port}" (expected digits)`;
    const n = Number(port);
    if (n < 1 || n > 65535) return `registry "${domain}" has port ${port}, outside 1-65535`;
  }
  return undefined;
}

/** Why `path` is not a valid repository path, or undefined when it is. */
function pathProblem(path: string): string | undefined {
  for (const component of path.split('/')) {
    if (component === '') return `repository path "${path}" has an empty component (a leading, trailing or doubled "/")`;
    if (COMPONENT_RE.test(component)) continue;
    if (/[A-Z]/.test(component)) return `repository name must be lowercase (component "${component}")`;
    return (
      `path component "${component}" is invalid: components are lowercase letters and digits, ` +
      'separated by ".", "_", "__" or dashes, and cannot start or end with a separator'
    );
  }
  if (path.length > MAX_PATH_LENGTH) {
    return `repository path is ${path.length} characters long; at most ${MAX_PATH_LENGTH} are allowed`;
  }
  return undefined;
}

/** Parse and normalise, returning the reference or the problem description. */
function analyse(input: string): ImageRef | string {
  if (input === '') return 'it is empty';
  let rest = input;
  let digest: Digest | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    const d = rest.slice(at + 1);
    const problem = digestProblem(d);
    if (problem) return `digest "${d}" is invalid: ${problem}`;
    digest = d as Digest;
    rest = rest.slice(0, at);
  }

  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG_RE.test(tag)) {
      return `tag "${tag}" is invalid: a tag is 1-128 letters, digits, "_", "." and "-", not starting with "." or "-"`;
    }
  }

  const name = rest;
  if (name === '') return 'the repository name is empty';
  if (IMAGE_ID_RE.test(name)) return `"${name}" is a 64-hex image ID, not a repository name`;

  let registry: string = DOCKER_HUB.canonical;
  let path = name;
  const slash = name.indexOf('/');
  if (slash >= 0) {
    const first = name.slice(0, slash);
    if (/[.:]/.test(first) || first === 'localhost' || /[A-Z]/.test(first)) {
      const problem = domainProblem(first);
      if (problem) return problem;
      registry = first.toLowerCase();
      path = name.slice(slash + 1);
      if (registry === DOCKER_HUB.legacy) registry = DOCKER_HUB.canonical;
    }
  }
  if (registry === DOCKER_HUB.canonical && !path.includes('/')) path = `library/${path}`;

  const problem = pathProblem(path);
  if (problem) return problem;

  const ref: ImageRef = { registry, repository: path };
  if (tag !== undefined) ref.tag = tag;
  if (digest !== undefined) ref.digest = digest;
  return ref;
}

/**
 * Parse and normalise an image reference. `name:tag@digest` keeps both parts; resolve by the
 * digest. No tag is added when there is none. Throws {@link InvalidReferenceError}.
 */
export function parseReference(input: string): ImageRef {
  const result = analyse(input);
  if (typeof result === 'string') throw new InvalidReferenceError(input, result);
  return result;
}

/** Why `input` is not a valid image reference, or undefined when it is. */
export function referenceProblem(input: string): string | undefined {
  const result = analyse(input);
  return typeof result === 'string' ? result : undefined;
}

/** Parse a repository: a reference with no tag and no digest. Throws {@link InvalidReferenceError}. */
export function parseRepository(input: string): ImageRef {
  const ref = parseReference(input);
  const extra = [ref.tag !== undefined ? `tag "${ref.tag}"` : '', ref.digest !== undefined ? `digest "${ref.digest}"` : '']
    .filter((s) => s !== '')
    .join(' and ');
  if (extra !== '') {
    throw new InvalidReferenceError(input, `expected a repository (no tag, no digest) but it has ${extra}`);
  }
  return ref;
}

/** `registry/repository[:tag][@digest]`, fully qualified. */
export function formatReference(r: ImageRef): string {
  return `${canonicalName(r)}${r.tag !== undefined ? `:${r.tag}` : ''}${r.digest !== undefined ? `@${r.digest}` : ''}`;
}

/** `registry/repository`, e.g. `docker.io/library/ubuntu` (never shortened to Docker's familiar form). */
export function canonicalName(r: ImageRef): string {
  return `${r.registry}/${r.repository}`;
}

/** The host that serves the registry API: Docker Hub's is `registry-1.docker.io`; others unchanged. */
export function registryApiHost(registry: string): string {
  const lower = registry.toLowerCase();
  return lower === DOCKER_HUB.canonical || lower === DOCKER_HUB.legacy ? DOCKER_HUB.api : registry;
}

/**
 * The identity of a registry `host[:port]` for settings and comparisons: lowercased, Docker Hub's
 * aliases as `docker.io`, and the HTTPS default port dropped (`host:443` is `host`).
 */
export function registryKey(registry: string): string {
  let key = registry.toLowerCase();
  if (key.endsWith(':443')) key = key.slice(0, -4);
  return isDockerHub(key) ? DOCKER_HUB.canonical : key;
}

/**
 * True when `registry` (`host[:port]`) is this machine: `localhost`, any 127.0.0.0/8 address, or
 * `[::1]`, with or without a port. Hosts are read as an HTTP client would (WHATWG URL parsing).
 */
export function isLoopbackHost(registry: string): boolean {
  let host: string;
  try {
    host = new URL(`http://${registry}/`).hostname;
  } catch {
    return false;
  }
  return host === 'localhost' || host === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** The two spellings of a reference to an OCI image layout on disk. */
const LAYOUT_PREFIXES = ['oci-layout://', 'oci:'] as const;

/** `oci-layout://PATH[/repo]` (or `oci:PATH`), parsed. */
export interface LayoutReference {
  /** As written: `oci-layout://` or `oci:`. */
  scheme: string;
  /** The layout directory, and a repository inside it, as written (relative to the spec or cwd). */
  path: string;
  tag?: string;
  digest?: Digest;
}

/**
 * A layout reference: `oci-layout://PATH` or `oci:PATH`; with `withTag`, a `:tag` or `@digest` may
 * follow the last path component (as `inspect` takes it). Undefined when `input` is not a layout
 * reference at all, the problem when it is a bad one. Finding the layout on disk is
 * registry/layout.ts's business.
 */
export function parseLayoutReference(input: string, withTag = false): LayoutReference | string | undefined {
  const scheme = LAYOUT_PREFIXES.find((p) => input.startsWith(p));
  if (!scheme) return undefined;
  const rest = input.slice(scheme.length);
  if (rest === '') return 'the layout path is empty';
  if (!withTag) return { scheme, path: rest };
  const at = rest.indexOf('@');
  if (at >= 0) {
    const digest = rest.slice(at + 1);
    const problem = digestProblem(digest);
    if (problem) return `${JSON.stringify(digest)} is ${problem}`;
    return { scheme, path: rest.slice(0, at), digest: digest as Digest };
  }
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) return { scheme, path: rest.slice(0, colon), tag: rest.slice(colon + 1) };
  return { scheme, path: rest };
}

/** Where `mirror` copies to: `host[/prefix]` or an OCI image layout on disk. */
export type MirrorTarget = { kind: 'registry'; host: string; prefix: string } | { kind: 'layout'; dir: string };

const HOST_RE =
  /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

/** `host[/prefix]` or `oci-layout://DIR` (relative to `cwd`), or why it is neither. */
export function parseMirrorTarget(text: string, cwd: string): MirrorTarget | string {
  if (text.startsWith('oci-layout://')) {
    const dir = text.slice('oci-layout://'.length);
    return dir ? { kind: 'layout', dir: resolve(cwd, dir) } : 'oci-layout:// needs a directory (oci-layout://DIR)';
  }
  if (text.includes('://')) return `${JSON.stringify(text)} is not host[/prefix] or oci-layout://DIR (no scheme before a registry host)`;
  const slash = text.indexOf('/');
  const host = (slash < 0 ? text : text.slice(0, slash)).toLowerCase();
  const prefix = slash < 0 ? '' : text.slice(slash + 1).replace(/\/+$/, '');
  if (!HOST_RE.test(host)) return `${JSON.stringify(text)}: ${JSON.stringify(host)} is not a registry host[:port]`;
  if (prefix && typeof analyse(`${host}/${prefix}/x`) === 'string')
    return `${JSON.stringify(text)}: the prefix ${JSON.stringify(prefix)} is not a repository path (lowercase letters, digits, separators)`;
  return { kind: 'registry', host, prefix };
}

/** How a target is written back, for messages and JSON. */
export function targetName(t: MirrorTarget): string {
  return t.kind === 'layout' ? `oci-layout://${t.dir}` : t.prefix ? `${t.host}/${t.prefix}` : t.host;
}
