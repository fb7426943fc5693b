/** The spec's `registries:` section: settings keyed the way refs are looked up, and TLS trust loaded. */
import { resolve } from 'node:path';
import type { SpecIssue } from '../errors.js';
import { parseMirrorTarget, registryKey } from '../reference.js';
import { dict, own, put, type Dict } from '../safe/dict.js';
import { readCertificates, readClientPair, type RegistryTrust } from '../transport/trust.js';
import { quote, type SourceFile } from './source.js';
import type { RegistrySettings } from './types.js';

type Issues = Pick<SourceFile, 'issue'>;

/**
 * Registry settings keyed by registryKey() (lowercase host, Docker Hub as docker.io, no :443), the
 * way lookups normalize a ref's registry. Two keys that name one registry must agree: contradicting
 * settings are a spec error naming both, never last-one-wins. `ca`, `clientCert` and `clientKey`
 * are read now (relative to the spec), so a missing or broken file is reported with the spec.
 */
export function checkRegistries(
  registries: Record<string, RegistrySettings>,
  src: Issues,
  dir: string,
  issues: SpecIssue[],
): { registries: Dict<RegistrySettings>; trust: Dict<RegistryTrust> } {
  const out = dict<RegistrySettings>();
  const trust = dict<RegistryTrust>();
  const firstKey = new Map<string, string>();
  const canonical = (v: RegistrySettings) =>
    JSON.stringify([v.insecure ?? null, v.concurrency ?? null, v.mirrors ?? null, v.ca ?? null, v.clientCert ?? null, v.clientKey ?? null]);
  for (const [k, v] of Object.entries(registries)) {
    // A value of the wrong type is the schema's to report.
    if (!v || typeof v !== 'object' || Array.isArray(v)) continue;
    const key = registryKey(k);
    const first = firstKey.get(key);
    if (first !== undefined) {
      if (canonical(own(out, key) ?? {}) !== canonical(v)) {
        issues.push(
          src.issue(
            ['registries', k],
            `${quote(k)} and ${quote(first)} name the same registry (${key}) with different settings; keep one entry`,
            true,
          ),
        );
      }
      continue;
    }
    firstKey.set(key, k);
    put(out, key, v);
    (Array.isArray(v.mirrors) ? v.mirrors : []).forEach((m, i) => {
      if (typeof m !== 'string') return;
      const t = parseMirrorTarget(m, dir);
      if (typeof t === 'string' || t.kind !== 'registry')
        issues.push(
          src.issue(
            ['registries', k, 'mirrors', i],
            typeof t === 'string' ? t : `${quote(m)}: a mirror is a registry host[/prefix]; an OCI layout is a --to of \`lg-pins mirror\``,
          ),
        );
    });
    const loaded = loadTrust(k, v, src, dir, issues);
    if (loaded) put(trust, key, loaded);
  }
  return { registries: out, trust };
}

function loadTrust(k: string, v: RegistrySettings, src: Issues, dir: string, issues: SpecIssue[]): RegistryTrust | undefined {
  const out: RegistryTrust = {};
  if (typeof v.ca === 'string' && v.ca) {
    const file = resolve(dir, v.ca);
    const certs = readCertificates(file);
    if (typeof certs === 'string') issues.push(src.issue(['registries', k, 'ca'], `${quote(v.ca)}: ${certs}`));
    else out.ca = { file, pem: certs.join('\n') };
  }
  // One without the other is the schema's to report (dependentRequired).
  if (typeof v.clientCert === 'string' && v.clientCert && typeof v.clientKey === 'string' && v.clientKey) {
    const certFile = resolve(dir, v.clientCert);
    const keyFile = resolve(dir, v.clientKey);
    const pair = readClientPair(certFile, keyFile);
    if (typeof pair === 'string') issues.push(src.issue(['registries', k, pair.includes(keyFile) ? 'clientKey' : 'clientCert'], pair));
    else out.client = { certFile, keyFile, ...pair };
  }
  return out.ca || out.client ? out : undefined;
}
