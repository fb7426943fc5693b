import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { ExitCode } from '../errors.js';
import { VERSION } from '../version.js';
import { processIo, safeIo, type Io } from './io.js';
import { runCheck, runDiff, runInspect, runLock, runPins, runPropose, runVerify } from './commands.js';
import type { GlobalOptions, ProposeFlags } from './options.js';
import { reportError } from './report.js';


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

  const common = (cmd: Command) =>
    cmd
      .addOption(new Option('-c, --config <path>', 'the spec file (default: lg-pins.yaml, searched upward)'))
      .option('--verbose', 'log each registry request to stderr')
      .option('--json', 'print one JSON document on stdout');

  const network = (cmd: Command) =>
    cmd.addOption(
      new Option('--timeout <seconds>', 'per-request timeout; each request is tried 3 times, so a registry that is down fails within about 3× this').argParser(seconds).default(10),
    );

  network(common(program.command('lock')))
    .description('resolve every image, apply fleet coverage, write lg-pins.lock.yaml')
    .option('--dry-run', 'resolve and report, write nothing')
    .action(async (o: GlobalOptions & { dryRun?: boolean }) => {
      code = await runLock(o, io);
    });

  network(common(program.command('diff')))
    .description('resolve fresh and show what `lock` would change; writes nothing (exit 0 none, 1 changes)')
    .option('--markdown', 'print Markdown tables fit for a pull request, with the lock diff')
    .action(async (o: GlobalOptions & { markdown?: boolean }) => {
      code = await runDiff(o, io);
    });

  common(program.command('check'))
    .description('offline: does the lock still agree with the spec? (exit 0 yes, 1 stale)')
    .action(async (o: GlobalOptions) => {
      code = await runCheck(o, io);
    });

  network(common(program.command('propose')))
    .description('lock the base branch, commit the new lock on a branch, push it, open or update its pull request')
    .option('--dry-run', 'print the title, body and lock diff; push, write and call nothing')
    .option('--remote <name>', 'git remote to fetch the base from and push to', 'origin')
    .option('--base <branch>', "the base branch (default: the remote's default branch)")
    .option('--branch <name>', 'the branch to push the re-pin to', 'lg-pins/repin')
    .option('--label <label>', 'label for the pull request (repeatable)', (v: string, all: string[]) => [...all, v], [] as string[])
    .option('--author <"Name <email>">', 'commit author (default: git config user.name/email, else lg-pins)')
    .action(async (o: GlobalOptions & ProposeFlags) => {
      code = await runPropose(o, io);
    });

  network(common(program.command('verify')))
    .description('the lock is still served as written: digests, tags, signatures, mirrors (exit 0, 1 drift, 3, 4)')
    .option('--markdown', 'print a Markdown report')
    .action(async (o: GlobalOptions & { markdown?: boolean }) => {
      code = await runVerify(o, io);
    });

  common(program.command('pins'))
    .description('print pinned references from the lock (offline)')
    .option('--host <host>', 'only this host')
    .option('--group <group>', 'only this fleet group')
    .option('--image <image>', 'only this image')
    .action(async (o: GlobalOptions & { host?: string; group?: string; image?: string }) => {
      code = await runPins(o, io);
    });

  network(common(program.command('inspect')))
    .description("show a tag's index: platforms, digests, media types, sizes")
    .argument('<ref>', 'registry/repository[:tag|@digest], or oci-layout://dir[:tag]')
    .action(async (ref: string, o: GlobalOptions) => {
      code = await runInspect(ref, o, io);
    });

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

