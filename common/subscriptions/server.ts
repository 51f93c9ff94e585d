import type { Server } from 'node:http';
import type { RequestHandler } from 'express';
import type { GraphQLSchema } from 'graphql';
import { viewerOf, type AccessContext, type Authenticator, type Viewer } from '../auth.ts';
import { idsOf, type RequestIds } from '../http.ts';
import type { Logger } from '../logger.ts';
import { Operations, type Protocol } from './operations.ts';
import { sseHandler } from './sse.ts';
import { wsServer } from './ws.ts';

/** What every operation's context has, whichever way it came (HTTP, GraphQL over SSE, a WebSocket); common/subgraph.ts builds it for HTTP. */
export interface CallerContext extends RequestIds, AccessContext {
  /** The verified bearer token's viewer; null when anonymous. */
  viewer: Viewer | null;
  /** The caller sent the workers' service key (SERVICE_API_KEY). */
  service: boolean;
}

export interface SubscriptionServerOptions<C extends object> {
  /** The subgraph's name (metric label). */
  subgraph: string;
  schema: GraphQLSchema;
  auth: Authenticator;
  /** The operation's context value (the one queries get). */
  context(base: CallerContext): C;
  /** The context each event is executed with: fresh DataLoaders, as every query has. */
  perEvent(context: C): C;
  /** Whether a request carries the workers' service key. */
  isService(req: Parameters<RequestHandler>[0]): boolean;
  heartbeatMs: number;
  production: boolean;
  logger: Logger;
}

/** How a subgraph serves subscriptions beside Apollo Server (docs/api/subscriptions.md). */
export interface SubscriptionServer {
  /** Express middleware for /graphql, after `authenticate` and the JSON body parser: GraphQL over SSE (anything else passes on). */
  readonly sse: RequestHandler;
  /** Takes the listening server's WebSocket upgrades on /graphql (graphql-ws). */
  attach(server: Server): void;
  /** Ends every open stream with SERVICE_UNAVAILABLE (so clients subscribe again elsewhere), waits a little for them to go out, then closes the WebSockets. */
  end(): Promise<void>;
  /** Open subscription streams, of one protocol or all. */
  count(protocol?: Protocol): number;
  /** Subscription streams opened since it started (never decreases), of one protocol or all: see Operations.started. */
  started(protocol?: Protocol): number;
}

/** How long shutting down waits for the last events of ended streams to be written. */
const END_GRACE_MS = 3000;

/**
 * Shutting down a server's subscriptions (a subgraph's or the gateway's): ends every open stream with
 * SERVICE_UNAVAILABLE (so clients subscribe again elsewhere), waits a little for those last results to go out, then
 * closes the WebSockets.
 */
export async function endStreams<C extends object>(operations: Operations<C>, ws: { close(): Promise<void> }): Promise<void> {
  operations.endAll();
  await operations.drained(END_GRACE_MS);
  // The ended streams' last results reach the sockets in the promise jobs after that: then the close frames follow them.
  await new Promise((resolve) => setImmediate(resolve));
  await ws.close();
}

/** GraphQL over SSE and graphql-ws for a subgraph schema, with the same resolvers and context as its queries. */
export function createSubscriptionServer<C extends object>(options: SubscriptionServerOptions<C>): SubscriptionServer {
  const operations = new Operations<C>({ subgraph: options.subgraph, perEvent: options.perEvent, production: options.production, logger: options.logger });
  const sse = sseHandler<C>({
    schema: options.schema,
    operations,
    viewer: (res) => viewerOf(res),
    context: (req, res) => options.context({ ...idsOf(res), viewer: viewerOf(res), service: options.isService(req) }),
    heartbeatMs: options.heartbeatMs,
  });
  const ws = wsServer<C>({
    schema: options.schema,
    operations,
    auth: options.auth,
    context: (caller) => options.context({ ...caller, service: false }),
    heartbeatMs: options.heartbeatMs,
    path: '/graphql',
    logger: options.logger,
  });
  let ending: Promise<void> | undefined;
  return {
    sse,
    attach(server) {
      server.on('upgrade', ws.upgrade);
    },
    end() {
      ending ??= endStreams(operations, ws);
      return ending;
    },
    count: (protocol) => operations.count(protocol),
    started: (protocol) => operations.started(protocol),
  };
}
