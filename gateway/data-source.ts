import { RemoteGraphQLDataSource, type GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import { STATUS_CODES } from 'node:http';
import { GraphQLError } from 'graphql';
import { injectTraceHeaders } from '../common/tracing.ts';
import { Pool } from 'undici';
import type { Viewer } from '../common/auth.ts';
import { Breaker, isOpenBreakerError, type BreakerConfig } from '../common/breaker.ts';
import type { GatewayConfig as Config } from './settings.ts';
import { ServiceUnavailableError } from '../common/errors.ts';
import type { RequestIds } from '../common/http.ts';
import type { Logger } from '../common/logger.ts';
import { fetchKey, type InflightFetches, type RawAnswer } from './dedup.ts';
import { gatewayMetrics } from './metrics.ts';

/** The gateway's per-request context: the ids every subgraph call carries on, the client's X-API-Key, and the verified viewer. */
export type GatewayContext = Partial<RequestIds> & { apiKey?: string; viewer?: Viewer | null };

type GatewayGraphQLResponse = Awaited<ReturnType<RemoteGraphQLDataSource['process']>>;

/** Subgraphs that authenticate a client by its X-API-Key (ingestEvent); no other subgraph is sent the key. */
const API_KEY_SUBGRAPHS = new Set(['notifications']);

export interface SubgraphDataSourceOptions {
  config: BreakerConfig & Pick<Config, 'SUBGRAPH_TIMEOUT_MS'>;
  logger: Logger;
  /** The gateway's in-flight fetches, shared by all its subgraphs (a mutation anywhere ends the sharing window). */
  inflight: InflightFetches;
}

/** A 5xx or 429 answer: a failure of the subgraph, counted by its breaker. */
class FailedAnswer extends Error {
  constructor(readonly answer: RawAnswer) {
    super(`answered ${answer.status} ${answer.statusText}`);
  }
}

/**
 * Calls one subgraph over a keep-alive undici Pool, through a breaker of its
 * own (timeout SUBGRAPH_TIMEOUT_MS, the BREAKER_* settings). Forwards
 * X-Request-ID, X-Correlation-ID and the verified bearer token, and turns every failure into a GraphQL
 * error with a code and the subgraph's name: unreachable, too slow, 5xx or its
 * breaker open → SERVICE_UNAVAILABLE with retryAfter; a GraphQL error body on
 * a 4xx keeps its own code (e.g. BAD_USER_INPUT for a variable the subgraph
 * rejects). Fetches for a client query are shared with identical ones in
 * flight (see dedup.ts); the breaker sees each real call once.
 */
export class SubgraphDataSource extends RemoteGraphQLDataSource<GatewayContext> {
  readonly breaker: Breaker<[string, Record<string, string>], RawAnswer>;
  private readonly pool: Pool;
  private readonly path: string;
  private readonly inflight: InflightFetches;
  private readonly timeoutMs: number;

  constructor(
    readonly name: string,
    url: string,
    options: SubgraphDataSourceOptions,
  ) {
    super({ url });
    const parsed = new URL(url);
    this.path = `${parsed.pathname}${parsed.search}`;
    // Keep-alive sockets; undici honours the subgraph's Keep-Alive timeout (65 s, common/http.ts) when reusing them.
    this.pool = new Pool(parsed.origin, { keepAliveTimeout: 30_000 });
    this.inflight = options.inflight;
    this.timeoutMs = options.config.SUBGRAPH_TIMEOUT_MS;
    this.breaker = new Breaker((signal, body, headers) => this.send(signal, body, headers), {
      name: `subgraph-${name}`,
      config: options.config,
      logger: options.logger,
      timeoutMs: options.config.SUBGRAPH_TIMEOUT_MS,
      // A 4xx is the subgraph answering; only failures (thrown: 5xx, timeouts, connection errors) count.
    });
  }

  override willSendRequest({ request, context }: GraphQLDataSourceProcessOptions<GatewayContext>): void {
    const headers = request.http?.headers;
    if (!headers) return;
    if (context?.requestId) headers.set('x-request-id', context.requestId);
    if (context?.correlationId) headers.set('x-correlation-id', context.correlationId);
    // The W3C traceparent of the active span (the gateway's fetch of this subgraph), so the subgraph continues the trace.
    injectTraceHeaders(headers);
    if (context?.apiKey && API_KEY_SUBGRAPHS.has(this.name)) headers.set('x-api-key', context.apiKey);
    // Only the verified bearer token travels on; no header the client made up does (subgraphs verify it again).
    if (context?.viewer) headers.set('authorization', `Bearer ${context.viewer.token}`);
  }

  /**
   * RemoteGraphQLDataSource.process without node-fetch and make-fetch-happen:
   * the same request (willSendRequest still sets the headers), sent over the
   * pool, through the breaker and the in-flight sharing.
   */
  override async process(options: GraphQLDataSourceProcessOptions<GatewayContext>): Promise<GatewayGraphQLResponse> {
    const { request } = options;
    const headers = new Headers();
    if (request.http?.headers) for (const [name, value] of request.http.headers) headers.append(name, value);
    headers.set('content-type', 'application/json');
    request.http = { method: 'POST', url: this.url, headers };
    this.willSendRequest(options);
    if (!request.query) throw new Error('Missing query');
    const { http: _http, ...payload } = request;
    const body = JSON.stringify(payload);
    const sent = Object.fromEntries(headers);

    let answer: RawAnswer;
    try {
      answer = isClientQuery(options)
        ? await this.inflight.shared(
            fetchKey(this.url, body, sent),
            () => this.call(body, sent),
            () => gatewayMetrics.deduplicated.inc({ subgraph: this.name }),
          )
        : await this.inflight.exclusive(() => this.call(body, sent));
    } catch (error) {
      throw this.unavailable(error);
    }
    if (answer.status >= 400) throw this.errorFromAnswer(answer);
    let parsed: unknown;
    try {
      parsed = JSON.parse(answer.text);
    } catch {
      parsed = undefined;
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new ServiceUnavailableError(`subgraph "${this.name}" answered a body that is not a GraphQL response`, this.breaker.retryAfterSeconds(), {
        serviceName: this.name,
      });
    }
    // As RemoteGraphQLDataSource honours it: the client's answer is cacheable only as far as every fetch's is.
    if ('incomingRequestContext' in options) restrictCachePolicy(options.incomingRequestContext.overallCachePolicy, header(answer, 'cache-control'));
    return parsed as GatewayGraphQLResponse;
  }

  /** One real call through the breaker, timed and counted by outcome. */
  private async call(body: string, headers: Record<string, string>): Promise<RawAnswer> {
    const subgraph = this.name;
    const started = performance.now();
    try {
      const answer = await this.breaker.fire(body, headers);
      gatewayMetrics.subgraphRequests.inc({ subgraph, outcome: answer.status < 400 ? 'ok' : 'error' });
      gatewayMetrics.subgraphDuration.observe({ subgraph }, (performance.now() - started) / 1000);
      return answer;
    } catch (error) {
      if (isOpenBreakerError(error)) {
        gatewayMetrics.subgraphRequests.inc({ subgraph, outcome: 'rejected' });
      } else {
        gatewayMetrics.subgraphRequests.inc({ subgraph, outcome: 'unavailable' });
        gatewayMetrics.subgraphDuration.observe({ subgraph }, (performance.now() - started) / 1000);
      }
      // A 5xx is still an answer to report (its Retry-After, its GraphQL errors): hand it back past the breaker.
      if (error instanceof FailedAnswer) return error.answer;
      throw error;
    }
  }

  private async send(signal: AbortSignal, body: string, headers: Record<string, string>): Promise<RawAnswer> {
    const response = await this.pool.request({ path: this.path, method: 'POST', headers, body, signal });
    const text = await response.body.text();
    const answer: RawAnswer = { status: response.statusCode, statusText: statusText(response.statusCode), headers: response.headers, text };
    if (answer.status >= 500 || answer.status === 429) throw new FailedAnswer(answer);
    return answer;
  }

  /** SERVICE_UNAVAILABLE for a call that was not answered: refused, reset, too slow, or not made because the breaker is open. */
  private unavailable(error: unknown): GraphQLError {
    if (error instanceof GraphQLError) return error;
    const extensions = { serviceName: this.name, circuitBreakerState: this.breaker.state };
    const retryAfter = this.breaker.retryAfterSeconds();
    const code = (error as { code?: string } | null)?.code;
    const reason = isOpenBreakerError(error)
      ? 'its circuit breaker is open'
      : code === 'ETIMEDOUT'
        ? `it did not answer within ${this.timeoutMs} ms`
        : (error as Error).message;
    return new ServiceUnavailableError(`subgraph "${this.name}" is unavailable: ${reason}`, retryAfter, extensions);
  }

  /** The GraphQL error for an answer with a 4xx or 5xx status. */
  private errorFromAnswer(answer: RawAnswer): GraphQLError {
    const first = firstGraphQLError(answer);
    if (first && typeof first.extensions?.code === 'string' && answer.status < 500) {
      return new GraphQLError(first.message, { extensions: { ...first.extensions, serviceName: this.name } });
    }
    if (answer.status >= 500 || answer.status === 429) {
      const retryAfter = Number(header(answer, 'retry-after'));
      return new ServiceUnavailableError(
        `subgraph "${this.name}" answered ${answer.status} ${answer.statusText}`,
        Number.isInteger(retryAfter) && retryAfter > 0 ? retryAfter : this.breaker.retryAfterSeconds(),
        { serviceName: this.name, circuitBreakerState: this.breaker.state },
      );
    }
    const code = answer.status === 401 ? 'UNAUTHENTICATED' : answer.status === 403 ? 'FORBIDDEN' : undefined;
    // Any other 4xx means the gateway sent something the subgraph cannot take: a bug, reported as such.
    return new GraphQLError(`subgraph "${this.name}" answered ${answer.status} ${answer.statusText}`, {
      extensions: { ...(code ? { code } : {}), serviceName: this.name },
    });
  }

  /** Closes the pool's sockets and stops the breaker. */
  async close(): Promise<void> {
    this.breaker.shutdown();
    await this.pool.close();
  }
}

/** True when the client's operation is a query: only then may its subgraph fetches be shared (a mutation's entity fetches must see the mutation). */
function isClientQuery(options: GraphQLDataSourceProcessOptions<GatewayContext>): boolean {
  // Health checks and schema loading carry no incoming request: never shared.
  return 'incomingRequestContext' in options && options.incomingRequestContext.operation?.operation === 'query';
}

interface CachePolicy {
  restrict(hint: { maxAge?: number; scope?: 'PUBLIC' | 'PRIVATE' }): void;
}

/**
 * Narrows the gateway's cache policy for the client's request to what one
 * subgraph answer allows (docs/operations/cdn.md): its `max-age` (0 when it has
 * none, e.g. `no-store`) and `private` or `public`. Apollo Server's cache
 * control plugin then writes `Cache-Control` from the most restrictive of them:
 * `max-age=N, public` only when every fetch was public, `no-store` when any
 * had no max-age, or the answer has errors.
 */
export function restrictCachePolicy(policy: unknown, cacheControl: string | undefined): void {
  if (typeof policy !== 'object' || policy === null || !('restrict' in policy)) return;
  const directives = new Map(
    (cacheControl ?? '')
      .toLowerCase()
      .split(',')
      .map((part) => part.trim().split('=', 2) as [string, string | undefined]),
  );
  const maxAge = directives.get('max-age');
  const storable = !directives.has('no-store') && !directives.has('no-cache');
  const hint = {
    maxAge: storable && maxAge !== undefined && /^\d+$/.test(maxAge) ? Number(maxAge) : 0,
    ...(directives.has('private') ? { scope: 'PRIVATE' as const } : directives.has('public') ? { scope: 'PUBLIC' as const } : {}),
  };
  (policy as CachePolicy).restrict(hint);
}

function header(answer: RawAnswer, name: string): string | undefined {
  const value = answer.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function statusText(status: number): string {
  return STATUS_CODES[status] ?? '';
}

function firstGraphQLError(answer: RawAnswer): { message: string; extensions?: Record<string, unknown> } | undefined {
  if (!(header(answer, 'content-type') ?? '').includes('json')) return undefined;
  let body: unknown;
  try {
    body = JSON.parse(answer.text);
  } catch {
    return undefined;
  }
  const errors = (body as { errors?: unknown } | undefined)?.errors;
  if (!Array.isArray(errors)) return undefined;
  const first = errors[0] as { message?: unknown; extensions?: unknown } | undefined;
  if (!first || typeof first.message !== 'string') return undefined;
  const extensions = typeof first.extensions === 'object' && first.extensions !== null ? (first.extensions as Record<string, unknown>) : undefined;
  return { message: first.message, extensions };
}
