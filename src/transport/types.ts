/**
 * The shape every transport layer shares: a Transport sends one request and resolves to its
 * answer; a Layer wraps a Transport in one concern (retries, a deadline, redirects) and is a
 * Transport again, so layers compose in any order a caller needs (see index.ts).
 */

import type { Readable } from 'node:stream';

export type Method = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/**
 * A request body: text, bytes, or a stream opened afresh for each send (a redirect or an auth round
 * trip sends it again), with its length in bytes (sent as Content-Length).
 */
export type RequestBody = string | Uint8Array | StreamBody;

export interface StreamBody {
  open(): Readable | Promise<Readable>;
  length: number;
}

export interface TransportRequest {
  method: Method;
  url: string;
  /** Lower-case names. Userinfo in `url` is never sent; credentials go in headers only. */
  headers?: Record<string, string>;
  body?: RequestBody;
  /** Refuse a body larger than this, before reading it whole. */
  maxBytes?: number;
  /**
   * Hand a 2xx answer's body back unread, as `TransportResponse.stream` (a blob): the caller reads
   * it and must consume or destroy it. Every other answer is read as usual.
   */
  stream?: boolean;
  /**
   * Bytes a streamed body carries (the request's or the answer's): the try's deadline grows by the
   * time they take at a floor rate (LIMITS.minTransferRate), so a large blob is not cut off, and a
   * server trickling a byte a second still is.
   */
  streamBytes?: number;
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
  /** Empty for HEAD, for a redirect (its body is never read) and for a streamed answer. */
  bytes: Uint8Array;
  /** The unread body of a 2xx answer to a `stream` request; ends in an error when the try's deadline passes. */
  stream?: Readable;
  /** The URL that answered (after redirects), without userinfo. */
  url: string;
}

/** Let go of an answer nobody will read: a streamed body is destroyed, freeing its connection. */
export function discard(res: TransportResponse): void {
  if (!res.stream) return;
  res.stream.on('error', () => {});
  res.stream.destroy();
}

export type Transport = (req: TransportRequest) => Promise<TransportResponse>;

export type Layer = (next: Transport) => Transport;

/** One try's deadline as the exchange sees it. */
export interface Deadline {
  readonly signal: AbortSignal;
  /** Whether the answer's headers are in (the message says "reading" rather than "waiting"). */
  reading: boolean;
}
