/**
 * A REAL forward proxy for the proxy tests: Debian's `tinyproxy`, started in the foreground on a
 * free loopback port with a config of its own (never the system service), optionally asking for
 * Basic credentials. Its log names every request it handled (`CONNECT host:port` for HTTPS, the
 * absolute URL for plain HTTP), which is how tests tell that a request went through it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { freePort } from './registry.js';
import { tempDir } from './tmp.js';

export const TINYPROXY_BIN = '/usr/bin/tinyproxy';

export interface TestProxy {
  /** `127.0.0.1:PORT` */
  host: string;
  /** `http://127.0.0.1:PORT` (no credentials). */
  url: string;
  /** The request lines it handled so far: `CONNECT 127.0.0.1:5443 HTTP/1.1`, `GET http://… HTTP/1.1`. */
  requests(): string[];
  stop(): Promise<void>;
}

const listening = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });

export async function startTinyproxy(opts: { auth?: { user: string; pass: string } } = {}): Promise<TestProxy> {
  if (!existsSync(TINYPROXY_BIN)) throw new Error(`${TINYPROXY_BIN} not found: the proxy tests need it (apt-get install -y tinyproxy)`);
  const dir = tempDir('lgp-tinyproxy-');
  const log = join(dir, 'tinyproxy.log');
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const conf = join(dir, 'tinyproxy.conf');
    writeFileSync(
      conf,
      [
        `Port ${port}`,
        'Listen 127.0.0.1',
        'Timeout 60',
        'MaxClients 100',
        'Allow 127.0.0.1',
        'LogLevel Info',
        `LogFile "${log}"`,
        'DisableViaHeader Yes',
        ...(opts.auth ? [`BasicAuth ${opts.auth.user} ${opts.auth.pass}`] : []),
        '',
      ].join('\n'),
    );
    const child: ChildProcess = spawn(TINYPROXY_BIN, ['-d', '-c', conf], { stdio: 'ignore' });
    let exited = false;
    child.once('exit', () => (exited = true));
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline && !exited && !(await listening(port))) await new Promise((r) => setTimeout(r, 50));
    if (exited || !(await listening(port))) {
      child.kill('SIGKILL');
      continue;
    }
    process.once('exit', () => child.kill('SIGKILL'));
    return {
      host: `127.0.0.1:${port}`,
      url: `http://127.0.0.1:${port}`,
      requests: () =>
        (existsSync(log) ? readFileSync(log, 'utf8') : '')
          .split('\n')
          .map((l) => /Request \(file descriptor \d+\): (.*)$/.exec(l)?.[1])
          .filter((l): l is string => l !== undefined),
      async stop() {
        if (child.exitCode !== null) return;
        const gone = new Promise<void>((r) => child.once('exit', () => r()));
        child.kill('SIGTERM');
        await gone;
      },
    };
  }
  throw new Error('tinyproxy did not start on a free port');
}
