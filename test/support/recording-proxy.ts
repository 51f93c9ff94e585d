import type { IncomingMessage, ServerResponse } from 'node:http';
import { listen } from '../../common/http.ts';

export interface Exchange {
  method: string;
  path: string;
  /** Headers the proxy received (lower-case names). */
  requestHeaders: Record<string, string>;
  body: string;
  status: number;
  /** Headers the real service answered with. */
  responseHeaders: Record<string, string>;
}

export interface RecordingProxy {
  /** The proxy's base URL; `${url}/graphql` stands in for the target's /graphql. */
  url: string;
  exchanges: Exchange[];
  close(): Promise<void>;
}

const HOP_BY_HOP = new Set(['host', 'connection', 'keep-alive', 'transfer-encoding', 'content-length', 'content-encoding']);

function forwardable(headers: Iterable<[string, string]>): Record<string, string> {
  return Object.fromEntries([...headers].filter(([name]) => !HOP_BY_HOP.has(name.toLowerCase())));
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export interface RecordingProxyOptions {
  /** Milliseconds to hold the target's answer before passing it on (a slow service), by request body. Default 0. */
  holdMs?(body: string): number;
}

/**
 * A plain HTTP server posing as a service: it forwards every request to
 * `targetBase` unchanged and records what it saw going both ways (a request is
 * recorded once the target has answered it, before any hold).
 */
export async function startRecordingProxy(targetBase: string, options: RecordingProxyOptions = {}): Promise<RecordingProxy> {
  const exchanges: Exchange[] = [];
  const handler = async (req: IncomingMessage, res: ServerResponse) => {
    const body = await readBody(req);
    const requestHeaders = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : (v ?? '')]));
    try {
      const answer = await fetch(new URL(req.url ?? '/', targetBase), {
        method: req.method,
        headers: forwardable(Object.entries(requestHeaders)),
        body: req.method === 'GET' || req.method === 'HEAD' ? undefined : body,
      });
      const text = await answer.text();
      const responseHeaders = Object.fromEntries(answer.headers);
      exchanges.push({ method: req.method ?? '', path: req.url ?? '', requestHeaders, body, status: answer.status, responseHeaders });
      const hold = options.holdMs?.(body) ?? 0;
      if (hold > 0) await new Promise((resolve) => setTimeout(resolve, hold));
      res.writeHead(answer.status, forwardable(Object.entries(responseHeaders)));
      res.end(text);
    } catch (error) {
      res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`proxy: ${(error as Error).message}`);
    }
  };
  const server = await listen((req: IncomingMessage, res: ServerResponse) => void handler(req, res), 0);
  return { url: server.url, exchanges, close: () => server.close() };
}
