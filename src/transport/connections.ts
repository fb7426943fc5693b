import http from 'node:http';
import https from 'node:https';
import { Agent, type Dispatcher } from 'undici';

/**
 * The connection pools a stack sends through. They are the one place that knows how a connection
 * is made (TLS trust, client certificates, proxies), so such settings go here and no caller changes.
 */
export interface Connections {
  /** undici's dispatcher, for every method but HEAD. */
  dispatcher: Dispatcher;
  /** node:http(s) keep-alive agents, for HEAD (see request.ts for why). */
  agents: { http: http.Agent; https: https.Agent };
}

/**
 * Keep-alive pools for one run, with undici's own timeouts at the try's deadline as a backstop (the
 * deadline layer is what enforces it). Whatever `given` supplies is used as is and left to its
 * owner; `close()` closes only what was made here.
 */
export function openConnections(timeoutMs: number, given: Partial<Connections> = {}): { connections: Connections; close(): Promise<void> } {
  const dispatcher =
    given.dispatcher ??
    new Agent({
      keepAliveTimeout: 30_000,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      connect: { timeout: timeoutMs },
    });
  const agents = given.agents ?? { http: new http.Agent({ keepAlive: true }), https: new https.Agent({ keepAlive: true }) };
  return {
    connections: { dispatcher, agents },
    async close() {
      if (!given.agents) {
        agents.http.destroy();
        agents.https.destroy();
      }
      if (!given.dispatcher) await dispatcher.close();
    },
  };
}
