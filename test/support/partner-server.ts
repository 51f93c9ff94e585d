import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface PartnerCall {
  method: string;
  path: string;
  /** Date.now() when the request arrived. */
  at: number;
  body: string;
  headers: IncomingMessage['headers'];
  /** The client's port: calls with the same one came over the same (keep-alive) connection. */
  remotePort: number | undefined;
}

/** What the partner does with one request. */
export type PartnerAnswer =
  | { status: number; json?: unknown; delayMs?: number; headers?: Record<string, string> }
  /** Never answers (until the test server closes). */
  | 'hang'
  /** Destroys the connection without an answer (ECONNRESET at the client). */
  | 'reset';

export interface ScriptedPartner {
  url: string;
  /** Every request received, in order. */
  calls: PartnerCall[];
  /** Answers the next requests with these, in order, then with `fallback`. */
  script(...answers: PartnerAnswer[]): void;
  /** The answer once the script is used up (default 200 `{}`). */
  answer(fallback: PartnerAnswer | ((call: PartnerCall) => PartnerAnswer)): void;
  /** Connections open now. */
  connections(): number;
  close(): Promise<void>;
}

/**
 * A real HTTP partner that fails on purpose: tests script its answers
 * (503s, resets, hangs, latency) and read the calls it saw.
 */
export async function startScriptedPartner(): Promise<ScriptedPartner> {
  const calls: PartnerCall[] = [];
  let queue: PartnerAnswer[] = [];
  let fallback: PartnerAnswer | ((call: PartnerCall) => PartnerAnswer) = { status: 200, json: {} };
  const hanging = new Set<ServerResponse>();

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const call: PartnerCall = {
      method: req.method ?? 'GET',
      path: req.url ?? '/',
      at: Date.now(),
      body: Buffer.concat(chunks).toString('utf8'),
      headers: req.headers,
      remotePort: req.socket.remotePort,
    };
    calls.push(call);
    const answer = queue.shift() ?? (typeof fallback === 'function' ? fallback(call) : fallback);
    if (answer === 'hang') {
      hanging.add(res);
      return;
    }
    if (answer === 'reset') {
      req.socket.destroy();
      return;
    }
    if (answer.delayMs) await new Promise((resolve) => setTimeout(resolve, answer.delayMs));
    if (res.destroyed) return;
    res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
    res.end(answer.json === undefined ? '' : JSON.stringify(answer.json));
  };

  const server = createServer((req, res) => void handle(req, res));
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    script(...answers) {
      queue = answers;
    },
    answer(next) {
      fallback = next;
    },
    connections: () => sockets.size,
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of hanging) res.destroy();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Milliseconds between consecutive calls. */
export function gaps(calls: readonly PartnerCall[]): number[] {
  return calls.slice(1).map((call, i) => call.at - calls[i]!.at);
}
