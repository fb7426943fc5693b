import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './tmp.js';

export interface FakeHelper {
  /** A directory to put first on PATH. */
  bin: string;
  /** The servers it was asked for, in order. */
  calls(): string[];
}

/**
 * A fake `docker-credential-<name>` (docker-credential-helpers protocol): `get` reads the server
 * on stdin and prints `{ServerURL, Username, Secret}` for `known` servers, or says "credentials
 * not found" (exit 1, on stdout, as real helpers do); with `failWith` it fails with that message.
 * Every call is logged.
 */
export function fakeCredentialHelper(
  name: string,
  known: Record<string, { Username: string; Secret: string }>,
  failWith?: string,
): FakeHelper {
  const bin = tempDir('lgp-helper-');
  const log = join(bin, 'calls.log');
  const script = `#!/bin/sh
[ "$1" = get ] || exit 2
read server
echo "$server" >> ${JSON.stringify(log)}
${failWith ? `echo ${JSON.stringify(failWith)}; exit 1` : ''}
case "$server" in
${Object.entries(known)
  .map(([s, c]) => `  ${JSON.stringify(s)}) echo '${JSON.stringify({ ServerURL: s, ...c })}'; exit 0;;`)
  .join('\n')}
esac
echo "credentials not found in native keychain"
exit 1
`;
  writeFileSync(join(bin, `docker-credential-${name}`), script);
  chmodSync(join(bin, `docker-credential-${name}`), 0o755);
  return { bin, calls: () => (existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(Boolean) : []) };
}
