/**
 * Load for the bench scenarios: a fixed number of clients, each with its own
 * keep-alive connection and its own headers (signed in as its own user), in a
 * closed loop (each sends again as soon as it is answered) or an open loop (a
 * request every 1/rate s, whoever is free takes it).
 */
import { Pool } from 'undici';

export interface Client {
  headers: Record<string, string>;
}

export interface LoadResult {
  /** Duration of each answered request, ms. */
  latencies: number[];
  /** Wall time of the run, ms. */
  elapsedMs: number;
  /** performance.timeOrigin-based wall clock (ms since the epoch) at start and end. */
  startedAt: number;
  endedAt: number;
  /** Requests that got an error or a non-200 answer (each thrown away, not timed). */
  failed: number;
  firstFailure?: string;
  /** Open loop only: how late, at most, a request started after its scheduled time (ms); large when every client was busy. */
  maxLateMs: number;
}

export interface LoadOptions {
  url: string;
  clients: readonly Client[];
  /** The request body of request i. */
  body(i: number): string;
  /** True when the answer is what was asked for. */
  check(answer: unknown): boolean;
  /** Run length. */
  seconds: number;
  /** Open loop at this many requests per second; closed loop when absent. */
  rate?: number;
}

export async function runLoad({ url, clients, body, check, seconds, rate }: LoadOptions): Promise<LoadResult> {
  const target = new URL(url);
  const pool = new Pool(target.origin, { connections: clients.length, pipelining: 1, keepAliveTimeout: 30_000 });
  const latencies: number[] = [];
  let failed = 0;
  let firstFailure: string | undefined;
  let maxLateMs = 0;
  let next = 0;
  const started = performance.now();
  const startedAt = Date.now();
  const endAt = started + seconds * 1000;
  try {
    await Promise.all(
      clients.map(async (client) => {
        for (;;) {
          const i = next++;
          let sendAt = performance.now();
          if (rate !== undefined) {
            const scheduled = started + (i * 1000) / rate;
            if (scheduled >= endAt) return;
            if (scheduled > sendAt) await new Promise((resolve) => setTimeout(resolve, scheduled - sendAt));
            sendAt = performance.now();
            maxLateMs = Math.max(maxLateMs, sendAt - scheduled);
          } else if (sendAt >= endAt) return;
          try {
            const response = await pool.request({
              path: target.pathname,
              method: 'POST',
              headers: { 'content-type': 'application/json', ...client.headers },
              body: body(i),
            });
            const text = await response.body.text();
            const done = performance.now();
            if (response.statusCode !== 200 || !check(JSON.parse(text))) throw new Error(`${response.statusCode} ${text.slice(0, 300)}`);
            latencies.push(done - sendAt);
          } catch (error) {
            failed += 1;
            firstFailure ??= (error as Error).message;
          }
        }
      }),
    );
  } finally {
    await pool.close();
  }
  return { latencies, elapsedMs: performance.now() - started, startedAt, endedAt: Date.now(), failed, firstFailure, maxLateMs };
}
