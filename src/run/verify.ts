import { loadSpec, type LoadOptions } from '../config/load.js';
import { parseSourceRef } from '../config/refs.js';
import type { Image, Spec } from '../config/spec.js';
import type { Digest } from '../digest.js';
import { IntegrityError, LgPinsError, RegistryError, worstExitCode, type ExitCode } from '../errors.js';
import type { KeylessSigner, Lock, LockImage } from '../lock/model.js';
import { isKeyless } from '../plan/signer.js';
import { readLock } from '../lock/read.js';
import type { ClientOptions } from '../registry/client.js';
import type { ContentSource } from '../registry/source.js';
import { verifyCosign } from '../trust/cosign.js';
import { registryKey } from '../reference.js';
import { own } from '../safe/dict.js';
import { Sources } from './sources.js';

export type FindingKind = 'missing' | 'tag-moved' | 'mirror' | 'integrity' | 'signature' | 'unreachable' | 'no-lock';

export interface Finding {
  image?: string;
  kind: FindingKind;
  /** 1 drift, 3 unreachable, 4 integrity or trust. */
  exitCode: 1 | 3 | 4;
  message: string;
  digest?: string;
  mirror?: string;
}

export interface ImageReport {
  image: string;
  ref: string;
  tag: string;
  /** Digests checked at the registry (index, platforms, held pins). */
  digests: number;
  tagOk: boolean;
  signature: 'verified' | 'failed' | 'not required';
  /** Keyless: who signed the pinned digest, as verified now (its certificate's identity and issuer, its Rekor log index). */
  signer?: KeylessSigner;
  mirrors: Array<{ mirror: string; complete: boolean }>;
}

export interface VerifyResult {
  lockFile: string;
  images: ImageReport[];
  findings: Finding[];
  exitCode: ExitCode;
}

/**
 * Online, writes nothing: the lock as written is still true. Every pinned digest (held pins too) is
 * still served and hashes to itself, each pinned tag still points at its digest, required signatures
 * still verify, and every mirror of the image's registry serves every pinned digest byte for byte.
 */
export async function verify(opts: LoadOptions & { client?: ClientOptions } = {}): Promise<VerifyResult> {
  const spec = await loadSpec(opts);
  const lock = await readLock(spec.lockFile);
  if (!lock) {
    return {
      lockFile: spec.lockFile,
      images: [],
      findings: [{ kind: 'no-lock', exitCode: 1, message: 'there is no lock yet (nothing is locked); run `lg-pins lock`' }],
      exitCode: 1,
    };
  }
  const sources = Sources.forSpec(spec, opts.client);
  try {
    const reports = await Promise.all(Object.entries(lock.images).map(([id, entry]) => verifyImage(id, entry, spec, lock, sources)));
    const findings = reports.flatMap((r) => r.findings);
    return {
      lockFile: spec.lockFile,
      images: reports.map((r) => r.report),
      findings,
      exitCode: worstExitCode(findings.map((f) => f.exitCode)),
    };
  } finally {
    await sources.close();
  }
}

/** Every digest the lock pins for an image, with what it is (for messages). */
function pinnedDigests(id: string, entry: LockImage, lock: Lock): Map<Digest, string> {
  const out = new Map<Digest, string>([[entry.digest, `${entry.tag} index`]]);
  for (const [key, p] of Object.entries(entry.platforms)) if (!out.has(p.digest)) out.set(p.digest, `${entry.tag} ${key}`);
  for (const [group, pins] of Object.entries(lock.fleet)) {
    const pin = own(pins, id);
    if (pin && !out.has(pin.digest)) out.set(pin.digest, `${pin.tag ?? entry.tag} ${pin.platform} (held by ${group})`);
  }
  return out;
}

function classifyError(e: unknown, image: string, message: string, extra: Partial<Finding> = {}): Finding {
  if (e instanceof IntegrityError) return { image, kind: 'integrity', exitCode: 4, message: e.message, ...extra };
  if (e instanceof RegistryError && e.status === 404)
    return { image, kind: extra.mirror ? 'mirror' : 'missing', exitCode: 1, message, ...extra };
  if (e instanceof LgPinsError) return { image, kind: 'unreachable', exitCode: e.exitCode === 4 ? 4 : 3, message: e.message, ...extra };
  throw e;
}

async function verifyImage(
  id: string,
  entry: LockImage,
  spec: Spec,
  lock: Lock,
  sources: Sources,
): Promise<{ report: ImageReport; findings: Finding[] }> {
  const findings: Finding[] = [];
  // Judge the lock as written: its own ref, even when the spec's has changed since (with the spec's key, if any).
  const specImage = own(spec.images, id);
  const fromLock = specImage?.ref === entry.ref ? specImage : imageFromLock(id, entry, spec);
  const image = fromLock && specImage?.verify && fromLock !== specImage ? { ...fromLock, verify: specImage.verify } : fromLock;
  const report: ImageReport = {
    image: id,
    ref: entry.ref,
    tag: entry.tag,
    digests: 0,
    tagOk: false,
    signature: 'not required',
    mirrors: [],
  };
  if (!image) {
    findings.push({ image: id, kind: 'unreachable', exitCode: 3, message: `${id}: the lock's ref ${entry.ref} cannot be read` });
    return { report, findings };
  }
  const { source, repo, display } = await sources.forImage(image);
  const digests = pinnedDigests(id, entry, lock);

  const served = await checkServed(source, repo, digests, (d, what, e) =>
    classifyError(e, id, `${display}@${d} (${what}) is no longer served; redeploying this pin would fail`, { digest: d }),
  );
  findings.push(...served);
  report.digests = digests.size;
  if (served.some((f) => f.kind === 'unreachable')) return { report, findings };

  try {
    const now = source.headManifest ? await source.headManifest(repo, entry.tag) : undefined;
    const current = now ?? (await source.fetchManifest(repo, entry.tag)).digest;
    report.tagOk = current === entry.digest;
    if (!report.tagOk) {
      findings.push({
        image: id,
        kind: 'tag-moved',
        exitCode: 1,
        digest: entry.digest,
        message: `${display}:${entry.tag} now points at ${current}, not the pinned ${entry.digest}; once no tag references the pinned digest the registry may garbage-collect it`,
      });
    }
  } catch (e) {
    findings.push(
      classifyError(e, id, `${display}:${entry.tag} no longer exists; the pinned ${entry.digest} may be garbage-collected`, {
        digest: entry.digest,
      }),
    );
  }

  const key = image.verify?.cosign;
  if (key) {
    try {
      const signer = await verifyCosign(
        { source, repo, name: display, digest: entry.digest, ...(image.source.kind === 'registry' ? { identity: display } : {}) },
        key,
      );
      report.signature = 'verified';
      if (isKeyless(signer)) report.signer = signer;
    } catch (e) {
      report.signature = 'failed';
      findings.push(
        e instanceof IntegrityError
          ? { image: id, kind: 'signature', exitCode: 4, digest: entry.digest, message: e.message }
          : classifyError(e, id, (e as Error).message),
      );
    }
  }

  if (image.source.kind === 'registry') {
    for (const mirror of own(spec.registries, registryKey(image.source.ref.registry))?.mirrors ?? []) {
      const { host, prefix } = splitMirror(mirror);
      const mirrorRepo = prefix ? `${prefix}/${image.source.ref.repository}` : image.source.ref.repository;
      const mirrorImage: Image = {
        ...image,
        ref: `${host}/${mirrorRepo}`,
        source: { kind: 'registry', ref: { registry: host, repository: mirrorRepo } },
      };
      const m = await sources.forImage(mirrorImage);
      const lacks = await checkServed(m.source, m.repo, digests, (d, what, e) =>
        classifyError(e, id, `mirror ${mirror} lacks ${d} (${what}) of ${display}; copy the image by digest with every platform`, {
          digest: d,
          mirror,
        }),
      );
      findings.push(...lacks);
      report.mirrors.push({ mirror, complete: lacks.length === 0 });
    }
  }
  return { report, findings };
}

async function checkServed(
  source: ContentSource,
  repo: string,
  digests: Map<Digest, string>,
  finding: (d: Digest, what: string, e: unknown) => Finding,
): Promise<Finding[]> {
  const out = await Promise.all(
    [...digests].map(async ([d, what]) => {
      try {
        // Fetching by digest hashes the bytes received and refuses any mismatch.
        await source.fetchManifest(repo, d);
        return undefined;
      } catch (e) {
        return finding(d, what, e);
      }
    }),
  );
  return out.filter((f): f is Finding => f !== undefined);
}

/** A mirror `host[/prefix]`. */
function splitMirror(mirror: string): { host: string; prefix: string } {
  const slash = mirror.indexOf('/');
  return slash < 0
    ? { host: mirror.toLowerCase(), prefix: '' }
    : { host: mirror.slice(0, slash).toLowerCase(), prefix: mirror.slice(slash + 1).replace(/\/+$/, '') };
}

/** An image the lock pins but the spec no longer names: verify it from its ref as written. */
function imageFromLock(id: string, entry: LockImage, spec: Spec): Image | undefined {
  const source = parseSourceRef(entry.ref, spec.dir);
  if (typeof source === 'string') return undefined;
  return { id, ref: entry.ref, source, tag: entry.tag, cadence: 'patch', prerelease: false, notes: {} };
}
