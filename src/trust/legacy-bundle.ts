/**
 * cosign's legacy keyless signature (a simple-signing layer of the `sha256-<hex>.sig` manifest) as
 * the Sigstore bundle it amounts to, so one verifier checks both stores. The layer's annotations
 * (cosign SIGNATURE_SPEC) carry the signature, the Fulcio certificate and its chain (PEM), and the
 * Rekor entry with its signed entry timestamp:
 * `{"SignedEntryTimestamp": b64, "Payload": {"body": b64, "integratedTime": n, "logIndex": n, "logID": hex}}`.
 * That is a v0.1 bundle: a message signature over the payload's sha256 and an inclusion promise.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { assertBundle, bundleFromJSON, type Bundle } from '@sigstore/bundle';
import { parseJson } from '../safe/json.js';
import { field, shown } from './payload.js';
import type { Candidate } from './store.js';

const BUNDLE_V01 = 'application/vnd.dev.sigstore.bundle+json;version=0.1';

/** The bundle of a legacy keyless signature, or why there is none. */
export function keylessBundleOf(c: Extract<Candidate, { kind: 'simple' }>): Bundle | string {
  if (!c.signature) return 'a signature layer has no signature annotation';
  if (!c.certificate) return 'the signature carries no certificate (dev.sigstore.cosign/certificate): it is not a keyless signature';
  const leaf = pemCertificates(c.certificate)[0];
  if (!leaf) return 'the signature certificate (dev.sigstore.cosign/certificate) is not a PEM certificate';
  const certificates = [leaf, ...(c.chain ? pemCertificates(c.chain) : [])];
  if (!c.rekorBundle) return 'no Rekor transparency-log entry (no dev.sigstore.cosign/bundle annotation)';
  const set = parseJson(c.rekorBundle);
  const payload = field(set.ok ? set.value : undefined, 'Payload');
  const entry = {
    set: field(set.ok ? set.value : undefined, 'SignedEntryTimestamp'),
    body: field(payload, 'body'),
    integratedTime: field(payload, 'integratedTime'),
    logIndex: field(payload, 'logIndex'),
    logID: field(payload, 'logID'),
  };
  if (
    typeof entry.set !== 'string' ||
    typeof entry.body !== 'string' ||
    !Number.isSafeInteger(entry.integratedTime) ||
    !Number.isSafeInteger(entry.logIndex) ||
    typeof entry.logID !== 'string' ||
    !/^[0-9a-f]{64}$/.test(entry.logID)
  ) {
    return 'the Rekor entry (dev.sigstore.cosign/bundle) is malformed';
  }
  const body = parseJson(Buffer.from(entry.body, 'base64').toString('utf8'));
  const kind = field(body.ok ? body.value : undefined, 'kind');
  const version = field(body.ok ? body.value : undefined, 'apiVersion');
  if (typeof kind !== 'string' || typeof version !== 'string') return 'the Rekor entry body names no kind and apiVersion';
  const json = {
    mediaType: BUNDLE_V01,
    verificationMaterial: {
      x509CertificateChain: { certificates: certificates.map((d) => ({ rawBytes: d.toString('base64') })) },
      tlogEntries: [
        {
          logIndex: String(entry.logIndex),
          logId: { keyId: Buffer.from(entry.logID, 'hex').toString('base64') },
          kindVersion: { kind, version },
          integratedTime: String(entry.integratedTime),
          inclusionPromise: { signedEntryTimestamp: entry.set },
          canonicalizedBody: entry.body,
        },
      ],
      timestampVerificationData: { rfc3161Timestamps: [] },
    },
    messageSignature: {
      messageDigest: { algorithm: 'SHA2_256', digest: createHash('sha256').update(c.payload).digest('base64') },
      signature: c.signature,
    },
  };
  try {
    const bundle = bundleFromJSON(json);
    assertBundle(bundle);
    return bundle;
  } catch (e) {
    return `the legacy signature does not make a valid Sigstore bundle (${e instanceof Error ? shown(e.message) : 'unreadable'})`;
  }
}

/** Every certificate of a PEM text, as DER (unparseable blocks skipped). */
function pemCertificates(pem: string): Buffer[] {
  const out: Buffer[] = [];
  for (const block of pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? []) {
    try {
      out.push(new X509Certificate(block).raw);
    } catch {
      // skipped: the chain is informational; the trusted root decides
    }
  }
  return out;
}
