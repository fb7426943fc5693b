/**
 * Keyless cosign verification (Sigstore): the certificate, its SCT and the Rekor entry are checked by
 * @sigstore/verify against the trusted root; this file is the cosign-specific glue around it: the
 * legacy `.sig` annotations turned into a bundle, the certificate named by the Rekor entry, the
 * identity and issuer (anchored), and the payload naming the digest and the repository.
 */
import { X509Certificate } from 'node:crypto';
import { assertBundle, bundleFromJSON, type Bundle } from '@sigstore/bundle';
import { PolicyError, toSignedEntity, VerificationError } from '@sigstore/verify';
import type { KeylessPolicy } from '../config/spec.js';
import type { KeylessSigner } from '../lock/model.js';
import { matches } from '../plan/signer.js';
import { parseJson, parseJsonBytes } from '../safe/json.js';
import { field, payloadProblem, shown, statementProblem } from './payload.js';
import type { Candidate, SignedImage } from './store.js';
import { keylessBundleOf } from './legacy-bundle.js';

/** A keyless signature checked in full: its signer, or why it does not count. */
export function checkKeyless(c: Candidate, policy: KeylessPolicy, image: SignedImage): KeylessSigner | string {
  let bundle: Bundle;
  let artifact: Buffer | undefined;
  if (c.kind === 'simple') {
    const converted = keylessBundleOf(c);
    if (typeof converted === 'string') return converted;
    bundle = converted;
    artifact = Buffer.from(c.payload);
  } else {
    const json = parseJsonBytes(c.bytes);
    if (!json.ok) return `${c.where}: the signature bundle is not JSON`;
    try {
      bundle = bundleFromJSON(json.value);
      assertBundle(bundle);
    } catch (e) {
      return `${c.where}: the signature bundle is malformed (${e instanceof Error ? shown(e.message) : 'unreadable'})`;
    }
  }
  const vm = bundle.verificationMaterial;
  if (vm.content.$case === 'publicKey') return 'the signature was made with a key, not keyless (no certificate)';
  const leaf =
    vm.content.$case === 'certificate' ? vm.content.certificate.rawBytes : vm.content.x509CertificateChain.certificates[0]?.rawBytes;
  if (!leaf) return 'the signature carries no certificate';

  let identity: string | undefined;
  let issuer: string | undefined;
  try {
    const signer = policy.trustedRoot.verifier.verify(toSignedEntity(bundle, artifact));
    identity = signer.identity?.subjectAlternativeName;
    issuer = signer.identity?.extensions?.issuer;
  } catch (e) {
    if (e instanceof VerificationError || e instanceof PolicyError) return reason(e, bundle);
    // Anything else is content the library could not parse (a certificate, an SCT list, a body):
    // a bad signature, never a crash.
    return `the signature's certificate or log entry cannot be read (${e instanceof Error ? shown(e.message) : 'unreadable'})`;
  }
  const unnamed = rekorCertificateProblem(bundle, Buffer.from(leaf));
  if (unnamed) return unnamed;
  if (!identity) return 'the certificate names no identity (subject alternative name)';
  if (!issuer) return 'the certificate names no OIDC issuer';
  if (!matches(policy.identity, identity)) return `the certificate's identity is ${shown(identity)}, not the one required`;
  if (!matches(policy.issuer, issuer)) return `the certificate's issuer is ${shown(issuer)}, not the one required`;

  const problem =
    bundle.content.$case === 'dsseEnvelope'
      ? statementProblem(bundle.content.dsseEnvelope.payloadType, bundle.content.dsseEnvelope.payload, image)
      : payloadProblem(artifact ?? new Uint8Array(), image);
  if (problem) return problem;
  const logIndex = Math.min(...vm.tlogEntries.map((t) => Number(t.logIndex)));
  return { identity, issuer, logIndex, trustedRoot: policy.trustedRoot.digest };
}

/** The library's finding in the contract's words: what failed, and at what time where it matters. */
function reason(e: VerificationError | PolicyError, bundle: Bundle): string {
  const cause: unknown = e.cause;
  const inner = cause instanceof Error ? cause.message : '';
  const times = bundle.verificationMaterial.tlogEntries.map((t) => {
    const when = new Date(Number(t.integratedTime) * 1000);
    return Number.isNaN(when.getTime()) ? shown(t.integratedTime) : when.toISOString();
  });
  switch (e.code) {
    case 'CERTIFICATE_ERROR':
      if (/not valid or expired/.test(inner) || /not valid or expired/.test(e.message))
        return `the certificate was not valid at the log's integrated time (${times.join(', ') || 'unknown'})`;
      if (/SCT verification failed/.test(e.message)) return "the certificate's embedded SCT does not verify against a trusted CT log";
      if (/SCTs, got 0/.test(e.message)) return 'the certificate has no embedded SCT (signed certificate timestamp)';
      return 'the certificate does not chain to a trusted Fulcio CA';
    case 'TIMESTAMP_ERROR':
    case 'TLOG_ERROR':
    case 'TLOG_MISSING_INCLUSION_ERROR':
      return 'no Rekor transparency-log entry with a signed entry timestamp or inclusion proof';
    case 'TLOG_INCLUSION_PROMISE_ERROR':
      return "the Rekor entry's signed entry timestamp does not verify against a trusted Rekor key";
    case 'TLOG_INCLUSION_PROOF_ERROR':
      return `the Rekor entry's inclusion proof or checkpoint does not verify (${shown(e.message)})`;
    case 'TLOG_BODY_ERROR':
      return `the Rekor entry does not match this signature (${shown(e.message)})`;
    case 'SIGNATURE_ERROR':
      return "the signature does not verify with the certificate's key (the payload was altered, or signed by another key)";
    case 'PUBLIC_KEY_ERROR':
    case 'NOT_IMPLEMENTED_ERROR':
    case 'UNTRUSTED_SIGNER_ERROR':
      return `the signature does not verify (${shown(e.message)})`;
  }
}

/**
 * The Rekor entry must name the very certificate that signed (the library compares its signature
 * and digest only): hashedrekord, dsse and intoto bodies carry it as base64 PEM, Rekor v2 bodies as
 * DER. Any certificate the body holds is collected; the signing one must be among them.
 */
function rekorCertificateProblem(bundle: Bundle, leaf: Buffer): string | undefined {
  for (const entry of bundle.verificationMaterial.tlogEntries) {
    const body = parseJson(Buffer.from(entry.canonicalizedBody).toString('utf8'));
    if (!body.ok) return 'the Rekor entry body is not JSON';
    const certs = certificatesIn(body.value, 0);
    if (!certs.length) return 'the Rekor entry names no certificate';
    if (!certs.some((c) => c.equals(leaf))) return 'the Rekor entry names another certificate than the one that signed';
  }
  return undefined;
}

function certificatesIn(v: unknown, depth: number): Buffer[] {
  if (depth > 8 || v === null || typeof v !== 'object') return typeof v === 'string' ? certificateText(v) : [];
  const out: Buffer[] = [];
  const x509 = field(field(v, 'x509Certificate'), 'rawBytes');
  if (typeof x509 === 'string') out.push(Buffer.from(x509, 'base64'));
  for (const child of Object.values(v)) out.push(...certificatesIn(child, depth + 1));
  return out;
}

/** A base64 string holding a PEM certificate, as DER. */
function certificateText(s: string): Buffer[] {
  if (s.length > 64 * 1024 || !/^[A-Za-z0-9+/]+=*$/.test(s)) return [];
  const text = Buffer.from(s, 'base64').toString('latin1');
  if (!text.startsWith('-----BEGIN CERTIFICATE-----')) return [];
  try {
    return [new X509Certificate(text).raw];
  } catch {
    return [];
  }
}
