import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { ExitCode } from '../errors.js';
import { VERSION } from '../version.js';
import { processIo, safeIo, type Io } from './io.js';
import {
  runAuditCommand,
  runCheck,
  runDiff,
  runInspect,
  runLock,
  runMirror,
  runPins,
  runPropose,
  runRender,
  runReport,
  runVerify,
} from './commands.js';
import type { GlobalOptions, ProposeFlags } from './options.js';
import { reportError } from './report.js';

/** One subcommand: its flags beyond the common ones, and the core it runs (cli/commands.ts). */
interface CommandSpec {
  name: string;
  description: string;
  /** Takes --timeout (it reaches registries). */
  network: boolean;
  argument?: [string, string];
  /** [flags, description, default]; a default of [] makes the flag repeatable. */
  options?: Array<[string, string, (string | string[])?]>;
  run(args: unknown[], io: Io): Promise<number>;
}

type Flags = GlobalOptions & ProposeFlags & { dryRun?: boolean; markdown?: boolean; host?: string; group?: string; image?: string };
const opts = (args: unknown[], at = 0) => args[at] as Flags;

const PROPOSE_FLAGS: CommandSpec['options'] = [
  ['--dry-run', 'print the title, body and lock diff; push, write and call nothing'],
  ['--remote <name>', 'git remote to fetch the base from and push to', 'origin'],
  ['--base <branch>', "the base branch (default: the remote's default branch)"],
  ['--branch <name>', 'the branch to push the re-pin to', 'lg-pins/repin'],
  ['--label <label>', 'label for the pull request (repeatable)', []],
  ['--author <"Name <email>">', 'commit author (default: git config user.name/email, else lg-pins)'],
];

// One line a command: name, whether it reaches the network, what it does, its own flags, its core.
// prettier-ignore
const COMMANDS: CommandSpec[] = [
  { name: 'lock', network: true, description: 'resolve every image, apply fleet coverage, write lg-pins.lock.yaml', options: [['--dry-run', 'resolve and report, write nothing']], run: (a, io) => runLock(opts(a), io) },
  { name: 'diff', network: true, description: 'resolve fresh and show what `lock` would change; writes nothing (exit 0 none, 1 changes)', options: [['--markdown', 'print Markdown tables fit for a pull request, with the lock diff']], run: (a, io) => runDiff(opts(a), io) },
  { name: 'check', network: false, description: 'offline: does the lock still agree with the spec? (exit 0 yes, 1 stale)', run: (a, io) => runCheck(opts(a), io) },
  { name: 'render', network: false, description: "offline: write the spec's deploy outputs from the lock (dotenv, Ansible, Kustomize, Helm, JSON)", run: (a, io) => runRender(opts(a), io) },
  { name: 'propose', network: true, description: 'lock the base branch, commit the new lock on a branch, push it, open or update its pull request', options: PROPOSE_FLAGS, run: (a, io) => runPropose(opts(a), io) },
  { name: 'verify', network: true, description: 'the lock is still served as written: digests, tags, signatures, mirrors (exit 0, 1 drift, 3, 4)', options: [['--markdown', 'print a Markdown report']], run: (a, io) => runVerify(opts(a), io) },
  { name: 'mirror', network: true, description: 'copy what the lock pins, by digest with every platform and its signatures, to mirrors or an OCI layout (exit 0, 3, 4)', options: [['--to <dest>', 'host[/prefix] or oci-layout://DIR (repeatable; default: registries.<host>.mirrors)', []], ['--from <oci-layout://DIR>', 'read from a layout written by `mirror --to oci-layout://DIR` instead of the registries'], ['--image <image>', 'only this image (repeatable)', []], ['--no-tags', "copy by digest only: leave the pinned tags as they are at the destination (signature tags are always copied)"], ['--dry-run', 'list what would be copied, with sizes; write nothing']], run: (a, io) => runMirror(opts(a) as Parameters<typeof runMirror>[0], io) },
  { name: 'audit', network: false, description: 'offline: what the hosts report running against the lock: current, wrong-platform, outdated, missing (exit 0 all current, 1 not)', options: [['--from <file>', 'a report: JSON array or JSON lines of {host, image}, or `kubectl get pods -A -o json`; - reads standard input (repeatable)', []], ['--markdown', 'print Markdown tables']], run: (a, io) => runAuditCommand(opts(a), io) },
  { name: 'report', network: false, description: 'offline: the fleet at a glance as one self-contained HTML page (groups × images, states, notes, signers; with --from, the share of current hosts)', options: [['--html <file>', 'the page to write'], ['--from <file>', 'host reports, as for audit (repeatable)', []]], run: (a, io) => runReport(opts(a), io) },
  { name: 'pins', network: false, description: 'print pinned references from the lock (offline)', options: [['--host <host>', 'only this host'], ['--group <group>', 'only this fleet group'], ['--image <image>', 'only this image']], run: (a, io) => runPins(opts(a), io) },
  { name: 'inspect', network: true, description: "show a tag's index: platforms, digests, media types, sizes", argument: ['<ref>', 'registry/repository[:tag|@digest], or oci-layout://dir[:tag]'], run: (a, io) => runInspect(String(a[0]), opts(a, 1), io) },
];

function seconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || n > 3600) throw new InvalidArgumentError(`"${value}" is not a number of seconds between 0 and 3600`);
  return n;
}

/** The CLI: parse flags, run a command, render, and pick the exit code. Never calls process.exit. */
export async function main(argv: string[], rawIo: Io = processIo()): Promise<number> {
  // Every byte written goes through the output sanitizer (src/safe/text.ts), whatever it quotes.
  const io = safeIo(rawIo);
  let code: number = ExitCode.ok;
  const program = new Command()
    .name('lg-pins')
    .description('Pin multi-architecture container images for a heterogeneous fleet.')
    .version(VERSION, '-V, --version')
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) })
    .exitOverride()
    .showHelpAfterError('(run lg-pins --help for usage)')
    .addHelpText(
      'after',
      '\nExit codes: 0 success, 1 changes or drift found, 2 bad input (usage, spec, lock, inventory),\n' +
        '3 registry/network/credential failure or a release that cannot serve the fleet, 4 integrity or trust failure.\n' +
        'Docs: README.md; spec schema: schemas/lg-pins.schema.json',
    );

  for (const c of COMMANDS) {
    const cmd = program.command(c.name).description(c.description);
    if (c.argument) cmd.argument(c.argument[0], c.argument[1]);
    cmd
      .addOption(new Option('-c, --config <path>', 'the spec file (default: lg-pins.yaml, searched upward)'))
      .option('--verbose', 'log each registry request to stderr')
      .option('--json', 'print one JSON document on stdout');
    if (c.network) {
      cmd.addOption(
        new Option(
          '--timeout <seconds>',
          'per-request timeout; each request is tried 3 times, so a registry that is down fails within about 3× this',
        )
          .argParser(seconds)
          .default(10),
      );
    }
    for (const [flags, description, fallback] of c.options ?? []) {
      if (Array.isArray(fallback)) cmd.option(flags, description, (v: string, all: string[]) => [...all, v], [] as string[]);
      else if (fallback !== undefined) cmd.option(flags, description, fallback);
      else cmd.option(flags, description);
    }
    // commander passes the argument (if any), then the options, then the command.
    cmd.action(async (...args: unknown[]) => void (code = await c.run(args, io)));
  }

  try {
    await program.parseAsync(argv, { from: 'user' });
    return code;
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version end here with exit code 0; usage errors are bad input.
      return e.exitCode === 0 ? ExitCode.ok : ExitCode.badInput;
    }
    return reportError(e, io, argv.includes('--verbose'), argv.includes('--json'));
  }
}
