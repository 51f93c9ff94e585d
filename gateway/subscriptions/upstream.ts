import { createClient, type Client, type ExecutionResult, type FormattedExecutionResult } from 'graphql-ws';
import type { GraphQLFormattedError } from 'graphql';
import WebSocket from 'ws';
import type { Logger } from '../../common/logger.ts';

/** How a subgraph's subscription ended other than by completing: its error messages, or the connection failing. */
export type UpstreamFailure = { errors: readonly GraphQLFormattedError[] } | { lost: string };

export interface UpstreamSink {
  next(result: FormattedExecutionResult): void;
  error(failure: UpstreamFailure): void;
  complete(): void;
}

export interface UpstreamRequest {
  query: string;
  variables: Record<string, unknown>;
  operationName?: string;
  extensions: Record<string, unknown>;
}

/**
 * The gateway's WebSockets to the subgraphs it subscribes to: one graphql-ws
 * client per subgraph URL, carrying every subscriber's operation (each with
 * its own token in `extensions.authorization`, which the subgraph verifies per
 * operation). Lazy: connected on the first subscription, closed a moment after
 * the last. No retry: when the socket is lost every subscription on it ends
 * (its subscriber resubscribes, with `after` for orderUpdates), so nothing is
 * silently resubscribed without its replay.
 */
export class UpstreamClients {
  private readonly clients = new Map<string, Client>();

  constructor(private readonly options: { heartbeatMs: number; logger: Logger }) {}

  subscribe(url: string, request: UpstreamRequest, sink: UpstreamSink): () => void {
    return this.client(url).subscribe<Record<string, unknown>, Record<string, unknown>>(request, {
      next: (result: ExecutionResult<Record<string, unknown>, Record<string, unknown>>) => sink.next(result as FormattedExecutionResult),
      complete: () => sink.complete(),
      error: (error: unknown) => {
        if (Array.isArray(error)) return sink.error({ errors: error as GraphQLFormattedError[] });
        const close = error as { code?: unknown; reason?: unknown; message?: unknown };
        const why = typeof close.code === 'number' ? `closed ${close.code}${close.reason ? ` ${String(close.reason)}` : ''}` : String(close.message ?? error);
        sink.error({ lost: why });
      },
    });
  }

  async close(): Promise<void> {
    const clients = [...this.clients.values()];
    this.clients.clear();
    await Promise.all(clients.map(async (client) => client.dispose()));
  }

  private client(url: string): Client {
    let client = this.clients.get(url);
    if (client) return client;
    const wsUrl = url.replace(/^http/, 'ws');
    client = createClient({
      url: wsUrl,
      webSocketImpl: WebSocket,
      lazy: true,
      lazyCloseTimeout: 1000,
      retryAttempts: 0,
      shouldRetry: () => false,
      keepAlive: this.options.heartbeatMs,
      on: {
        closed: (event) => {
          const { code } = event as { code?: number };
          if (code !== 1000) this.options.logger.warn({ url: wsUrl, code }, 'subscription connection to a subgraph closed');
        },
      },
    });
    this.clients.set(url, client);
    return client;
  }
}
