/**
 * Reading what hosts report running, for `lg-pins audit`: a JSON array or JSON lines of
 * `{ "host": "web-01", "image": "repo[:tag]@sha256:…" }`, or the output of
 * `kubectl get pods -A -o json` (host = `spec.nodeName`, image = each container status's
 * `imageID`, with or without a `docker-pullable://` prefix). A report that cannot be read is a
 * ReportError (exit 2) naming the file and the line (JSON lines) or the path in the document
 * (`items[3].status.containerStatuses[0].imageID`): nothing is half-judged silently.
 */
import { isDigest } from '../digest.js';
import { FileError } from '../errors.js';
import type { HostReport } from '../plan/audit.js';
import { canonicalName, parseReference } from '../reference.js';
import { parseJson } from '../safe/json.js';
import { quoteUntrusted } from '../safe/text.js';

/** The digest and repository of an image reference a host reports, or why it is not one. */
export function reportedImage(text: string): { digest: string; repository: string } | string {
  const ref = text.replace(/^(docker-pullable|docker|containerd):\/\//, '');
  // Some runtimes report only the image's digest (no repository): matched by the digest alone.
  if (isDigest(ref)) return { digest: ref, repository: '' };
  let parsed;
  try {
    parsed = parseReference(ref);
  } catch {
    return `${quoteUntrusted(text, 120)} is not an image reference`;
  }
  if (!parsed.digest) return `${quoteUntrusted(text, 120)} names no digest (expected repo[:tag]@sha256:…)`;
  return { digest: parsed.digest, repository: canonicalName(parsed) };
}

/** Parse one report file's text (`name` for messages). */
export function parseReports(text: string, name: string): HostReport[] {
  const trimmed = text.trimStart();
  if (trimmed === '') return [];
  // JSON lines when the first line is a whole report object (a kubectl document spans lines).
  if (trimmed.startsWith('{')) {
    const end = trimmed.indexOf('\n');
    const first = parseJson(end < 0 ? trimmed : trimmed.slice(0, end));
    if (end >= 0 && first.ok && isObject(first.value) && 'host' in first.value) return jsonLines(text, name);
  }
  const whole = parseJson(text);
  if (whole.ok) {
    const v = whole.value;
    if (Array.isArray(v)) {
      const images = new Map<string, ReturnType<typeof reportedImage>>();
      return v.map((e, i) => generic(e, `${name}: [${i}]`, images));
    }
    if (isObject(v) && Array.isArray(v.items)) return kubectl(v.items, name);
    if (isObject(v) && 'host' in v) return [generic(v, `${name}:1`)];
    throw new FileError(
      `${name}: not a report lg-pins reads (expected a JSON array or JSON lines of {host, image}, or \`kubectl get pods -A -o json\`)`,
    );
  }
  if (trimmed.startsWith('[')) throw new FileError(`${name}:${whole.line}:${whole.column}: not valid JSON (${whole.problem})`);
  return jsonLines(text, name);
}

/** JSON lines: one object a line; blank lines skipped. */
function jsonLines(text: string, name: string): HostReport[] {
  const out: HostReport[] = [];
  const images = new Map<string, ReturnType<typeof reportedImage>>();
  let line = 0;
  for (let start = 0; start < text.length;) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    const raw = text.slice(start, end).trim();
    start = end + 1;
    line++;
    if (!raw) continue;
    const one = parseJson(raw);
    if (!one.ok) throw new FileError(`${name}:${line}: not JSON (column ${one.column}: ${one.problem})`);
    out.push(generic(one.value, `${name}:${line}`, images));
  }
  return out;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** One `{host, image}`; `images` caches what each distinct reference is (a fleet reports few). */
function generic(v: unknown, where: string, images = new Map<string, ReturnType<typeof reportedImage>>()): HostReport {
  if (!isObject(v)) throw new FileError(`${where}: expected an object {host, image}`);
  if (typeof v.host !== 'string' || v.host === '') throw new FileError(`${where}: "host" must be a non-empty string`);
  if (typeof v.image !== 'string') throw new FileError(`${where}: "image" must be a string (repo[:tag]@sha256:…)`);
  let image = images.get(v.image);
  if (image === undefined) images.set(v.image, (image = reportedImage(v.image)));
  if (typeof image === 'string') throw new FileError(`${where}: "image" ${image}`);
  return { host: v.host, ...image, where };
}

/** Pods of `kubectl get pods -A -o json`: every running container of every scheduled pod. */
function kubectl(items: unknown[], name: string): HostReport[] {
  const out: HostReport[] = [];
  items.forEach((pod, i) => {
    const at = `items[${i}]`;
    if (!isObject(pod)) throw new FileError(`${name}: ${at} is not a pod object`);
    const spec = pod.spec;
    const status = pod.status;
    if (spec !== undefined && !isObject(spec)) throw new FileError(`${name}: ${at}.spec is not an object`);
    const node = spec?.nodeName;
    // A pod not scheduled yet runs nowhere.
    if (node === undefined || node === '') return;
    if (typeof node !== 'string') throw new FileError(`${name}: ${at}.spec.nodeName must be a string`);
    if (status === undefined) return;
    if (!isObject(status)) throw new FileError(`${name}: ${at}.status is not an object`);
    for (const field of ['initContainerStatuses', 'containerStatuses'] as const) {
      const list = status[field];
      if (list === undefined) continue;
      if (!Array.isArray(list)) throw new FileError(`${name}: ${at}.status.${field} must be an array`);
      list.forEach((c, j) => {
        const where = `${at}.status.${field}[${j}]`;
        if (!isObject(c)) throw new FileError(`${name}: ${where} is not an object`);
        // A container not started yet has no image ID: it runs nothing.
        if (c.imageID === undefined || c.imageID === '') return;
        if (typeof c.imageID !== 'string') throw new FileError(`${name}: ${where}.imageID must be a string`);
        const image = reportedImage(c.imageID);
        if (typeof image === 'string') throw new FileError(`${name}: ${where}.imageID ${image}`);
        // A bare digest names no repository: the container status's `image` does.
        const named = image.repository || (typeof c.image === 'string' ? repositoryOf(c.image) : '');
        out.push({ host: node, digest: image.digest, repository: named, where: `${name}: ${where}` });
      });
    }
  });
  return out;
}

function repositoryOf(image: string): string {
  try {
    return canonicalName(parseReference(image));
  } catch {
    return '';
  }
}
