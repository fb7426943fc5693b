import { resolve } from 'node:path';
import type { SpecIssue } from '../errors.js';
import { anchored } from '../plan/signer.js';
import { loadCosignKey } from '../trust/keys.js';
import { bundledTrustedRoot, loadTrustedRoot, type TrustedRootRef } from '../trust/root.js';
import { quote, type SourceFile } from './source.js';
import type { CosignPolicy, Match } from './spec.js';
import type { CosignSpec } from './types.js';

type Issues = Pick<SourceFile, 'issue'>;

const KEYLESS = ['identity', 'identityRegexp', 'issuer', 'issuerRegexp', 'trustedRoot'] as const;

/**
 * `images.<id>.verify.cosign` → the policy: key-based (`key`) or keyless (identity and issuer, each
 * exactly or as a regexp over the whole value, and a trusted root). Exactly one of the two; a
 * half-configured one, a bad regexp, or a key or root that cannot be read is an issue at its key.
 */
export function checkCosign(
  cosign: CosignSpec | undefined,
  at: string[],
  src: Issues,
  dir: string,
  issues: SpecIssue[],
): CosignPolicy | undefined {
  if (!cosign || typeof cosign !== 'object') return undefined;
  const here = [...at, 'verify', 'cosign'];
  const given = (k: keyof CosignSpec): string | undefined => {
    const v: unknown = cosign[k];
    return typeof v === 'string' && v !== '' ? v : undefined;
  };
  const keyless = KEYLESS.filter((k) => given(k) !== undefined);
  const key = given('key');
  if (key !== undefined) {
    if (keyless.length) {
      for (const k of keyless)
        issues.push(
          src.issue(
            [...here, k],
            `${k} is keyless verification and key is key-based; give one of the two (remove key or the keyless settings)`,
            true,
          ),
        );
      return undefined;
    }
    const loaded = loadCosignKey(resolve(dir, key));
    if (typeof loaded === 'string') {
      issues.push(src.issue([...here, 'key'], `${quote(key)}: ${loaded}`));
      return undefined;
    }
    return { kind: 'key', ...loaded, key };
  }
  // Only strings can be checked here; the schema reports any other type.
  if (Object.values(cosign).some((v) => typeof v !== 'string')) return undefined;
  if (!keyless.length) {
    issues.push(src.issue(here, 'give key (a public key) or keyless settings (identity or identityRegexp, and issuer or issuerRegexp)'));
    return undefined;
  }
  const before = issues.length;
  const identity = match('identity', cosign, here, src, issues);
  const issuer = match('issuer', cosign, here, src, issues);
  const root = trustedRoot(given('trustedRoot'), here, src, dir, issues);
  if (issues.length > before || !identity || !issuer || !root) return undefined;
  return { kind: 'keyless', identity, issuer, trustedRoot: root };
}

function match(name: 'identity' | 'issuer', cosign: CosignSpec, here: string[], src: Issues, issues: SpecIssue[]): Match | undefined {
  const exact = cosign[name];
  const regexp = cosign[`${name}Regexp`];
  if (exact !== undefined && regexp !== undefined) {
    issues.push(src.issue([...here, `${name}Regexp`], `give ${name} (exact) or ${name}Regexp, not both`, true));
    return undefined;
  }
  if (exact !== undefined) return { exact };
  if (regexp === undefined) {
    const example =
      name === 'identity'
        ? 'the signing workflow, e.g. https://github.com/ORG/REPO/.github/workflows/release.yml@refs/tags/v1.2.3'
        : 'e.g. https://token.actions.githubusercontent.com';
    issues.push(src.issue(here, `keyless verification needs ${name} or ${name}Regexp (${example})`));
    return undefined;
  }
  try {
    anchored(regexp);
  } catch (e) {
    const why = (e as Error).message.split(': ').pop() ?? 'invalid';
    issues.push(src.issue([...here, `${name}Regexp`], `${quote(regexp)} is not a valid regular expression (${why})`));
    return undefined;
  }
  return { regexp };
}

function trustedRoot(file: string | undefined, here: string[], src: Issues, dir: string, issues: SpecIssue[]): TrustedRootRef | undefined {
  if (file === undefined) return bundledTrustedRoot();
  const loaded = loadTrustedRoot(resolve(dir, file), file);
  if (typeof loaded !== 'string') return loaded;
  issues.push(src.issue([...here, 'trustedRoot'], `${quote(file)}: ${loaded}`));
  return undefined;
}
