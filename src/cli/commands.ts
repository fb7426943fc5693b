import { relative } from 'node:path';
import { jsonDocument, type Output } from '../render/paint.js';
import { colours, type Io } from './io.js';
import { clientOptions, progressCallbacks, type GlobalOptions, type ProposeFlags } from './options.js';
import { reportError } from './report.js';

// Each command loads only what it uses (start-up is part of every run): `pins` and `check` never
// load the HTTP client, `--help` and `--version` load none of the core. Every command is the same
// shape: call the core, render its result (render/), write, return the exit code; anything thrown
// is reported once, by reportError.

/** Run one command body; whatever it throws is reported (text, and JSON with --json) and becomes its exit code. */
async function command(o: GlobalOptions, io: Io, body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (e) {
    return reportError(e, io, Boolean(o.verbose), Boolean(o.json));
  }
}

/** A path as the user would type it from where they are. */
const shown = (io: Io, file: string) => relative(io.cwd, file) || file;

export const runLock = (o: GlobalOptions & { dryRun?: boolean }, io: Io) =>
  command(o, io, async () => {
    const [{ lock }, { lockJson, lockText }] = await Promise.all([import('../run/lock.js'), import('../render/lock.js')]);
    const { clockFrom } = await import('../run/clock.js');
    const r = await lock({
      cwd: io.cwd,
      config: o.config,
      dryRun: o.dryRun,
      now: clockFrom(io.env),
      client: clientOptions(o, io),
      callbacks: progressCallbacks(o, io),
    });
    if (o.json) io.stdout.write(jsonDocument(lockJson(r)));
    else write(io, lockText(r, shown(io, r.lockFile), Boolean(o.dryRun), colours(io, 'stderr')));
    return r.exitCode;
  });

/** Write a rendered output in order. */
function write(io: Io, out: Output): void {
  for (const [stream, text] of out) if (text) io[stream].write(text);
}

export const runPins = (o: GlobalOptions & { host?: string; group?: string; image?: string }, io: Io) =>
  command(o, io, async () => {
    const [{ pins }, { pinsJson, pinsText }] = await Promise.all([import('../run/pins.js'), import('../render/pins.js')]);
    const rows = await pins({ cwd: io.cwd, config: o.config, host: o.host, group: o.group, image: o.image });
    io.stdout.write(o.json ? jsonDocument(pinsJson(rows)) : pinsText(rows, Boolean(o.image && (o.host || o.group))));
    return 0;
  });

export const runInspect = (ref: string, o: GlobalOptions, io: Io) =>
  command(o, io, async () => {
    const [{ inspect }, { inspectJson, inspectText }] = await Promise.all([import('../run/inspect.js'), import('../render/inspect.js')]);
    const r = await inspect(ref, { cwd: io.cwd, config: o.config, client: clientOptions(o, io) });
    io.stdout.write(o.json ? jsonDocument(inspectJson(r)) : inspectText(r));
    return 0;
  });

export const runDiff = (o: GlobalOptions & { markdown?: boolean }, io: Io) =>
  command(o, io, async () => {
    const [{ diff }, { diffJson, diffMarkdown, diffText }, { failureLines }] = await Promise.all([
      import('../run/diff.js'),
      import('../render/diff.js'),
      import('../render/lock.js'),
    ]);
    const { clockFrom } = await import('../run/clock.js');
    const r = await diff({
      cwd: io.cwd,
      config: o.config,
      now: clockFrom(io.env),
      client: clientOptions(o, io),
      callbacks: progressCallbacks(o, io),
    });
    io.stdout.write(o.json ? jsonDocument(diffJson(r)) : o.markdown ? diffMarkdown(r) : diffText(r));
    if (!o.json) io.stderr.write(failureLines(r.failures, colours(io, 'stderr')));
    return r.exitCode;
  });

export const runCheck = (o: GlobalOptions, io: Io) =>
  command(o, io, async () => {
    const [{ check }, { checkJson, checkText }] = await Promise.all([import('../run/check.js'), import('../render/check.js')]);
    const r = await check({ cwd: io.cwd, config: o.config });
    io.stdout.write(o.json ? jsonDocument(checkJson(r)) : checkText(r, shown(io, r.lockFile), shown(io, r.spec.file)));
    return r.exitCode;
  });

export const runRender = (o: GlobalOptions, io: Io) =>
  command(o, io, async () => {
    const [{ render }, { renderJson, renderText }] = await Promise.all([import('../run/render.js'), import('../render/outputs.js')]);
    const r = await render({ cwd: io.cwd, config: o.config });
    io.stdout.write(o.json ? jsonDocument(renderJson(r)) : renderText(r));
    return 0;
  });

export const runPropose = (o: GlobalOptions & ProposeFlags, io: Io) =>
  command(o, io, async () => {
    const [{ propose }, { proposeJson, proposeText }, { failureLines }] = await Promise.all([
      import('../run/propose.js'),
      import('../render/propose.js'),
      import('../render/lock.js'),
    ]);
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
    io.stdout.write(o.json ? jsonDocument(proposeJson(r)) : proposeText(r));
    if (!o.json) io.stderr.write(failureLines(r.diff.failures, colours(io, 'stderr')));
    return r.exitCode;
  });

export const runVerify = (o: GlobalOptions & { markdown?: boolean }, io: Io) =>
  command(o, io, async () => {
    const [{ verify }, { verifyJson, verifyMarkdown, verifyText }] = await Promise.all([
      import('../run/verify.js'),
      import('../render/verify.js'),
    ]);
    const r = await verify({ cwd: io.cwd, config: o.config, client: clientOptions(o, io) });
    io.stdout.write(o.json ? jsonDocument(verifyJson(r)) : o.markdown ? verifyMarkdown(r) : verifyText(r));
    return r.exitCode;
  });

export const runMirror = (
  o: GlobalOptions & { to?: string[]; from?: string; image?: string[]; tags?: boolean; dryRun?: boolean },
  io: Io,
) =>
  command(o, io, async () => {
    const [{ mirror }, { mirrorJson, mirrorText }] = await Promise.all([import('../run/mirror.js'), import('../render/mirror.js')]);
    // The progress display (cli-progress) is loaded only when there is a terminal to draw on.
    const drawn = !o.json && !o.dryRun && io.terminal?.isTTY;
    const progress = drawn ? (await import('./progress.js')).mirrorProgress(io.terminal) : undefined;
    let r;
    try {
      r = await mirror({
        cwd: io.cwd,
        config: o.config,
        to: o.to,
        from: o.from,
        images: o.image?.length ? o.image : undefined,
        noTags: o.tags === false,
        dryRun: o.dryRun,
        client: clientOptions(o, io),
        onEvent: progress?.onEvent,
      });
    } finally {
      progress?.stop();
    }
    if (o.json) io.stdout.write(jsonDocument(mirrorJson(r)));
    else write(io, mirrorText(r, colours(io, 'stdout')));
    return r.exitCode;
  });

export const runAuditCommand = (o: GlobalOptions & { from?: string[]; markdown?: boolean }, io: Io) =>
  command(o, io, async () => {
    const [{ runAudit }, { auditJson, auditMarkdown, auditText }] = await Promise.all([
      import('../run/audit.js'),
      import('../render/audit.js'),
    ]);
    const r = await runAudit({ cwd: io.cwd, config: o.config, from: o.from ?? [] });
    io.stdout.write(o.json ? jsonDocument(auditJson(r)) : o.markdown ? auditMarkdown(r) : auditText(r));
    return r.exitCode;
  });

export const runReport = (o: GlobalOptions & { html?: string; from?: string[] }, io: Io) =>
  command(o, io, async () => {
    const { report } = await import('../run/report.js');
    const r = await report({ cwd: io.cwd, config: o.config, html: o.html, from: o.from ?? [] });
    if (o.json) io.stdout.write(jsonDocument(r));
    else io.stdout.write(`wrote ${shown(io, r.file)} (${r.bytes} bytes${r.reports ? `, ${r.reports} host reports` : ''})\n`);
    return 0;
  });
