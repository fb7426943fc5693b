/**
 * What a failed connection means, in words that say what to do: a TLS verdict (unknown authority,
 * expired, name mismatch, client certificate required, not TLS at all) is final and names the host
 * and how to trust it; a proxy that asks for credentials is final and names the proxy (never its
 * credentials); any other failure through a proxy keeps its code, for the retry policy, and names
 * the proxy for the message.
 */
import { LgPinsError, ProxiedNetworkError, TransportError } from '../errors.js';
import type { ProxyChoice } from './proxy.js';

const UNKNOWN_AUTHORITY = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_UNTRUSTED',
]);
/**
 * The alerts a server sends when it wants a client certificate it did not get (or does not accept).
 * OpenSSL names them by protocol version, and 3.5 (Node 24) renamed the SSLv3 ones:
 * `ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE` became `ERR_SSL_SSL/TLS_ALERT_BAD_CERTIFICATE`.
 */
const CLIENT_CERT =
  /^ERR_SSL_(?:SSLV3|SSL\/TLS|TLSV1|TLSV13)_ALERT_(?:CERTIFICATE_REQUIRED|HANDSHAKE_FAILURE|BAD_CERTIFICATE|UNKNOWN_CA|CERTIFICATE_UNKNOWN)$/;

function codeOf(e: unknown): string | undefined {
  if (!(e instanceof Error)) return undefined;
  return (e as NodeJS.ErrnoException).code ?? (e.cause as NodeJS.ErrnoException | undefined)?.code;
}

/** The TLS verdict for `host`, in words, or undefined when the failure is not about TLS. */
export function tlsProblem(code: string | undefined, host: string): string | undefined {
  const trust = `trust its CA with \`registries."${host}".ca\` in the spec, or put it in /etc/docker/certs.d/${host}/ca.crt (or in ${host}/ under a directory of LG_PINS_CERTS_D)`;
  if (code === undefined) return undefined;
  if (UNKNOWN_AUTHORITY.has(code))
    return `TLS with ${host} failed: its certificate is signed by an authority lg-pins does not trust (${code}); ${trust}`;
  if (code === 'CERT_HAS_EXPIRED') return `TLS with ${host} failed: its certificate has expired (${code}); the registry must renew it`;
  if (code === 'CERT_NOT_YET_VALID')
    return `TLS with ${host} failed: its certificate is not valid yet (${code}); check this machine's clock`;
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID')
    return `TLS with ${host} failed: its certificate does not name ${host} (${code}); use the name the certificate was issued for in the ref`;
  if (CLIENT_CERT.test(code)) {
    return `TLS with ${host} failed: it requires a client certificate it accepts (${code}); give one with \`registries."${host}".clientCert\` and \`clientKey\`, or a <name>.cert and <name>.key in /etc/docker/certs.d/${host}/`;
  }
  if (code === 'ERR_SSL_WRONG_VERSION_NUMBER' || code === 'EPROTO') {
    return `TLS with ${host} failed: it does not speak TLS there (${code}); if it is a plain-HTTP registry, set \`registries."${host}".insecure: true\` (lg-pins never falls back to HTTP by itself)`;
  }
  return undefined;
}

/** The error a failed exchange with `url` becomes (through `proxy`, when one is in the way). */
export function connectionFailure(e: unknown, url: URL, proxy: ProxyChoice | undefined): unknown {
  if (e instanceof TransportError || e instanceof LgPinsError || !(e instanceof Error)) return e;
  const tls = tlsProblem(codeOf(e), url.host);
  if (tls) return new TransportError('tls', tls, { cause: e });
  if (!proxy) return e;
  // undici: "Proxy Authentication Required (407)", or "Proxy response (407) !== 200 when HTTP
  // Tunneling" (some proxies, tinyproxy among them, answer a CONNECT with bad credentials 401).
  const auth = /\b(40[17])\b/.exec(e.message)?.[1];
  if (auth) {
    return new TransportError(
      'proxy',
      `proxy ${proxy.display} refused: it requires authentication (HTTP ${auth}); give its credentials in ${url.protocol === 'https:' ? 'HTTPS_PROXY' : 'HTTP_PROXY'} (http://user:password@host:port)`,
      { status: Number(auth), cause: e },
    );
  }
  return new ProxiedNetworkError(e, proxy.display);
}
