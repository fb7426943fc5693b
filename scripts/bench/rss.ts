/**
 * Peak memory of one CLI run: import the BUILT CLI (dist/cli/main.js), run `main(argv)` exactly
 * as bin/lg-pins.js does, then write the process's peak RSS (KiB, VmHWM: see peak-rss.ts) to a file.
 * No hook in src: the wrapper only observes the process from outside main().
 *
 *   node node_modules/.cache/lg-pins-bench/scripts/bench/rss.js <out.json> <lock|mirror…> [flags…]
 */
import { writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import type * as Cli from '../../src/cli/main.js';
import { peakRssKiB } from './peak-rss.js';
import { ROOT } from './util.js';

const [out, ...argv] = process.argv.slice(2);
if (!out) {
  console.error('usage: rss.js <out.json> <lg-pins arguments…>');
  process.exit(2);
}
const cli = (await import(pathToFileURL(`${ROOT}dist/cli/main.js`).href)) as typeof Cli;
const code = await cli.main(argv);
process.exitCode = code;
writeFileSync(out, JSON.stringify({ code, maxRSSKiB: peakRssKiB() }));
