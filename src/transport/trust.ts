/**
 * TLS trust for one registry host: the CAs it may present a certificate from and the client
 * certificate it may ask for. Sources, as Docker and Podman read them:
 * - the spec's `registries.<host>.ca`, `clientCert` and `clientKey` (loaded and checked with the spec);
 * - `<root>/<host[:port]>/` for each certs.d root (`/etc/containers/certs.d`, `/etc/docker/certs.d`,
 *   or the `:`-separated `LG_PINS_CERTS_D` instead): every `*.crt` is a CA, `<name>.cert` with
 *   `<name>.key` a client pair;
 * - `NODE_EXTRA_CA_CERTS`, as Node reads it (added to the roots whenever a CA is added here too).
 * A host with none of these uses Node's default roots.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';
import { TrustConfigError } from '../errors.js';
import { FileReadError, readTextSync } from '../safe/files.js';
import { LIMITS } from '../safe/limits.js';

/** What the spec says about one registry's TLS, loaded (paths are absolute). */
export interface RegistryTrust {
  ca?: { file: string; pem: string };
  client?: { certFile: string; cert: string; keyFile: string; key: string };
}

/** The options a TLS connection to the host takes; undefined for Node's defaults. */
export interface TlsMaterial {
  ca?: string[];
  cert?: string;
  key?: string;
  /** Where it came from, for messages ("registries.<host>.ca", a certs.d directory). */
  sources: string[];
}

export const DEFAULT_CERTS_D = ['/etc/containers/certs.d', '/etc/docker/certs.d'] as const;

/** The certs.d roots: `LG_PINS_CERTS_D` (`:`-separated) replaces Docker's and Podman's. */
export function certsDirs(env: NodeJS.ProcessEnv): string[] {
  const own = env.LG_PINS_CERTS_D;
  return own !== undefined ? own.split(':').filter(Boolean) : [...DEFAULT_CERTS_D];
}

/** PEM blocks of one kind in a text. */
function pemBlocks(text: string, label: RegExp): string[] {
  return [...text.matchAll(/-----BEGIN ([A-Z0-9 ]+)-----[\s\S]+?-----END \1-----/g)].filter((m) => label.test(m[1]!)).map((m) => m[0]);
}

/** The certificates of a PEM file; the problem as a string when it holds none or one does not parse. */
export function readCertificates(file: string, maxBytes = LIMITS.caBundleBytes): string[] | string {
  let text: string;
  try {
    text = readTextSync(file, maxBytes, 'a certificate file');
  } catch (e) {
    if (e instanceof FileReadError) return e.reason === 'missing' ? `no such file (${file})` : e.message;
    throw e;
  }
  const certs = pemBlocks(text, /^(?:TRUSTED )?CERTIFICATE$/);
  if (!certs.length) return `${file} holds no PEM certificate ("-----BEGIN CERTIFICATE-----")`;
  for (const c of certs) {
    try {
      new X509Certificate(c);
    } catch {
      return `${file} holds a certificate that does not parse`;
    }
  }
  return certs;
}

/** A client certificate and its private key, checked to belong together; the problem as a string otherwise. */
export function readClientPair(certFile: string, keyFile: string): { cert: string; key: string } | string {
  const certs = readCertificates(certFile, LIMITS.keyFileBytes);
  if (typeof certs === 'string') return certs;
  let key: string;
  try {
    key = readTextSync(keyFile, LIMITS.keyFileBytes, 'a private key');
  } catch (e) {
    if (e instanceof FileReadError) return e.reason === 'missing' ? `no such file (${keyFile})` : e.message;
    throw e;
  }
  let parsed;
  try {
    parsed = createPrivateKey(key);
  } catch {
    return `${keyFile} is not a PEM private key`;
  }
  if (!new X509Certificate(certs[0]!).checkPrivateKey(parsed)) return `${keyFile} is not the private key of the certificate in ${certFile}`;
  return { cert: certs.join('\n'), key };
}

/** What one certs.d directory for a host holds (none of it when the directory does not exist). */
function certsD(dir: string): { ca: string[]; client?: { cert: string; key: string }; used: boolean } {
  let names: string[];
  try {
    if (!statSync(dir).isDirectory()) return { ca: [], used: false };
    names = readdirSync(dir).sort();
  } catch {
    return { ca: [], used: false };
  }
  const ca: string[] = [];
  let client: { cert: string; key: string } | undefined;
  for (const name of names) {
    const file = join(dir, name);
    if (name.endsWith('.crt')) {
      const certs = readCertificates(file);
      if (typeof certs === 'string') throw new TrustConfigError(`${dir}: ${certs}`);
      ca.push(...certs);
    } else if (name.endsWith('.cert')) {
      const keyName = `${name.slice(0, -'.cert'.length)}.key`;
      if (!names.includes(keyName)) throw new TrustConfigError(`${dir}: client certificate ${name} has no ${keyName} beside it`);
      const pair = readClientPair(file, join(dir, keyName));
      if (typeof pair === 'string') throw new TrustConfigError(`${dir}: ${pair}`);
      client ??= pair;
    } else if (name.endsWith('.key') && !names.includes(`${name.slice(0, -'.key'.length)}.cert`)) {
      throw new TrustConfigError(`${dir}: key ${name} has no ${name.slice(0, -'.key'.length)}.cert beside it`);
    }
  }
  return { ca, ...(client ? { client } : {}), used: ca.length > 0 || client !== undefined };
}

/**
 * The TLS options for `hostPort` (as written in refs: `registry.example:5443`), or undefined for
 * Node's defaults. Throws TrustConfigError (exit 2) for a broken certs.d or NODE_EXTRA_CA_CERTS.
 */
export function trustFor(hostPort: string, spec: RegistryTrust | undefined, env: NodeJS.ProcessEnv): TlsMaterial | undefined {
  const ca: string[] = [];
  const sources: string[] = [];
  let client = spec?.client;
  if (spec?.ca) {
    ca.push(spec.ca.pem);
    sources.push(spec.ca.file);
  }
  for (const root of certsDirs(env)) {
    const d = certsD(join(root, hostPort));
    if (!d.used) continue;
    ca.push(...d.ca);
    sources.push(join(root, hostPort));
    if (!client && d.client) client = { certFile: '', keyFile: '', ...d.client };
  }
  if (!ca.length && !client) return undefined;
  const out: TlsMaterial = { sources };
  // A `ca` option replaces Node's roots: keep them, and NODE_EXTRA_CA_CERTS, beside the added CAs.
  if (ca.length) out.ca = [...rootCertificates, ...extraCaCerts(env), ...ca];
  if (client) {
    out.cert = client.cert;
    out.key = client.key;
  }
  return out;
}

function extraCaCerts(env: NodeJS.ProcessEnv): string[] {
  const file = env.NODE_EXTRA_CA_CERTS;
  if (!file) return [];
  const certs = readCertificates(file);
  if (typeof certs === 'string') throw new TrustConfigError(`NODE_EXTRA_CA_CERTS: ${certs}`);
  return certs;
}
