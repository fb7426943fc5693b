/**
 * The pure signer rules (plan/signer.ts): anchored identity and issuer matching (the trap: a prefix
 * or a longer value must never pass), when a recorded signer satisfies a policy (so a warm relock
 * skips the signature fetch), and what `check` says when it does not.
 */
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { CosignPolicy, KeylessPolicy, Match } from '../../src/config/spec.js';
import type { KeylessSigner } from '../../src/lock/model.js';
import { describeSigner, matches, sameSigner, satisfies, signerProblem } from '../../src/plan/signer.js';
import type { TrustedRootRef } from '../../src/trust/root.js';

const WORKFLOW = 'https://github.com/linuxguard/agent/.github/workflows/release.yml@refs/tags/v3.1.0';
const GITHUB = 'https://token.actions.githubusercontent.com';
const ROOT = `sha256:${'a'.repeat(64)}`;
const OTHER_ROOT = `sha256:${'b'.repeat(64)}`;

const root = (digest: string) => ({ name: 'root.json', digest }) as TrustedRootRef;
const keyless = (identity: Match, issuer: Match, digest = ROOT): KeylessPolicy => ({
  kind: 'keyless',
  identity,
  issuer,
  trustedRoot: root(digest),
});
const signer = (over: Partial<KeylessSigner> = {}): KeylessSigner => ({
  identity: WORKFLOW,
  issuer: GITHUB,
  logIndex: 42,
  trustedRoot: ROOT,
  ...over,
});
const PUB = createPublicKey(generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ type: 'spki', format: 'pem' }));
const keyPolicy = (fingerprint: string): CosignPolicy => ({
  kind: 'key',
  key: 'keys/release.pub',
  file: '/k',
  publicKey: PUB,
  fingerprint,
});

describe('matches: exact, or the WHOLE value against a regexp', () => {
  it.each<[string, Match, string, boolean]>([
    ['exact, equal', { exact: WORKFLOW }, WORKFLOW, true],
    ['exact, a prefix of the value', { exact: 'https://github.com/linuxguard/agent' }, WORKFLOW, false],
    ['exact, the value a prefix of it', { exact: `${WORKFLOW}-evil` }, WORKFLOW, false],
    [
      'regexp, whole match',
      { regexp: 'https://github\\.com/linuxguard/agent/\\.github/workflows/release\\.yml@refs/tags/v.*' },
      WORKFLOW,
      true,
    ],
    // The trap: cosign's regexps are unanchored, so this prefix would pass there.
    ['regexp matching only a prefix', { regexp: 'https://github\\.com/linuxguard/agent' }, WORKFLOW, false],
    ['regexp matching only a suffix', { regexp: 'release\\.yml@refs/tags/v3\\.1\\.0' }, WORKFLOW, false],
    [
      'regexp matching inside another repository',
      { regexp: 'https://github\\.com/linuxguard/agent/.*' },
      'https://github.com/linuxguard/agent-evil/x',
      false,
    ],
    ['an alternation is anchored as a whole', { regexp: 'a@example\\.com|b@example\\.com' }, 'b@example.com.evil.org', false],
    ['an alternation matching one whole value', { regexp: 'a@example\\.com|b@example\\.com' }, 'b@example.com', true],
    ['a regexp the writer anchored already', { regexp: `^${GITHUB.replace(/\./g, '\\.')}$` }, GITHUB, true],
  ])('%s', (_name, m, value, expected) => {
    expect(matches(m, value)).toBe(expected);
  });
});

describe('satisfies: a recorded signer reused, or verified again', () => {
  it.each<[string, CosignPolicy, KeylessSigner | string | undefined, boolean]>([
    ['the same identity, issuer and root', keyless({ exact: WORKFLOW }, { exact: GITHUB }), signer(), true],
    [
      'an identity regexp the signer still matches',
      keyless({ regexp: '.*/release\\.yml@refs/tags/v3\\..*' }, { exact: GITHUB }),
      signer(),
      true,
    ],
    ['another identity', keyless({ exact: `${WORKFLOW}x` }, { exact: GITHUB }), signer(), false],
    ['another issuer', keyless({ exact: WORKFLOW }, { exact: 'https://accounts.google.com' }), signer(), false],
    ['another trusted root', keyless({ exact: WORKFLOW }, { exact: GITHUB }, OTHER_ROOT), signer(), false],
    ['a key fingerprint for a keyless policy', keyless({ exact: WORKFLOW }, { exact: GITHUB }), `sha256:${'c'.repeat(64)}`, false],
    ['never verified', keyless({ exact: WORKFLOW }, { exact: GITHUB }), undefined, false],
    ['a keyless signer for a key policy', keyPolicy(`sha256:${'c'.repeat(64)}`), signer(), false],
    ['the same key', keyPolicy(`sha256:${'c'.repeat(64)}`), `sha256:${'c'.repeat(64)}`, true],
  ])('%s', (_name, policy, recorded, expected) => {
    expect(satisfies(policy, recorded)).toBe(expected);
  });

  it('leaving the root out (check): a newer shipped root does not make a pin stale', () => {
    expect(satisfies(keyless({ exact: WORKFLOW }, { exact: GITHUB }, OTHER_ROOT), signer(), false)).toBe(true);
  });
});

describe('sameSigner and the messages', () => {
  it('compares keyless signers field by field and keys by fingerprint', () => {
    expect(sameSigner(signer(), signer())).toBe(true);
    expect(sameSigner(signer(), signer({ logIndex: 43 }))).toBe(false);
    expect(sameSigner(signer(), signer({ trustedRoot: OTHER_ROOT }))).toBe(false);
    expect(sameSigner('sha256:x', 'sha256:x')).toBe(true);
    expect(sameSigner('sha256:x', signer())).toBe(false);
    expect(sameSigner(undefined, undefined)).toBe(true);
  });

  it('describes a signer as verify prints it', () => {
    expect(describeSigner(signer())).toBe(`signed by ${WORKFLOW} (issuer ${GITHUB}), Rekor log index 42`);
  });

  it.each<[string, CosignPolicy | undefined, KeylessSigner | string | undefined, string | undefined]>([
    ['keyless, satisfied', keyless({ exact: WORKFLOW }, { exact: GITHUB }), signer(), undefined],
    ['keyless, never verified', keyless({ exact: WORKFLOW }, { exact: GITHUB }), undefined, 'was never verified'],
    [
      'keyless, another signer',
      keyless({ exact: 'x@example.com' }, { exact: GITHUB }),
      signer(),
      `was signed by ${WORKFLOW} (issuer ${GITHUB})`,
    ],
    ['keyless, verified with a key', keyless({ exact: WORKFLOW }, { exact: GITHUB }), 'sha256:k', 'was verified with a key, not keyless'],
    ['key, verified keyless', keyPolicy('sha256:k'), signer(), 'was verified keyless, not with this key'],
    ['no policy, a keyless record', undefined, signer(), 'was verified keyless for a signer the spec no longer requires'],
    ['no policy, nothing recorded', undefined, undefined, undefined],
  ])('check: %s', (_name, policy, recorded, expected) => {
    expect(signerProblem(policy, recorded)).toBe(expected);
  });
});
