import { relative } from 'node:path';
import type { ImageOutcome } from '../plan/lock-plan.js';
import { failureJson } from '../render/failure.js';
import type { ClientOptions } from '../registry/client.js';
import { colours, table, type Io } from './io.js';
import type { GlobalOptions, ProposeFlags } from './main.js';
import { reportError } from './main.js';

// Each command loads only what it uses (start-up is part of every run): `pins` and `check` never
// load the HTTP client, `--help` and `--version` load none of the core.

const short = (d: string) => d.slice(0, 19);

function clientOptions(o: GlobalOptions, io: Io): ClientOptions {
  const opts: ClientOptions = {};
  if (o.timeout) opts.policy = { timeoutMs: o.timeout * 1000 };
  // URLs and statuses only: headers (and so credentials) never reach the trace.
  if (o.verbose) opts.onRequest = (e) => io.stderr.write(`${e.method} ${e.url} → ${e.status}\n`);
  return opts;
}

export async function runLock(o: GlobalOptions & { dryRun?: boolean }, io: Io): Promise<number> {
  const c = colours(io, 'stderr');
  try {
    const { lock } = await import('../run/lock.js');
    const r = await lock({ cwd: io.cwd, config: o.config, dryRun: o.dryRun, client: clientOptions(o, io), callbacks: progressCallbacks(o, io) });
    const file = relative(io.cwd, r.lockFile) || r.lockFile;
    if (o.json) {
      io.stdout.write(`${JSON.stringify({
        lockFile: r.lockFile,
        changed: r.changed,
        written: r.written,
        images: Object.fromEntries(Object.entries(r.lock.images).map(([id, i]) => [id, { tag: i.tag, digest: i.digest, platforms: Object.keys(i.platforms) }])),
        held: Object.entries(r.lock.fleet).flatMap(([g, p]) => Object.entries(p).filter(([, pin]) => pin.held).map(([image, pin]) => ({ group: g, image, tag: pin.tag, reason: pin.held }))),
        failures: r.failures.map(failureJson),
      }, null, 2)}\n`);
    } else {
      for (const f of r.failures) io.stderr.write(`${c.red('error:')} ${f.image}: ${f.error.message}\n`);
      for (const [g, p] of Object.entries(r.lock.fleet)) {
        for (const [image, pin] of Object.entries(p)) if (pin.held) io.stderr.write(`${c.yellow('held:')} group ${g} stays on ${image} ${pin.tag}: ${pin.held}\n`);
      }
      const rows = Object.entries(r.lock.images).map(([id, i]) => {
        const n = Object.keys(i.platforms).length;
        return [id, i.tag, short(i.digest), `${n} platform${n === 1 ? '' : 's'}`];
      });
      const verb = r.written ? `wrote ${file}` : o.dryRun && r.changed ? `${file} would change (dry run)` : r.changed ? `${file} not written` : r.failures.length ? `${file} unchanged` : `${file} is up to date`;
      io.stdout.write(`${verb}\n${rows.length ? table(rows, '  ') : ''}`);
      if (r.failures.length) {
        const n = r.failures.length;
        io.stderr.write(`${n} image${n === 1 ? '' : 's'} failed; ${n === 1 ? 'its' : 'their'} previous pins are kept.\n`);
      }
    }
    return r.exitCode;
  } catch (e) {
    return reportError(e, io, Boolean(o.verbose), Boolean(o.json));
  }
}

export async function runPins(o: GlobalOptions & { host?: string; group?: string; image?: string }, io: Io): Promise<number> {
  try {
    const { pins } = await import('../run/pins.js');
    const rows = await pins({ cwd: io.cwd, config: o.config, host: o.host, group: o.group, image: o.image });
    if (o.json) {
      io.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    } else if (o.image && (o.host || o.group)) {
      // Scriptable: one reference a line.
      for (const r of rows) io.stdout.write(`${r.reference}\n`);
    } else {
      const head = ['GROUP', 'IMAGE', 'PLATFORM', 'HOSTS', 'TAG', 'REFERENCE'];
      const body = rows.map((r) => [r.group, r.image, r.platform, String(r.hosts.length), r.held ? `${r.tag} (held)` : r.tag, r.reference]);
      io.stdout.write(table([head, ...body]));
    }
    return 0;
  } catch (e) {
    return reportError(e, io, Boolean(o.verbose), Boolean(o.json));
  }
}

export async function runInspect(ref: string, o: GlobalOptions, io: Io): Promise<number> {
  try {
    const { inspect } = await import('../run/inspect.js');
    const r = await inspect(ref, { cwd: io.cwd, config: o.config, client: clientOptions(o, io) });
    if (o.json) {
      io.stdout.write(`${JSON.stringify({
        reference: r.reference,
        digest: r.digest,
        mediaType: r.mediaType,
        size: r.size,
        platforms: r.platforms.map((p) => ({ platform: p.key, digest: p.digest, mediaType: p.mediaType, size: p.size })),
      }, null, 2)}\n`);
    } else {
      const head = `${r.reference}\n  digest     ${r.digest}\n  mediaType  ${r.mediaType}\n  size       ${r.size}\n  platforms  ${r.platforms.length}\n`;
      const rows = [['PLATFORM', 'DIGEST', 'MEDIA TYPE', 'SIZE'], ...r.platforms.map((p) => [p.key, p.digest, p.mediaType, String(p.size)])];
      io.stdout.write(`${head}\n${table(rows, '  ')}`);
    }
    return 0;
  } catch (e) {
    return reportError(e, io, Boolean(o.verbose), Boolean(o.json));
  }
}

function progressCallbacks(o: GlobalOptions, io: Io) {
  const c = colours(io, 'stderr');
  if (!io.stderr.isTTY || o.json) return {};
  return {
    onImageDone: (id: string, out: ImageOutcome) =>
      io.stderr.write(out.ok ? `${c.green('✓')} ${id} ${out.resolution.tag} ${c.dim(short(out.resolution.digest))}\n` : `${c.red('✗')} ${id}\n`),
  };
}

export async function runDiff(o: GlobalOptions & { markdown?: boolean }, io: Io): Promise<number> {
  const c = colours(io, 'stderr');
  try {
    const [{ diff }, { diffJson, diffMarkdown, diffText }] = await Promise.all([import('../run/diff.js'), import('../render/diff.js')]);
    const r = await diff({ cwd: io.cwd, config: o.config, client: clientOptions(o, io), callbacks: progressCallbacks(o, io) });
    if (o.json) io.stdout.write(`${JSON.stringify(diffJson(r), null, 2)}\n`);
    else io.stdout.write(o.markdown ? diffMarkdown(r) : diffText(r));
    if (!o.json) for (const f of r.failures) io.stderr.write(`${c.red('error:')} ${f.image}: ${f.error.message}\n`);
    return r.exitCode;
  } catch (e) {
    return reportError(e, io, Boolean(o.verbose), Boolean(o.json));
  }
}

export async function runCheck(o: GlobalOptions, io: Io): Promise<number> {
  try {
    const { check } = await import('../run/check.js');
    const r = await check({ cwd: io.cwd, config: o.config });
    const file = relative(io.cwd, r.lockFile) || r.lockFile;
    if (o.json) io.stdout.write(`${JSON.stringify({ lockFile: r.lockFile, ok: r.exitCode === 0, stale: r.stale }, null, 2)}\n`);
    else if (r.stale.length === 0) io.stdout.write(`${file} agrees with ${relative(io.cwd, r.spec.file) || r.spec.file}\n`);
    else io.stdout.write(`${file} is stale:\n${r.stale.map((s) => `  - ${s.message}`).join('\n')}\nRun \`lg-pins lock\` (or \`lg-pins diff\` to see the changes first).\n`);
    return r.exitCode;
  } catch (e) {
    return reportError(e, io, Boolean(o.verbose), Boolean(o.json));
  }
}


export async function runPropose(o: GlobalOptions & ProposeFlags, io: Io): Promise<number> {
  const c = colours(io, 'stderr');
  try {
    const { propose } = await import('../run/propose.js');
    const r = await propose({
      cwd: io.cwd,
      config: o.config,
      env: io.env,
      dryRun: o.dryRun,
      remote: o.remote,
      base: o.base,
      branch: o.branch,
      labels: o.label ?? [],
      author: o.author,
      client: clientOptions(o, io),
      callbacks: progressCallbacks(o, io),
    });
    if (o.json) {
      io.stdout.write(`${JSON.stringify({
        action: r.action, changed: r.changed, title: r.title, body: r.body, patch: r.patch, branch: r.branch, base: r.base, commit: r.commit,
        pullRequest: r.pr, failures: r.diff.failures.map(failureJson),
      }, null, 2)}\n`);
    } else if (r.action === 'dry-run') {
      io.stdout.write(r.changed ? `Title: ${r.title}\n\n${r.body}\n` : `Nothing to change against ${r.base}; no pull request would be opened.\n`);
    } else {
      const where = r.pr ? `#${r.pr.number} ${r.pr.url}` : '';
      const line: Record<string, string> = {
        created: `opened ${where}: ${r.title}`,
        updated: `updated ${where}: ${r.title}`,
        closed: `closed ${where}: nothing left to change against ${r.base}`,
        nothing: r.diff.failures.length ? `nothing proposed: no image could be re-pinned (errors below)` : `nothing to change against ${r.base}`,
        pushed: `pushed ${r.branch} to ${r.remote} (${r.commit?.slice(0, 12)}); no GITHUB_REPOSITORY or CI_PROJECT_ID, so no pull request was opened`,
      };
      io.stdout.write(`${line[r.action]}\n`);
    }
    if (!o.json) for (const f of r.diff.failures) io.stderr.write(`${c.red('error:')} ${f.image}: ${f.error.message}\n`);
    return r.exitCode;
  } catch (e) {
    return reportError(e, io, Boolean(o.verbose), Boolean(o.json));
  }
}

export async function runVerify(o: GlobalOptions & { markdown?: boolean }, io: Io): Promise<number> {
  try {
    const [{ verify }, { verifyJson, verifyMarkdown, verifyText }] = await Promise.all([import('../run/verify.js'), import('../render/verify.js')]);
    const r = await verify({ cwd: io.cwd, config: o.config, client: clientOptions(o, io) });
    io.stdout.write(o.json ? `${JSON.stringify(verifyJson(r), null, 2)}\n` : o.markdown ? verifyMarkdown(r) : verifyText(r));
    return r.exitCode;
  } catch (e) {
    return reportError(e, io, Boolean(o.verbose), Boolean(o.json));
  }
}
