/**
 * `lg-pins report --html` on a copy of the bundled example, checked in a real browser: Debian's
 * chromium, headless, JavaScript off (the page must be readable without it), through
 * playwright-core. The visible text of the matrix (groups, images, states, notes) is read from the
 * DOM; the page is parsed as HTML5 with every parse error reported, and holds no URL at all.
 * Screenshots (light, dark, print) are kept as test artifacts in test-artifacts/; with
 * LG_PINS_UPDATE_DOCS=1 the light one replaces docs/fleet-report.png (README "The fleet report").
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parse as parseHtml } from 'parse5';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ROOT, runCli } from '../helpers/cli.js';
import { exampleDir } from '../helpers/example.js';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(ROOT, 'test-artifacts');
const REPO = 'packages.linuxguard.io/linuxguard/agent';
let dir: string;
let browser: Browser;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium (.ci/run does)`);
  dir = exampleDir('lgp-report-');
  expect((await runCli(['lock'], dir)).code).toBe(0);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  mkdirSync(ARTIFACTS, { recursive: true });
}, 60_000);

afterAll(async () => {
  await browser?.close();
});

function reports(): string {
  const lock = parse(readFileSync(join(dir, 'lg-pins.lock.yaml'), 'utf8')) as {
    images: { agent: { platforms: Record<string, { digest: string }> } };
  };
  const p = (k: string) => lock.images.agent.platforms[k]!.digest;
  const rows = [
    ...['web-01', 'web-02', 'web-03', 'db-01'].map((host) => ({ host, image: `${REPO}@${p('linux/amd64')}` })),
    { host: 'gw-berlin', image: `${REPO}@${p('linux/amd64')}` },
    { host: 'gw-lyon', image: `${REPO}@${p('linux/arm/v7')}` },
  ];
  return rows.map((r) => JSON.stringify(r)).join('\n');
}

describe('lg-pins report --html', () => {
  it('one self-contained page, valid HTML5, no URL; the matrix read from the DOM of headless chromium with JavaScript off', async () => {
    writeFileSync(join(dir, 'hosts.jsonl'), reports());
    const r = await runCli(['report', '--html', 'fleet.html', '--from', 'hosts.jsonl'], dir);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^wrote fleet\.html \(\d+ bytes, 6 host reports\)\n$/);
    const html = readFileSync(join(dir, 'fleet.html'), 'utf8');

    const errors: string[] = [];
    parseHtml(html, { onParseError: (e) => errors.push(`${e.code} at line ${e.startLine}`) });
    expect(errors).toEqual([]);
    // Self-contained: nothing to fetch (no resource attribute, no stylesheet or script link, no CSS url()).
    expect(html).not.toMatch(/\b(src|href|srcset|action)=|url\(|<script|<link|<iframe|<img|@import/i);

    const page = await browser.newPage({ javaScriptEnabled: false, viewport: { width: 1280, height: 900 } });
    await page.goto(pathToFileURL(join(dir, 'fleet.html')).href);
    expect(await page.title()).toBe('lg-pins: the fleet at a glance');
    const rows = await page.$$eval('main table:nth-of-type(2) tbody tr', (trs) =>
      trs.map((tr) => (tr as unknown as { innerText: string }).innerText.replace(/\s+/g, ' ').trim()),
    );
    expect(rows).toHaveLength(4);
    expect(rows[0]).toMatch(/^datacenter linux\/amd64 4 ✓ v3\.0\.0 linux\/amd64 sha256:b13778b808f3 ✓ 4 of 4 hosts current$/);
    expect(rows[1]).toMatch(
      /^arm-servers linux\/arm64\/v8 \d+ ✓ v3\.0\.0 linux\/arm64\/v8 sha256:[0-9a-f]{12} ⚠ 0 of \d+ hosts current \d+ missing$/,
    );
    expect(rows[2]).toContain('edge linux/arm/v7 3 ✓ v3.0.0 linux/arm/v7');
    expect(rows[2]).toContain('⚠ no eBPF probe: the agent runs in DegradedNoEBPFArch mode');
    expect(rows[2]).toContain('⚠ 1 of 3 hosts current 1 wrong platform, 1 missing');
    expect(rows[3]).toContain('riscv-lab linux/riscv64 1');
    expect(rows[3]).toContain('⚠ 0 of 1 hosts current 1 missing');
    // The full digest is in the title of the short one.
    const title = await page.getAttribute('main table:nth-of-type(2) tbody tr:first-child code', 'title');
    expect(title).toMatch(/^sha256:b13778b808f3[0-9a-f]{52}$/);
    // Drift is outlined, not only coloured: the cells that are not all current carry the class and a ⚠.
    // (arm-servers and riscv-lab report nothing; the edge has the mix-up and a silent gateway.)
    expect(await page.$$eval('td.drift', (tds) => tds.length)).toBe(3);

    await page.screenshot({ path: join(ARTIFACTS, 'fleet-report.png'), fullPage: true });
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.screenshot({ path: join(ARTIFACTS, 'fleet-report-dark.png'), fullPage: true });
    await page.emulateMedia({ media: 'print' });
    const printed = await page.pdf();
    expect(printed.subarray(0, 5).toString()).toBe('%PDF-');
    writeFileSync(join(ARTIFACTS, 'fleet-report.pdf'), printed);
    if (process.env.LG_PINS_UPDATE_DOCS === '1') copyFileSync(join(ARTIFACTS, 'fleet-report.png'), join(ROOT, 'docs', 'fleet-report.png'));
    await page.close();
  }, 60_000);

  it('without --from: the matrix only; without --html: exit 2; a bad report: exit 2 and no page', async () => {
    const r = await runCli(['report', '--html', 'plain.html'], dir);
    expect(r.code).toBe(0);
    const html = readFileSync(join(dir, 'plain.html'), 'utf8');
    expect(html).not.toContain('hosts current');
    expect(html).toContain('✓ v3.0.0');
    expect((await runCli(['report'], dir)).code).toBe(2);
    writeFileSync(join(dir, 'bad.jsonl'), '{"host":"web-01"}\n');
    const bad = await runCli(['report', '--html', 'bad.html', '--from', 'bad.jsonl'], dir);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('bad.jsonl:1: "image" must be a string');
    expect(existsSync(join(dir, 'bad.html'))).toBe(false);
  });
});
