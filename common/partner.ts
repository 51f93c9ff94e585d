import { traceHeaders } from './tracing.ts';
import got, { HTTPError, type Method } from 'got';
import { Breaker, type BreakerConfig } from './breaker.ts';
import type { Logger } from './logger.ts';

/** Statuses got retries: every 5xx, plus 408 Request Timeout and 429 Too Many Requests. */
const RETRY_STATUSES = [408, 429, ...Array.from({ length: 100 }, (_, i) => 500 + i)];

export const DEFAULT_RETRY_DELAYS_MS: readonly number[] = [100, 200, 400];

export interface PartnerOptions {
  /** Names the partner's breaker in logs, metrics and errors, e.g. `enrichment`. */
  name: string;
  /** The partner's base URL; request paths are appended to it. */
  baseUrl: string;
  config: BreakerConfig;
  logger: Logger;
  /** Timeout of each attempt (got's `timeout.request`). */
  attemptTimeoutMs: number;
  /** Delay before each retry; its length is the number of retries. Default 100, 200, 400 ms. */
  retryDelaysMs?: readonly number[];
  /** Methods that may be retried. Default: got's idempotent methods (GET, PUT, HEAD, DELETE, OPTIONS, TRACE). */
  retryMethods?: Method[];
  /**
   * How long the breaker waits for a whole call, retries included, before it
   * counts a failure and aborts the call. Default: every attempt timing out
   * plus every retry delay.
   */
  callTimeoutMs?: number;
  /** Statuses that are an answer, not an error: resolved as `{ status }`, never retried (e.g. 404 "nothing known"). Default none. */
  answers?: readonly number[];
}

export interface PartnerRequest {
  method: Method;
  /** Appended to the base URL, e.g. `/enrichment/42`. */
  path: string;
  /** A JSON body. */
  json?: unknown;
  headers?: Record<string, string>;
}

export interface PartnerResponse<T> {
  status: number;
  /** The parsed JSON body; undefined for an empty body or a status listed in `answers`. */
  body: T | undefined;
}

/** True for a 4xx other than 408 and 429: the partner answered, so it does not count against the breaker. */
export function isClientError(error: unknown): boolean {
  if (!(error instanceof HTTPError)) return false;
  const status = error.response.statusCode;
  return status >= 400 && status < 500 && status !== 408 && status !== 429;
}

/** The HTTP status of a failed partner call, when the partner answered. */
export function statusOf(error: unknown): number | undefined {
  return error instanceof HTTPError ? error.response.statusCode : undefined;
}

/**
 * An outside service called over HTTP with got, behind its own circuit
 * breaker: per-attempt timeouts, retries after fixed delays on connection
 * errors, 5xx, 408 and 429, and a breaker around the whole call that fails
 * fast while open and aborts a call (and its pending retries) it gave up on.
 * Shared by every service that calls a partner; one instance per partner per process.
 */
export class Partner {
  readonly breaker: Breaker<[PartnerRequest], PartnerResponse<unknown>>;
  private readonly baseUrl: string;

  constructor(options: PartnerOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    const delays = options.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS;
    const answers = new Set(options.answers ?? []);
    const client = got.extend({
      timeout: { request: options.attemptTimeoutMs },
      retry: {
        limit: delays.length,
        ...(options.retryMethods ? { methods: options.retryMethods } : {}),
        statusCodes: RETRY_STATUSES,
        // Only asked when got's rules allow a retry; the delay is exact, without got's exponential backoff and noise.
        enforceRetryRules: true,
        // A Retry-After header does not veto (or stretch) the fixed delays.
        maxRetryAfter: Number.POSITIVE_INFINITY,
        calculateDelay: ({ attemptCount }) => delays[attemptCount - 1] ?? 0,
      },
    });
    const call = async (signal: AbortSignal, request: PartnerRequest): Promise<PartnerResponse<unknown>> => {
      try {
        const response = await client(`${this.baseUrl}${request.path}`, {
          method: request.method,
          ...(request.json === undefined ? {} : { json: request.json }),
          // The caller's trace continues at the partner (W3C traceparent).
          headers: { ...request.headers, ...traceHeaders() },
          signal,
        });
        return { status: response.statusCode, body: response.body ? JSON.parse(response.body) : undefined };
      } catch (error) {
        const status = statusOf(error);
        if (status !== undefined && answers.has(status)) return { status, body: undefined };
        throw error;
      }
    };
    this.breaker = new Breaker(call, {
      name: options.name,
      config: options.config,
      logger: options.logger,
      timeoutMs: options.callTimeoutMs ?? options.attemptTimeoutMs * (delays.length + 1) + delays.reduce((a, b) => a + b, 0),
      isAnswer: isClientError,
    });
  }

  /** Makes the request through the breaker; rejects with got's error, or opossum's EOPENBREAKER / ETIMEDOUT. */
  request<T>(request: PartnerRequest): Promise<PartnerResponse<T>> {
    return this.breaker.fire(request) as Promise<PartnerResponse<T>>;
  }

  /**
   * Answers calls that fail or are rejected by the open breaker with this
   * instead of rejecting (counted as fallbacks). A 4xx that does not count
   * against the breaker still rejects.
   */
  fallback(answer: (request: PartnerRequest, error: unknown) => PartnerResponse<unknown>): this {
    this.breaker.fallback(answer);
    return this;
  }

  /** Stops the breaker's timers. Safe to call twice. */
  close(): void {
    this.breaker.shutdown();
  }
}
