/**
 * In-flight deduplication of the gateway's subgraph fetches: identical fetches
 * (same subgraph URL, same body, same forwarded headers that can change the
 * answer) made while one is in flight share that one call's raw answer.
 *
 * Only fetches made for a client operation that is a query may share (the
 * caller decides); and every fetch made for any other operation (a mutation and
 * the entity fetches that follow it) ends the sharing window of everything
 * already in flight, so a query started after a mutation answered never gets
 * an answer read before it.
 */

/** Headers that tag a call for tracing and cannot change its answer; every other header is part of the key. */
const NOT_IN_KEY = new Set(['x-request-id', 'x-correlation-id', 'traceparent', 'tracestate']);

export interface RawAnswer {
  status: number;
  statusText: string;
  headers: Record<string, string | string[] | undefined>;
  /** The body as received; each caller parses its own copy. */
  text: string;
}

interface Entry {
  generation: number;
  answer: Promise<RawAnswer>;
}

/** The key of a fetch: URL, body and the headers that can change the answer (Authorization and X-API-Key above all), in a fixed order. */
export function fetchKey(url: string, body: string, headers: Record<string, string>): string {
  const names = Object.keys(headers)
    .map((name) => name.toLowerCase())
    .filter((name) => !NOT_IN_KEY.has(name))
    .sort();
  const lower = Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));
  return JSON.stringify([url, body, names.map((name) => [name, lower[name]])]);
}

export class InflightFetches {
  private readonly inflight = new Map<string, Entry>();
  /** Bumped each time a fetch for a non-query operation ends: entries from before it may no longer be joined. */
  private generation = 0;

  /** Calls `fetch` unless an identical fetch started in the current generation is in flight; `onShared` runs for a joined one. */
  shared(key: string, fetch: () => Promise<RawAnswer>, onShared?: () => void): Promise<RawAnswer> {
    const current = this.inflight.get(key);
    if (current && current.generation === this.generation) {
      onShared?.();
      return current.answer;
    }
    const entry: Entry = { generation: this.generation, answer: fetch() };
    this.inflight.set(key, entry);
    const forget = () => {
      if (this.inflight.get(key) === entry) this.inflight.delete(key);
    };
    entry.answer.then(forget, forget);
    return entry.answer;
  }

  /** Runs a fetch made for a mutation (or any non-query operation): never shared, and it ends the window for fetches in flight. */
  async exclusive(fetch: () => Promise<RawAnswer>): Promise<RawAnswer> {
    try {
      return await fetch();
    } finally {
      this.generation++;
    }
  }

  /** Fetches in flight now (for tests and metrics). */
  get size(): number {
    return this.inflight.size;
  }
}
