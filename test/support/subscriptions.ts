import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';

/** One GraphQL result of a subscription, as a client receives it. */
export interface StreamResult<T = any> {
  data?: T | null;
  errors?: { message: string; path?: (string | number)[]; extensions?: Record<string, any> }[];
}

/**
 * A subscription from a real client, gathering what it receives: results in
 * order, and how it ended. next() waits for the next result not yet taken.
 */
export class Received<T = any> {
  readonly results: StreamResult<T>[] = [];
  /** Resolves with how the stream ended: `complete` (the server completed it) or an error (a close, a network error). */
  readonly ended: Promise<{ complete: true } | { error: unknown }>;
  private taken = 0;
  private waiters: (() => void)[] = [];
  private endWith!: (how: { complete: true } | { error: unknown }) => void;
  private over = false;

  constructor() {
    this.ended = new Promise((resolve) => (this.endWith = resolve));
  }

  /** Whether the stream has ended. */
  get done(): boolean {
    return this.over;
  }

  push(result: StreamResult<T>): void {
    this.results.push(result);
    this.wake();
  }

  end(how: { complete: true } | { error: unknown }): void {
    if (this.over) return;
    this.over = true;
    this.endWith(how);
    this.wake();
  }

  /** The next result not yet taken; fails after `timeoutMs`, or if the stream ends first. */
  async next(timeoutMs = 15_000): Promise<StreamResult<T>> {
    await this.until(() => this.results.length > this.taken || this.over, timeoutMs, 'the next result');
    if (this.results.length <= this.taken) throw new Error(`the stream ended after ${this.taken} results: ${JSON.stringify(await this.ended)}`);
    return this.results[this.taken++]!;
  }

  /** Waits until `check()` holds (re-checked on every result and at the end); fails after `timeoutMs`. */
  async until(check: () => boolean, timeoutMs = 15_000, what = 'the condition'): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; received ${JSON.stringify(this.results).slice(0, 2000)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  protected wake(): void {
    for (const waiter of this.waiters.splice(0)) waiter();
  }
}

export interface Operation {
  query: string;
  variables?: Record<string, unknown>;
  extensions?: Record<string, unknown>;
}

/** A GraphQL over SSE subscription (distinct connections mode), read as raw SSE over real HTTP. */
export class SseSubscription<T = any> extends Received<T> {
  /** Comment lines (heartbeats) received. */
  comments = 0;
  /** The HTTP status and content type of the answer. */
  status = 0;
  contentType = '';
  /** The body when the answer was not an event stream. */
  body: any;
  private readonly abort = new AbortController();

  /** Opens the stream; resolves once the answer's headers are in. */
  static async open<T = any>(
    url: string,
    operation: Operation,
    headers: Record<string, string> = {},
    method: 'POST' | 'GET' = 'POST',
  ): Promise<SseSubscription<T>> {
    const stream = new SseSubscription<T>();
    await stream.start(url, operation, headers, method);
    return stream;
  }

  private async start(url: string, operation: Operation, headers: Record<string, string>, method: 'POST' | 'GET'): Promise<void> {
    const target = new URL(url);
    if (method === 'GET') {
      target.searchParams.set('query', operation.query);
      if (operation.variables) target.searchParams.set('variables', JSON.stringify(operation.variables));
      if (operation.extensions) target.searchParams.set('extensions', JSON.stringify(operation.extensions));
    }
    const response = await fetch(target, {
      method,
      headers: { accept: 'text/event-stream', ...(method === 'POST' ? { 'content-type': 'application/json' } : {}), ...headers },
      body: method === 'POST' ? JSON.stringify(operation) : undefined,
      signal: this.abort.signal,
    });
    this.status = response.status;
    this.contentType = response.headers.get('content-type') ?? '';
    if (!this.contentType.includes('text/event-stream')) {
      const text = await response.text();
      try {
        this.body = JSON.parse(text);
      } catch {
        this.body = text;
      }
      this.end({ error: new Error(`HTTP ${response.status}: ${text}`) });
      return;
    }
    void this.read(response.body!);
  }

  private async read(body: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of body) {
        buffer += decoder.decode(chunk, { stream: true });
        for (let at = buffer.indexOf('\n\n'); at >= 0; at = buffer.indexOf('\n\n')) {
          const message = buffer.slice(0, at);
          buffer = buffer.slice(at + 2);
          const lines = message.split('\n');
          if (lines.every((line) => line.startsWith(':'))) {
            this.comments += 1;
            this.wake();
            continue;
          }
          const event = lines
            .find((line) => line.startsWith('event:'))
            ?.slice(6)
            .trim();
          const data = lines
            .filter((line) => line.startsWith('data:'))
            .map((line) => line.slice(5).trim())
            .join('\n');
          if (event === 'next') this.push(JSON.parse(data));
          if (event === 'complete') return this.end({ complete: true });
        }
      }
      this.end({ error: new Error('the event stream ended without complete') });
    } catch (error) {
      this.end({ error });
    }
  }

  /** Disconnects (the client goes away). */
  close(): void {
    this.abort.abort();
    this.end({ error: new Error('closed by the client') });
  }
}

/** A graphql-ws client (the `graphql-ws` library over `ws`), connected lazily on first subscribe. */
export function wsClient(
  url: string,
  connectionParams: Record<string, unknown> = {},
  options: { onClose?: (code: number, reason: string) => void } = {},
): Client {
  return createClient({
    url: url.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    connectionParams,
    retryAttempts: 0,
    lazy: true,
    on: { closed: (event) => options.onClose?.((event as { code: number }).code, String((event as { reason: unknown }).reason ?? '')) },
  });
}

/** A subscription over a graphql-ws client. */
export class WsSubscription<T = any> extends Received<T> {
  private readonly dispose: () => void;

  constructor(client: Client, operation: Operation) {
    super();
    this.dispose = client.subscribe<T>(operation, {
      next: (result) => this.push(result as StreamResult<T>),
      error: (error) => this.end({ error }),
      complete: () => this.end({ complete: true }),
    });
  }

  /** Unsubscribes (sends complete). */
  close(): void {
    this.dispose();
    this.end({ error: new Error('closed by the client') });
  }
}

/**
 * An Apollo multipart HTTP subscription (`Accept: multipart/mixed;subscriptionSpec="1.0"`, as Apollo Client's
 * HttpLink sends it), read part by part over real HTTP: `{"payload": …}` parts are results, `{}` parts heartbeats,
 * `{"payload": null, "errors": […]}` a failure of the stream, and the closing boundary its end.
 */
export class MultipartSubscription<T = any> extends Received<T> {
  /** `{}` parts received. */
  heartbeats = 0;
  status = 0;
  contentType = '';
  /** The body when the answer was not multipart. */
  body: any;
  /** The errors of a `{"payload": null, "errors": […]}` part. */
  transportErrors: StreamResult['errors'];
  private readonly abort = new AbortController();

  static async open<T = any>(url: string, operation: Operation, headers: Record<string, string> = {}): Promise<MultipartSubscription<T>> {
    const stream = new MultipartSubscription<T>();
    const response = await fetch(url, {
      method: 'POST',
      headers: { accept: 'multipart/mixed;boundary="graphql";subscriptionSpec="1.0",application/json', 'content-type': 'application/json', ...headers },
      body: JSON.stringify(operation),
      signal: stream.abort.signal,
    });
    stream.status = response.status;
    stream.contentType = response.headers.get('content-type') ?? '';
    if (!stream.contentType.startsWith('multipart/mixed')) {
      const text = await response.text();
      try {
        stream.body = JSON.parse(text);
      } catch {
        stream.body = text;
      }
      stream.end({ error: new Error(`HTTP ${response.status}: ${text}`) });
      return stream;
    }
    void stream.read(response.body!);
    return stream;
  }

  private async read(body: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    const boundary = '\r\n--graphql';
    let buffer = '';
    let first = true;
    try {
      for await (const chunk of body) {
        buffer += decoder.decode(chunk, { stream: true });
        for (let at = buffer.indexOf(boundary); at >= 0; at = buffer.indexOf(boundary)) {
          const part = buffer.slice(0, at);
          buffer = buffer.slice(at + boundary.length);
          // What precedes the first boundary is the preamble.
          if (first) {
            first = false;
            continue;
          }
          const split = part.indexOf('\r\n\r\n');
          const json = JSON.parse(part.slice(split + 4));
          if (!('payload' in json)) {
            this.heartbeats += 1;
            this.wake();
          } else if (json.payload === null) {
            this.transportErrors = json.errors;
            this.wake();
          } else this.push(json.payload);
        }
        if (buffer.startsWith('--')) return this.end({ complete: true });
      }
      this.end({ error: new Error('the multipart body ended without its closing boundary') });
    } catch (error) {
      this.end({ error });
    }
  }

  /** Disconnects (the client goes away). */
  close(): void {
    this.abort.abort();
    this.end({ error: new Error('closed by the client') });
  }
}
