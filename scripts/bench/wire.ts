/**
 * The wire minimum, run as its own process: exactly one keep-alive GET per manifest URL, with the
 * full manifest Accept header, `concurrency` at a time, bodies read whole and nothing else done.
 *
 *   node node_modules/.cache/lg-pins-bench/scripts/bench/wire.js <file with one URL a line> <concurrency>
 *
 * Prints one JSON line {requests, ok, bytes, maxRSSKiB}; exits 1 when any answer is not a 200.
 * Only undici (and node:fs, for the peak RSS) is imported, so its startup is what a lean client would pay.
 */
import { readFileSync } from 'node:fs';
import { Agent, request } from 'undici';
import { ACCEPT } from './accept.js';
import { peakRssKiB } from './peak-rss.js';

const [file, conc] = process.argv.slice(2);
if (!file) {
  console.error('usage: wire.js <urls-file> [concurrency]');
  process.exit(2);
}
const urls = readFileSync(file, 'utf8')
  .split('\n')
  .filter((l) => l !== '');
const concurrency = Number(conc ?? '8');
const agent = new Agent({ keepAliveTimeout: 30_000, connections: concurrency });

let next = 0;
let ok = 0;
let bytes = 0;
const failures: string[] = [];
async function worker(): Promise<void> {
  while (next < urls.length) {
    const url = urls[next++]!;
    const res = await request(url, { method: 'GET', headers: { accept: ACCEPT }, dispatcher: agent });
    const body = await res.body.arrayBuffer();
    bytes += body.byteLength;
    if (res.statusCode === 200) ok++;
    else failures.push(`${res.statusCode} ${url}`);
  }
}
await Promise.all(Array.from({ length: Math.min(concurrency, urls.length) }, worker));
await agent.close();
console.log(JSON.stringify({ requests: urls.length, ok, bytes, maxRSSKiB: peakRssKiB() }));
if (failures.length) {
  console.error(failures.slice(0, 5).join('\n'));
  process.exitCode = 1;
}
