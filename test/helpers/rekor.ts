/**
 * Rekor entries for the private Sigstore of sigstore.ts: the v0.0.1 bodies cosign's two stores log
 * (`hashedrekord` for a legacy simple-signing signature: the payload's sha256, the signature and
 * the certificate as base64 PEM; `dsse` for a bundle: the envelope's and payload's sha256, the
 * signature and its verifier, base64 PEM), and the mock Rekor's answer in the two forms cosign
 * stores it: the `dev.sigstore.cosign/bundle` annotation (SET + entry) and a bundle's
 * TransparencyLogEntry (SET, inclusion proof and checkpoint).
 */
import { createHash, sign, type KeyObject } from 'node:crypto';
import { COSIGN, pae } from './cosign.js';

/** The mock Rekor's answer for one entry (LogEntry of @sigstore/rekor-types, not installed). */
export interface MockEntry {
  body: string;
  integratedTime: number;
  logID: string;
  logIndex: number;
  verification: {
    signedEntryTimestamp: string;
    inclusionProof: { logIndex: number; treeSize: number; rootHash: string; hashes: string[]; checkpoint: string };
  };
}

/** How one store signs and what its Rekor entry records. */
export interface Kind {
  name: 'hashedrekord' | 'dsse';
  sign(payload: Buffer, key: KeyObject): string;
  body(payload: Buffer, signature: string, certificatePem: string): object;
}

const b64 = (s: string | Buffer): string => Buffer.from(s).toString('base64');
const hex = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** A DSSE envelope in its JSON form (keys sorted, so this is also its canonical form). */
export const envelope = (payload: Buffer, sig: string) => ({
  payload: payload.toString('base64'),
  payloadType: COSIGN.inToto,
  signatures: [{ keyid: '', sig }],
});

export const HASHEDREKORD: Kind = {
  name: 'hashedrekord',
  sign: (payload, key) => sign('sha256', payload, key).toString('base64'),
  body: (payload, signature, pem) => ({
    apiVersion: '0.0.1',
    kind: 'hashedrekord',
    spec: {
      data: { hash: { algorithm: 'sha256', value: hex(payload) } },
      signature: { content: signature, publicKey: { content: b64(pem) } },
    },
  }),
};

export const DSSE: Kind = {
  name: 'dsse',
  sign: (payload, key) => sign('sha256', pae(COSIGN.inToto, payload), key).toString('base64'),
  body: (payload, signature, pem) => ({
    apiVersion: '0.0.1',
    kind: 'dsse',
    spec: {
      envelopeHash: { algorithm: 'sha256', value: hex(Buffer.from(JSON.stringify(envelope(payload, signature)))) },
      payloadHash: { algorithm: 'sha256', value: hex(payload) },
      signatures: [{ signature, verifier: b64(pem) }],
    },
  }),
};

/** cosign's `dev.sigstore.cosign/bundle` annotation: `{"SignedEntryTimestamp", "Payload": {body, integratedTime, logIndex, logID}}`. */
export function legacyRekorBundle(e: MockEntry): string {
  const { body, integratedTime, logIndex, logID } = e;
  return JSON.stringify({ SignedEntryTimestamp: e.verification.signedEntryTimestamp, Payload: { body, integratedTime, logIndex, logID } });
}

/** The mock's entry as a bundle's TransparencyLogEntry (JSON): SET and inclusion proof with its checkpoint. */
export function bundleEntry(e: MockEntry, kind: Kind['name']): object {
  const proof = e.verification.inclusionProof;
  return {
    logIndex: String(e.logIndex),
    logId: { keyId: Buffer.from(e.logID, 'hex').toString('base64') },
    kindVersion: { kind, version: '0.0.1' },
    integratedTime: String(e.integratedTime),
    inclusionPromise: { signedEntryTimestamp: e.verification.signedEntryTimestamp },
    inclusionProof: {
      logIndex: String(proof.logIndex),
      rootHash: Buffer.from(proof.rootHash, 'hex').toString('base64'),
      treeSize: String(proof.treeSize),
      hashes: proof.hashes,
      checkpoint: { envelope: proof.checkpoint },
    },
    canonicalizedBody: e.body,
  };
}
