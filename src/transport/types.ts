/**
 * The shape every transport layer shares: a Transport sends one request and resolves to its
 * answer; a Layer wraps a Transport in one concern (retries, a deadline, redirects) and is a
 * Transport again, so layers compose in any order a caller needs (see index.ts).
 */

export type Method = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface TransportRequest {
  method: Method;
  url: string;
  /** Lower-case names. Userinfo in `url` is never sent; credentials go in headers only. */
  headers?: Record<string, string>;
  body?: string;
  /** Refuse a body larger than this, before reading it whole. */
  maxBytes?: number;
  /**
   * Set (to a name for messages, e.g. "token server") on requests that carry credentials beyond
   * a header (a refresh token in the body, Basic credentials for a token realm): a redirect to
   * another origin is then refused rather than followed.
   */
  sensitive?: string;
  /**
   * Headers besides `authorization` that carry credentials (GitLab's `private-token`): dropped
   * with it when a redirect leaves the origin.
   */
  credentialHeaders?: readonly string[];
  /**
   * Safe to send again after a 5xx or a broken connection. GET, HEAD, PUT and DELETE are by their
   * method; a POST or PATCH only when the caller says so (a token request changes nothing).
   */
  idempotent?: boolean;
  /** Set by the deadline layer: what the exchange aborts on, and where it says how far it got. */
  deadline?: Deadline;
}

export interface TransportResponse {
  status: number;
  /** Lower-case names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  /** Empty for HEAD and for a redirect (its body is never read). */
  bytes: Uint8Array;
  /** The URL that answered (after redirects), without userinfo. */
  url: string;
}

export type Transport = (req: TransportRequest) => Promise<TransportResponse>;

export type Layer = (next: Transport) => Transport;

/** One try's deadline as the exchange sees it. */
export interface Deadline {
  readonly signal: AbortSignal;
  /** Whether the answer's headers are in (the message says "reading" rather than "waiting"). */
  reading: boolean;
}
