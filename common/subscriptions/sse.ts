import type { Request, RequestHandler, Response } from 'express';
import type { ExecutionResult as GraphQLExecutionResult, GraphQLSchema } from 'graphql';
import { createHandler, type ExecutionResult } from 'graphql-sse';
import type { Viewer } from '../auth.ts';
import type { Operations } from './operations.ts';

/** Whether the request asks for an event stream (GraphQL over SSE). */
export function acceptsEventStream(req: Request): boolean {
  return (req.get('accept') ?? '').split(',').some((part) => part.split(';')[0]!.trim().toLowerCase() === 'text/event-stream');
}

/** Resolves when `res` can take more (drained) or is gone. */
export function writable(res: Response): Promise<void> {
  if (!res.writableNeedDrain || res.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

export interface SseOptions<C extends object> {
  /** The schema, or where to get the one in force (a gateway's is reloaded). */
  schema: GraphQLSchema | (() => GraphQLSchema);
  operations: Operations<C>;
  /** The operation's context value, from the request (its verified viewer and request ids). */
  context(req: Request, res: Response): C;
  /** The request's verified viewer (null when anonymous). */
  viewer(res: Response): Viewer | null;
  /** A comment line this often keeps proxies from closing an idle stream. */
  heartbeatMs: number;
}

// graphql-sse types its context as a record; a subgraph's context is an interface.
type SseContext = Record<PropertyKey, unknown>;

/**
 * GraphQL over SSE, graphql-sse's distinct connections mode: each
 * `GET`/`POST /graphql` with `Accept: text/event-stream` is one operation,
 * streamed as `next` events and a `complete`. Other requests pass on (to
 * Apollo Server). The stream is written at the pace the client reads it:
 * an event waits while the socket is backed up (so the subscription's own
 * bounded queue is what fills), a heartbeat comment goes out every
 * `heartbeatMs`, and a client that takes nothing for a whole heartbeat
 * while events wait is disconnected.
 */
export function sseHandler<C extends object>(options: SseOptions<C>): RequestHandler {
  const { operations } = options;
  const { schema } = options;
  const handler = createHandler<Request, { res: Response }, SseContext>({
    schema: typeof schema === 'function' ? () => schema() : schema,
    // No single connection mode (a stream token): every request is a stream of its own.
    authenticate: () => null,
    context: (req) => {
      const { res } = req.context;
      const context = operations.bind(options.context(req.raw, res), { protocol: 'sse', viewer: options.viewer(res), ready: () => writable(res) });
      return context as unknown as SseContext;
    },
    subscribe: (args) => operations.subscribe(args),
    // Errors formatted as Apollo Server formats a query's; plain objects serialize as GraphQLErrors do.
    onNext: (context, _req, result) => operations.formatResult(result as GraphQLExecutionResult, context as { requestId?: string }) as ExecutionResult,
  });

  return async (req, res, next) => {
    if (!acceptsEventStream(req)) return next();
    try {
      const [body, init] = await handler({
        method: req.method,
        // req.url: what the safelist left of it (a persisted operation sent by id has its text there).
        url: req.url,
        // graphql-sse compares Accept with `text/event-stream` exactly; clients may send a list.
        headers: { get: (key: string) => (key.toLowerCase() === 'accept' ? 'text/event-stream' : (req.get(key) ?? null)) },
        body: req.method === 'POST' ? ((req.body as Record<string, unknown> | undefined) ?? null) : null,
        raw: req,
        context: { res },
      });
      const { 'content-encoding': _none, ...headers } = init.headers ?? {};
      if (body === null || typeof body === 'string') {
        res
          .status(init.status)
          .set(headers)
          .end(body ?? undefined);
        return;
      }
      res.writeHead(init.status, { ...headers, 'x-accel-buffering': 'no' });
      res.flushHeaders();
      await stream(body, res, options.heartbeatMs);
    } catch (error) {
      next(error);
    }
  };
}

/** Writes the event stream to `res` as it can take it, with heartbeats, until either side ends. */
async function stream(body: AsyncGenerator<string, void, undefined>, res: Response, heartbeatMs: number): Promise<void> {
  let gone = false;
  res.once('close', () => {
    gone = true;
    void body.return(undefined);
  });
  let waiting = Infinity;
  const heartbeat = setInterval(() => {
    if (!res.writableNeedDrain) {
      waiting = Infinity;
      res.write(':\n\n');
      return;
    }
    // Nothing taken for a whole heartbeat while events wait: the client stopped reading.
    const buffered = res.socket?.writableLength ?? 0;
    if (buffered >= waiting) res.destroy();
    waiting = buffered;
  }, heartbeatMs);
  try {
    for await (const chunk of body) {
      if (gone) break;
      if (!res.write(chunk)) await writable(res);
    }
  } finally {
    clearInterval(heartbeat);
    if (!gone) {
      res.end();
      // A client that does not read the last events either is cut off after a heartbeat instead of holding them.
      if (!res.writableFinished) setTimeout(() => res.writableFinished || res.destroy(), heartbeatMs).unref();
    }
  }
}
