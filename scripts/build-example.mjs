#!/usr/bin/env node
// Regenerates examples/linuxguard-agent/: an OCI image layout (image-spec v1.1) holding
// fictional "LinuxGuard agent" releases, so lg-pins' example runs offline.
//
// Output is deterministic (byte-identical on every run): fixed timestamps, JSON written
// compactly with recursively sorted keys, tar headers built by hand, gzip header fixed.
// Only node: built-ins are used. Usage (from anywhere): node scripts/build-example.mjs
import { createHash } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const OUT = join(ROOT, 'examples', 'linuxguard-agent');
const SOURCE = 'https://example.invalid/linuxguard/agent';

const MT = {
  index: 'application/vnd.oci.image.index.v1+json',
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layer: 'application/vnd.oci.image.layer.v1.tar+gzip',
  intoto: 'application/vnd.in-toto+json',
};

const AMD64 = { os: 'linux', architecture: 'amd64' };
const ARM64 = { os: 'linux', architecture: 'arm64', variant: 'v8' };
const ARMV7 = { os: 'linux', architecture: 'arm', variant: 'v7' };
const RISCV64 = { os: 'linux', architecture: 'riscv64' };

// The releases. `index: false` = single-platform tag (index.json points at a manifest).
// `attest` lists the platforms that get a buildx-style provenance attestation.
const RELEASES = [
  { tag: 'v2.9.0', created: '2025-09-01T00:00:00Z', index: false, platforms: [AMD64], attest: [] },
  { tag: 'v3.0.0', created: '2025-11-03T00:00:00Z', index: true, platforms: [AMD64, ARM64, ARMV7, RISCV64], attest: [AMD64, ARM64] },
  { tag: 'v3.1.0', created: '2026-01-15T00:00:00Z', index: true, platforms: [AMD64, ARM64, ARMV7], attest: [AMD64, ARM64] },
  { tag: 'v3.1.1', created: '2026-02-02T00:00:00Z', index: true, platforms: [AMD64, ARM64, ARMV7], attest: [AMD64, ARM64] },
];

// ---------- helpers ----------

const sha256 = (buf) => createHash('sha256').update(buf).digest('hex');

// JSON with object keys sorted recursively, no whitespace: stable bytes, stable digests.
function canonical(value) {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const keys = Object.keys(value)
      .filter((k) => value[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

// Store bytes as blobs/sha256/<hex>; return an OCI descriptor for them.
function putBlob(mediaType, bytes, extra = {}) {
  const hex = sha256(bytes);
  writeFileSync(join(OUT, 'blobs', 'sha256', hex), bytes);
  return { mediaType, digest: `sha256:${hex}`, size: bytes.length, ...extra };
}
const putJson = (mediaType, obj, extra) => putBlob(mediaType, Buffer.from(canonical(obj)), extra);

const platformString = (p) => [p.os, p.architecture, p.variant].filter(Boolean).join('/');
const versionOf = (tag) => tag.replace(/^v/, '');

// One-file POSIX ustar archive: 512-byte header, data padded to 512, two zero blocks.
function tarOneFile(name, content, mtimeSec) {
  const header = Buffer.alloc(512); // zero-filled
  const field = (offset, length, str) => header.write(str, offset, length, 'ascii');
  const octal = (offset, length, n) => field(offset, length, n.toString(8).padStart(length - 1, '0') + '\0');
  field(0, 100, name);
  octal(100, 8, 0o644); // mode
  octal(108, 8, 0); // uid
  octal(116, 8, 0); // gid
  octal(124, 12, content.length); // size
  octal(136, 12, mtimeSec); // mtime
  field(148, 8, ' '.repeat(8)); // checksum placeholder: spaces while summing
  field(156, 1, '0'); // typeflag: regular file
  field(257, 6, 'ustar\0'); // magic
  field(263, 2, '00'); // version
  field(265, 32, 'root'); // uname
  field(297, 32, 'root'); // gname
  let sum = 0;
  for (const b of header) sum += b;
  field(148, 8, sum.toString(8).padStart(6, '0') + '\0 ');
  const padded = Buffer.alloc(Math.ceil(content.length / 512) * 512);
  content.copy(padded);
  return Buffer.concat([header, padded, Buffer.alloc(1024)]);
}

// zlib's gzip header has MTIME=0 and no file name; pin the OS byte (offset 9) to 3 (Unix)
// so the output does not depend on the platform Node was built for.
function gzipFixed(buf) {
  const gz = gzipSync(buf, { level: 9, memLevel: 8, windowBits: 15, strategy: 0 });
  gz[9] = 3;
  return gz;
}

// ---------- image builders ----------

// A runnable platform image: layer (tar.gz) + config + manifest. Returns the manifest descriptor.
function buildPlatformImage(rel, platform, annotations) {
  const version = versionOf(rel.tag);
  const mtime = Date.parse(rel.created) / 1000;
  const tar = tarOneFile('etc/linuxguard/VERSION', Buffer.from(`${version} ${platformString(platform)}\n`), mtime);
  const layer = putBlob(MT.layer, gzipFixed(tar));
  const config = putJson(MT.config, {
    architecture: platform.architecture,
    os: platform.os,
    variant: platform.variant, // dropped by canonical() when undefined
    created: rel.created,
    config: {
      Entrypoint: ['/usr/bin/linuxguard-agent'],
      Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', `LINUXGUARD_VERSION=${version}`],
    },
    rootfs: { type: 'layers', diff_ids: [`sha256:${sha256(tar)}`] },
    history: [{ created: rel.created, created_by: `COPY VERSION /etc/linuxguard/VERSION # linuxguard ${version}` }],
  });
  return putJson(MT.manifest, { schemaVersion: 2, mediaType: MT.manifest, config, layers: [layer], annotations });
}

// A buildx-style attestation manifest (SLSA v0.2 provenance in an in-toto statement) that
// describes `subject`; returned as the index entry, platform unknown/unknown.
function buildAttestation(rel, platform, subject) {
  const version = versionOf(rel.tag);
  const predicateType = 'https://slsa.dev/provenance/v0.2';
  const statement = {
    _type: 'https://in-toto.io/Statement/v0.1',
    predicateType,
    subject: [
      {
        name: `pkg:docker/example.invalid/linuxguard/agent@${version}?platform=${encodeURIComponent(platformString(platform))}`,
        digest: { sha256: subject.digest.slice('sha256:'.length) },
      },
    ],
    predicate: {
      builder: { id: `${SOURCE}/ci` },
      buildType: 'https://mobyproject.org/buildkit@v1',
      invocation: { configSource: { entryPoint: 'Dockerfile' } },
      metadata: { buildStartedOn: rel.created, buildFinishedOn: rel.created, reproducible: true },
      materials: [],
    },
  };
  const bytes = Buffer.from(canonical(statement));
  const layer = putBlob(MT.intoto, bytes, { annotations: { 'in-toto.io/predicate-type': predicateType } });
  const config = putJson(MT.config, {
    architecture: 'unknown',
    os: 'unknown',
    config: {},
    rootfs: { type: 'layers', diff_ids: [`sha256:${sha256(bytes)}`] }, // in-toto layers are uncompressed
  });
  const manifest = putJson(MT.manifest, { schemaVersion: 2, mediaType: MT.manifest, config, layers: [layer] });
  return {
    ...manifest,
    platform: { architecture: 'unknown', os: 'unknown' },
    annotations: { 'vnd.docker.reference.digest': subject.digest, 'vnd.docker.reference.type': 'attestation-manifest' },
  };
}

// A release: image index (or a single manifest). Returns the descriptor for index.json.
function buildRelease(rel) {
  const annotations = { 'org.opencontainers.image.source': SOURCE, 'org.opencontainers.image.version': versionOf(rel.tag) };
  if (!rel.index) return buildPlatformImage(rel, rel.platforms[0], annotations);
  const images = rel.platforms.map((p) => ({ ...buildPlatformImage(rel, p), platform: p }));
  // Attestations come after all runnable entries, as buildx writes them.
  const attestations = rel.attest.map((p) =>
    buildAttestation(
      rel,
      p,
      images.find((d) => d.platform === p),
    ),
  );
  return putJson(MT.index, { schemaVersion: 2, mediaType: MT.index, manifests: [...images, ...attestations], annotations });
}

// ---------- main ----------

if (!OUT.endsWith(join('examples', 'linuxguard-agent'))) throw new Error(`refusing to delete ${OUT}`);
rmSync(OUT, { recursive: true, force: true });
mkdirSync(join(OUT, 'blobs', 'sha256'), { recursive: true });

const entries = [];
for (const rel of RELEASES) {
  const desc = buildRelease(rel);
  entries.push({ ...desc, annotations: { 'org.opencontainers.image.ref.name': rel.tag } });
  const kind = rel.index ? 'index' : 'manifest';
  console.log(
    `${rel.tag.padEnd(7)} ${kind.padEnd(8)} ${desc.digest}  ${rel.platforms.map(platformString).join(', ')}` +
      (rel.attest.length ? `  (+${rel.attest.length} attestations)` : ''),
  );
}

writeFileSync(join(OUT, 'oci-layout'), canonical({ imageLayoutVersion: '1.0.0' }));
writeFileSync(join(OUT, 'index.json'), canonical({ schemaVersion: 2, mediaType: MT.index, manifests: entries }));
console.log(`wrote OCI image layout to ${OUT}`);
