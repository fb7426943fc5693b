/**
 * A test PKI made with the openssl CLI (node:crypto cannot issue certificates): a CA, server
 * certificates for 127.0.0.1 (valid, expired, issued for another name), a client certificate, and
 * a second CA nobody trusts. Every file is PEM; `dir` holds them all.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './tmp.js';

export interface Pair {
  cert: string;
  key: string;
}

export interface Pki {
  dir: string;
  /** The CA every certificate below (but `stranger`) is issued by. */
  ca: string;
  /** A server certificate for 127.0.0.1 and localhost, valid now. */
  server: Pair;
  /** The same names, valid only in January 2020. */
  expired: Pair;
  /** Valid now, but for `wrong.example` only. */
  wrongName: Pair;
  /** A client certificate (for mutual TLS). */
  client: Pair;
  /** A server certificate for 127.0.0.1 from another CA (`strangerCa`). */
  stranger: Pair;
  strangerCa: string;
}

const openssl = (args: string[], cwd: string) => execFileSync('openssl', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });

function makeCa(dir: string, name: string): { crt: string; key: string; cnf: string } {
  const crt = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  openssl(
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      key,
      '-out',
      crt,
      '-subj',
      `/CN=lg-pins test ${name}`,
      '-days',
      '30',
    ],
    dir,
  );
  const db = join(dir, `${name}-db`);
  mkdirSync(db);
  writeFileSync(join(db, 'index.txt'), '');
  writeFileSync(join(db, 'serial'), '1000\n');
  const cnf = join(dir, `${name}.cnf`);
  writeFileSync(
    cnf,
    [
      '[ca]',
      'default_ca = test',
      '[test]',
      `database = ${join(db, 'index.txt')}`,
      `serial = ${join(db, 'serial')}`,
      `new_certs_dir = ${db}`,
      `certificate = ${crt}`,
      `private_key = ${key}`,
      'default_md = sha256',
      'policy = any',
      'unique_subject = no',
      'copy_extensions = none',
      '[any]',
      'commonName = supplied',
      '',
    ].join('\n'),
  );
  return { crt, key, cnf };
}

function issue(
  dir: string,
  ca: { cnf: string },
  name: string,
  opts: { san?: string; client?: boolean; start?: string; end?: string },
): Pair {
  const key = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const cert = join(dir, `${name}.crt`);
  const ext = join(dir, `${name}.ext`);
  openssl(
    ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', csr, '-subj', `/CN=${name}`],
    dir,
  );
  writeFileSync(
    ext,
    opts.client
      ? 'extendedKeyUsage=clientAuth\n'
      : `subjectAltName=${opts.san ?? 'IP:127.0.0.1,DNS:localhost'}\nextendedKeyUsage=serverAuth\n`,
  );
  const dates = opts.start && opts.end ? ['-startdate', opts.start, '-enddate', opts.end] : ['-days', '30'];
  openssl(['ca', '-batch', '-config', ca.cnf, '-in', csr, '-out', cert, '-extfile', ext, '-notext', ...dates], dir);
  return { cert, key };
}

/** A fresh PKI in a temp directory. */
export function makePki(): Pki {
  const dir = tempDir('lgp-pki-');
  const ca = makeCa(dir, 'ca');
  const other = makeCa(dir, 'stranger-ca');
  return {
    dir,
    ca: ca.crt,
    server: issue(dir, ca, 'server', {}),
    expired: issue(dir, ca, 'expired', { start: '20200101000000Z', end: '20200102000000Z' }),
    wrongName: issue(dir, ca, 'wrong-name', { san: 'DNS:wrong.example' }),
    client: issue(dir, ca, 'client', { client: true }),
    stranger: issue(dir, other, 'stranger', {}),
    strangerCa: other.crt,
  };
}
