import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { GraphQLError, GraphQLSchema } from 'graphql';
import type { SubscribePayload } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer, type WebSocket } from 'ws';
import { BadTokenError, type Authenticator, type Viewer } from '../auth.ts';
import { DomainError, UnauthenticatedError } from '../errors.ts';
import { requestIdsOf, type RequestIds } from '../http.ts';
import type { Logger } from '../logger.ts';
import type { Operations } from './operations.ts';

/** What an operation over a WebSocket knows of its caller. */
export interface WsCaller extends RequestIds {
  viewer: Viewer | null;
}

export interface WsOptions<C extends object> {
  /** The schema, or where to get the one in force (a gateway's is reloaded). */
  schema: GraphQLSchema | (() => GraphQLSchema);
  operations: Operations<C>;
  auth: Authenticator;
  /** The operation's context value. */
  context(caller: WsCaller): C;
  /** A WebSocket ping this often; a client that does not answer within as long is disconnected. */
  heartbeatMs: number;
  /** The path upgrades are taken on. */
  path: string;
  logger: Logger;
  /**
   * Called for each subscribe message before it is parsed, with the viewer it
   * runs as: errors refuse it (sent as the operation's `error` message); it may
   * rewrite `payload.query` and `payload.extensions` (a persisted operation's text).
   */
  admit?(viewer: Viewer | null, payload: SubscribePayload, request: IncomingMessage): Promise<readonly GraphQLError[] | undefined>;
}

export interface WsServer {
  /** The HTTP server's `upgrade` listener: a WebSocket on `path`, anything else refused. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Closes every connection (1001, going away) and stops taking new ones. */
  close(): Promise<void>;
}

/** What a connection carries: the viewer of its connection_init, and each operation's own when it sent one. */
interface Connection {
  viewer: Viewer | null;
  operations: Map<string, Viewer>;
}

/** `Bearer …` from connectionParams / extensions, whichever way it is spelled; undefined when there is none. */
function authorizationOf(params: Readonly<Record<string, unknown>> | null | undefined): string | undefined {
  const value = params?.authorization ?? params?.Authorization;
  return typeof value === 'string' ? value : undefined;
}

/**
 * graphql-ws (subprotocol `graphql-transport-ws`) on the server's `path`. The
 * token is verified at connection_init (`connectionParams.authorization`,
 * "Bearer …": a bad one closes the socket with 4401) and, when a subscribe
 * message carries `payload.extensions.authorization`, for that operation
 * alone (a gateway multiplexing its subscribers over one socket); each
 * operation runs as the viewer it names. `extensions.requestId` and
 * `correlationId` are taken too.
 */
export function wsServer<C extends object>(options: WsOptions<C>): WsServer {
  const { operations, auth } = options;
  const wss = new WebSocketServer({ noServer: true, maxPayload: 1024 * 1024 });
  const connections = new WeakMap<WebSocket, Connection>();
  const connectionOf = (socket: WebSocket): Connection => {
    let connection = connections.get(socket);
    if (!connection) connections.set(socket, (connection = { viewer: null, operations: new Map() }));
    return connection;
  };
  /** A close code and reason for a token that cannot be used. */
  const refusal = (error: unknown): [number, string] =>
    error instanceof BadTokenError ? [4401, error.message] : error instanceof DomainError ? [1013, error.message] : [1011, 'internal error'];

  const { schema } = options;
  const server = useServer(
    {
      schema: typeof schema === 'function' ? () => schema() : schema,
      async onConnect(ctx) {
        try {
          connectionOf(ctx.extra.socket).viewer = await auth.viewerOf(authorizationOf(ctx.connectionParams));
          return true;
        } catch (error) {
          if (!(error instanceof DomainError)) options.logger.error({ err: error }, 'verifying a WebSocket connection failed');
          ctx.extra.socket.close(...refusal(error));
          return false;
        }
      },
      async onSubscribe(ctx, id, payload) {
        const connection = connectionOf(ctx.extra.socket);
        const authorization = authorizationOf(payload.extensions);
        if (authorization !== undefined) {
          try {
            const viewer = await auth.viewerOf(authorization);
            if (viewer) connection.operations.set(id, viewer);
          } catch (error) {
            return [error instanceof DomainError ? error : new UnauthenticatedError("the operation's token could not be verified")];
          }
        }
        const refused = await options.admit?.(connection.operations.get(id) ?? connection.viewer, payload, ctx.extra.request);
        if (refused && refused.length > 0) {
          connection.operations.delete(id);
          return [...refused];
        }
      },
      context(ctx, id, payload) {
        const connection = connectionOf(ctx.extra.socket);
        const viewer = connection.operations.get(id) ?? connection.viewer;
        const ids = requestIdsOf(payload.extensions?.requestId, payload.extensions?.correlationId);
        return operations.bind(options.context({ ...ids, viewer }), { protocol: 'ws', viewer }) as unknown as Record<PropertyKey, unknown>;
      },
      subscribe: (args) => operations.subscribe(args),
      onNext: (_ctx, _id, _payload, args, result) => operations.formatResult(result, args.contextValue as { requestId?: string }),
      onError: (_ctx, _id, _payload, errors) => errors.map((error) => operations.formatError(error)),
      onComplete(ctx, id) {
        connectionOf(ctx.extra.socket).operations.delete(id);
      },
    },
    wss,
    options.heartbeatMs,
  );

  return {
    upgrade(req, socket, head) {
      const path = new URL(req.url ?? '/', 'http://localhost').pathname;
      if (path !== options.path) {
        socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
        return;
      }
      wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
    },
    close: () => server.dispose() as Promise<void>,
  };
}
