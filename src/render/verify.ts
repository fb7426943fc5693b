import type { Finding, VerifyResult } from '../run/verify.js';
import { describeSigner } from '../plan/signer.js';
import { mdCode, mdInert } from './markdown.js';

const LABEL: Record<Finding['kind'], string> = {
  missing: 'missing',
  'tag-moved': 'tag moved',
  mirror: 'mirror incomplete',
  integrity: 'integrity',
  signature: 'signature',
  unreachable: 'unreachable',
  'no-lock': 'no lock',
};

function verdict(r: VerifyResult): string {
  if (r.exitCode === 0) return 'The lock holds: every pinned digest is served as written.';
  const n = r.findings.length;
  return `${n} problem${n === 1 ? '' : 's'} found (exit ${r.exitCode}).`;
}

export function verifyJson(r: VerifyResult): object {
  return { ok: r.exitCode === 0, lockFile: r.lockFile, images: r.images, findings: r.findings };
}

export function verifyText(r: VerifyResult): string {
  const out: string[] = [];
  for (const i of r.images) {
    const problems = r.findings.filter((f) => f.image === i.image);
    const parts = [
      `${i.digests} digest${i.digests === 1 ? '' : 's'} checked`,
      i.tagOk ? 'tag unchanged' : 'tag NOT at the pin',
      `signature ${i.signature}`,
    ];
    for (const m of i.mirrors) parts.push(`mirror ${m.mirror} ${m.complete ? 'complete' : 'INCOMPLETE'}`);
    out.push(`${problems.length ? '✗' : '✓'} ${i.image} ${i.tag}: ${parts.join(', ')}`);
    if (i.signer) out.push(`    ${describeSigner(i.signer)}`);
    for (const f of problems) out.push(`    ${LABEL[f.kind]}: ${f.message}`);
  }
  for (const f of r.findings.filter((x) => !x.image)) out.push(`${LABEL[f.kind]}: ${f.message}`);
  out.push('', verdict(r));
  return `${out.join('\n')}\n`;
}

/** Markdown tables for a report; registry and spec values go through markdown.ts, so they stay inert. */
export function verifyMarkdown(r: VerifyResult): string {
  const cell = (s: string) => mdCode(s, { table: true });
  const out = ['| image | tag | digests | tag at pin | signature | mirrors |', '|---|---|---|---|---|---|'];
  for (const i of r.images) {
    const mirrors = i.mirrors.map((m) => `${cell(m.mirror)} ${m.complete ? 'complete' : '**incomplete**'}`).join('<br>') || '—';
    const signature = i.signer
      ? `${i.signature}: signed by ${cell(i.signer.identity)} (issuer ${cell(i.signer.issuer)}), Rekor log index ${i.signer.logIndex}`
      : i.signature;
    out.push(`| ${cell(i.image)} | ${cell(i.tag)} | ${i.digests} | ${i.tagOk ? 'yes' : '**no**'} | ${signature} | ${mirrors} |`);
  }
  out.push('');
  if (r.findings.length) {
    out.push('| image | problem | detail |', '|---|---|---|');
    for (const f of r.findings)
      out.push(`| ${f.image ? cell(f.image) : '—'} | ${LABEL[f.kind]} | ${mdInert(f.message, { table: true })} |`);
    out.push('');
  }
  out.push(verdict(r), '');
  return out.join('\n');
}
