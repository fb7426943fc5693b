// Refresh the Sigstore public-good trusted root lg-pins ships (assets/sigstore/trusted_root.json):
// fetch the `trusted_root.json` target through Sigstore's TUF repository with @sigstore/tuf, which
// checks every piece of TUF metadata from the root embedded in that package, then write the file
// and its sha256 into assets/sigstore/README.md. A maintainer's tool (it needs the network); lg-pins
// itself never fetches trust material at run time.
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { initTUF } from '@sigstore/tuf';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const target = join(root, 'assets', 'sigstore', 'trusted_root.json');
const notes = join(root, 'assets', 'sigstore', 'README.md');

const cache = mkdtempSync(join(tmpdir(), 'lg-pins-tuf-'));
try {
  const tuf = await initTUF({ cachePath: cache, forceInit: true });
  const text = await tuf.getTarget('trusted_root.json');
  JSON.parse(text); // a target that is not JSON is a broken repository, not a root to ship
  const before = readFileSync(target, 'utf8');
  const digest = createHash('sha256').update(text).digest('hex');
  if (text === before) {
    console.log(`unchanged: sha256 ${digest}`);
  } else {
    writeFileSync(target, text);
    writeFileSync(notes, readFileSync(notes, 'utf8').replace(/sha256 [0-9a-f]{64}/, `sha256 ${digest}`));
    console.log(`updated ${target}: sha256 ${digest} (update the digest quoted in README.md too)`);
  }
} finally {
  rmSync(cache, { recursive: true, force: true });
}
