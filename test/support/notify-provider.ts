import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ProviderRequest {
  key: string;
  /** ms since the epoch when the request arrived. */
  at: number;
  body: Record<string, unknown>;
  /** Its W3C `traceparent` header, when it had one. */
  traceparent?: string;
  /** The answer given (or to be given). */
  status: number;
  /** Accepted before under the same key: answered 200 as a replay, not delivered again. */
  replay: boolean;
}

/** How the provider answers the nth request (1-based) carrying `key`: a status, optionally after a delay. */
export type Behaviour = (key: string, nth: number) => { status: number; delayMs?: number };

export interface TestProvider {
  /** Base URL, to use as NOTIFY_URL. */
  url: string;
  requests: ProviderRequest[];
  /** Keys the provider accepted, each once: a repeated key is answered as a replay, not a second delivery. */
  delivered: Set<string>;
  behave(behaviour: Behaviour): void;
  /** Arrival times of the requests carrying `key`. */
  timesOf(key: string): number[];
  close(): Promise<void>;
}

export const accept: Behaviour = () => ({ status: 202 });
export const down: Behaviour = () => ({ status: 503 });
export const failFirst =
  (n: number, status = 503): Behaviour =>
  (_key, nth) => ({ status: nth <= n ? status : 202 });

/**
 * A real HTTP notification provider for tests: POST /messages with an
 * Idempotency-Key, answering as told (fail on purpose, hang, refuse), and
 * recording every request and every distinct key delivered.
 */
export async function startTestProvider(behaviour: Behaviour = accept): Promise<TestProvider> {
  let current = behaviour;
  const requests: ProviderRequest[] = [];
  const delivered = new Set<string>();
  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const key = req.headers['idempotency-key'];
    if (req.method !== 'POST' || req.url !== '/messages' || typeof key !== 'string') {
      res.writeHead(400).end();
      return;
    }
    const nth = requests.filter((r) => r.key === key).length + 1;
    const { status, delayMs } = current(key, nth);
    const traceparent = typeof req.headers.traceparent === 'string' ? req.headers.traceparent : undefined;
    const replay = status < 300 && delivered.has(key);
    requests.push({ key, at: Date.now(), body: JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}'), traceparent, status, replay });
    if (status < 300) delivered.add(key);
    if (delayMs) await new Promise((resolve) => setTimeout(resolve, delayMs));
    if (res.destroyed) return;
    res.writeHead(replay ? 200 : status, { 'content-type': 'application/json' }).end(JSON.stringify({ key, replay }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    delivered,
    behave(next) {
      current = next;
    },
    timesOf: (key) => requests.filter((r) => r.key === key).map((r) => r.at),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Polls `check` until it returns a truthy value, or fails after `timeoutMs`. */
export async function eventually<T>(
  check: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  timeoutMs = 15_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
