import { RemoteGraphQLDataSource, type GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import { GraphQLError } from 'graphql';
import type { Viewer } from '../common/auth.ts';
import { ServiceUnavailableError } from '../common/errors.ts';
import type { RequestIds } from '../common/http.ts';

/** The gateway's per-request context: the ids every subgraph call carries on, the client's X-API-Key, and the verified viewer. */
export type GatewayContext = Partial<RequestIds> & { apiKey?: string; viewer?: Viewer | null };

/** Subgraphs that authenticate a client by its X-API-Key (ingestEvent); no other subgraph is sent the key. */
const API_KEY_SUBGRAPHS = new Set(['notifications']);

/** Seconds a client should wait before retrying when a subgraph cannot be reached. */
const RETRY_AFTER_SECONDS = 1;

interface ResponseLike {
  status: number;
  statusText: string;
  headers: { get(name: string): string | null };
  json(): Promise<unknown>;
  text(): Promise<string>;
}

/**
 * Calls one subgraph. Forwards X-Request-ID, X-Correlation-ID and the verified bearer token, and turns
 * every failure into a GraphQL error with a code and the subgraph's name:
 * unreachable or 5xx → SERVICE_UNAVAILABLE; a GraphQL error body on a 4xx
 * keeps its own code (e.g. BAD_USER_INPUT for a variable the subgraph rejects).
 */
export class SubgraphDataSource extends RemoteGraphQLDataSource<GatewayContext> {
  constructor(
    readonly name: string,
    url: string,
  ) {
    // Node's fetch (undici) honours the subgraph's Keep-Alive timeout when reusing sockets.
    super({ url, fetcher: (input, init) => fetch(input, init as RequestInit) });
  }

  override willSendRequest({ request, context }: GraphQLDataSourceProcessOptions<GatewayContext>): void {
    const headers = request.http?.headers;
    if (!headers) return;
    if (context?.requestId) headers.set('x-request-id', context.requestId);
    if (context?.correlationId) headers.set('x-correlation-id', context.correlationId);
    if (context?.apiKey && API_KEY_SUBGRAPHS.has(this.name)) headers.set('x-api-key', context.apiKey);
    // Only the verified bearer token travels on; no header the client made up does (subgraphs verify it again).
    if (context?.viewer) headers.set('authorization', `Bearer ${context.viewer.token}`);
  }

  override async process(options: GraphQLDataSourceProcessOptions<GatewayContext>) {
    try {
      return await super.process(options);
    } catch (error) {
      if (error instanceof GraphQLError) throw error;
      // Connection refused, reset, a non-JSON body: the subgraph is not serving.
      throw new ServiceUnavailableError(`subgraph "${this.name}" is unavailable: ${(error as Error).message}`, RETRY_AFTER_SECONDS, {
        serviceName: this.name,
      });
    }
  }

  override async errorFromResponse(response: ResponseLike): Promise<GraphQLError> {
    const body = await readBody(response);
    const first = firstGraphQLError(body);
    if (first && typeof first.extensions?.code === 'string' && response.status < 500) {
      return new GraphQLError(first.message, { extensions: { ...first.extensions, serviceName: this.name } });
    }
    if (response.status >= 500 || response.status === 429) {
      const retryAfter = Number(response.headers.get('retry-after'));
      return new ServiceUnavailableError(
        `subgraph "${this.name}" answered ${response.status} ${response.statusText}`,
        Number.isInteger(retryAfter) && retryAfter > 0 ? retryAfter : RETRY_AFTER_SECONDS,
        { serviceName: this.name },
      );
    }
    const code = response.status === 401 ? 'UNAUTHENTICATED' : response.status === 403 ? 'FORBIDDEN' : undefined;
    // Any other 4xx means the gateway sent something the subgraph cannot take: a bug, reported as such.
    return new GraphQLError(`subgraph "${this.name}" answered ${response.status} ${response.statusText}`, {
      extensions: { ...(code ? { code } : {}), serviceName: this.name },
    });
  }
}

async function readBody(response: ResponseLike): Promise<unknown> {
  const type = response.headers.get('content-type') ?? '';
  try {
    return type.includes('json') ? await response.json() : await response.text();
  } catch {
    return undefined;
  }
}

function firstGraphQLError(body: unknown): { message: string; extensions?: Record<string, unknown> } | undefined {
  const errors = (body as { errors?: unknown } | undefined)?.errors;
  if (!Array.isArray(errors)) return undefined;
  const first = errors[0] as { message?: unknown; extensions?: unknown } | undefined;
  if (!first || typeof first.message !== 'string') return undefined;
  const extensions = typeof first.extensions === 'object' && first.extensions !== null ? (first.extensions as Record<string, unknown>) : undefined;
  return { message: first.message, extensions };
}
