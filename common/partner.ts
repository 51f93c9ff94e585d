import { STATUS_CODES } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent } from 'undici';
import { Breaker, type BreakerConfig } from './breaker.ts';
import type { Logger } from './logger.ts';
import { traceHeaders } from './tracing.ts';

type UpperMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'HEAD' | 'DELETE' | 'OPTIONS' | 'TRACE';
/** An HTTP method, in either case. */
export type Method = UpperMethod | Lowercase<UpperMethod>;

/** Retried statuses: every 5xx, plus 408 Request Timeout and 429 Too Many Requests (whatever their Retry-After says). */
function isRetriedStatus(status: number): boolean {
  return status === 408 || status === 429 || (status >= 500 && status <= 599);
}

/** The methods retried unless `retryMethods` says otherwise: the idempotent ones (RFC 9110, section 9.2.2). */
const IDEMPOTENT_METHODS: readonly UpperMethod[] = ['GET', 'PUT', 'HEAD', 'DELETE', 'OPTIONS', 'TRACE'];

/**
 * Codes of the connection errors that are retried: Node's socket errors, ETIMEDOUT
 * for an attempt that timed out, and undici's own for a socket closed under a
 * request and a connect that timed out.
 */
const RETRIED_CODES = new Set([
  'ETIMEDOUT',
  'ECONNRESET',
  'EADDRINUSE',
  'ECONNREFUSED',
  'EPIPE',
  'ENOTFOUND',
  'ENETUNREACH',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/** How many redirects a call follows. */
const MAX_REDIRECTS = 10;

export const DEFAULT_RETRY_DELAYS_MS: readonly number[] = [100, 200, 400];

export interface PartnerOptions {
  /** Names the partner's breaker in logs, metrics and errors, e.g. `enrichment`. */
  name: string;
  /** The partner's base URL; request paths are appended to it. */
  baseUrl: string;
  config: BreakerConfig;
  logger: Logger;
  /** Timeout of each attempt, from sending the request to the end of the answer's body. */
  attemptTimeoutMs: number;
  /** Delay before each retry; its length is the number of retries. Default 100, 200, 400 ms. */
  retryDelaysMs?: readonly number[];
  /** Methods that may be retried. Default: the idempotent methods GET, PUT, HEAD, DELETE, OPTIONS and TRACE. */
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

/** The answer that made a call fail, on an HTTPError. */
export interface PartnerErrorResponse {
  statusCode: number;
  headers: Record<string, string | string[] | undefined>;
  /** The body as text. */
  body: string;
}

/**
 * The partner answered with a status that is not a success (not 2xx, nor 304).
 * Name, code and message the same as got's HTTPError (the backup upload's client), so
 * logs and callers see one shape for both; `response` is not
 * enumerable, so a logged error does not carry the partner's body.
 */
export class HTTPError extends Error {
  override readonly name = 'HTTPError';
  readonly code = 'ERR_NON_2XX_3XX_RESPONSE';
  declare readonly response: PartnerErrorResponse;

  constructor(method: string, url: string, response: PartnerErrorResponse) {
    super(`Request failed with status code ${response.statusCode} (${STATUS_CODES[response.statusCode] ?? 'Unknown'}): ${method} ${url}`);
    Object.defineProperty(this, 'response', { value: response, enumerable: false });
  }
}

/** An attempt took longer than `attemptTimeoutMs`; code and message the same as got's TimeoutError. */
export class TimeoutError extends Error {
  override readonly name = 'TimeoutError';
  readonly code = 'ETIMEDOUT';
  readonly event = 'request';

  constructor(readonly timeoutMs: number) {
    super(`Timeout awaiting 'request' for ${timeoutMs}ms`);
  }
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

/** True when a failed attempt may be repeated: a retried status, or a connection error (an attempt timeout included). */
function isRetried(error: unknown): boolean {
  if (error instanceof HTTPError) return isRetriedStatus(error.response.statusCode);
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && RETRIED_CODES.has(code);
}

/**
 * An outside service called over HTTP with undici, over keep-alive
 * connections of its own, behind its own circuit breaker: per-attempt
 * timeouts, retries after fixed delays on connection errors, 5xx, 408 and
 * 429, and a breaker around the whole call that fails fast while open and
 * aborts a call (and its pending retries) it gave up on.
 * Shared by every service that calls a partner; one instance per partner per process.
 */
export class Partner {
  readonly breaker: Breaker<[PartnerRequest], PartnerResponse<unknown>>;
  private readonly baseUrl: string;
  private readonly origin: string;
  /** The base URL's path, without its trailing slashes; request paths are appended to it. */
  private readonly basePath: string;
  /** Keep-alive connections to the partner (and to wherever it redirects), closed by close(). */
  private readonly agent: Agent;
  private readonly attemptTimeoutMs: number;
  private readonly delays: readonly number[];
  private readonly retryMethods: ReadonlySet<string>;
  private closing: Promise<void> | undefined;

  constructor(options: PartnerOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    const base = new URL(this.baseUrl);
    this.origin = base.origin;
    this.basePath = base.pathname.replace(/\/+$/, '');
    this.attemptTimeoutMs = options.attemptTimeoutMs;
    this.delays = options.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS;
    this.retryMethods = new Set((options.retryMethods ?? IDEMPOTENT_METHODS).map((method) => method.toUpperCase()));
    // Connecting is bounded by the attempt's timeout: undici's own 10 s default would cut a longer attempt short.
    this.agent = new Agent({ maxRedirections: MAX_REDIRECTS, connect: { timeout: options.attemptTimeoutMs } });
    const delays = this.delays;
    const answers = new Set(options.answers ?? []);
    const call = async (signal: AbortSignal, request: PartnerRequest): Promise<PartnerResponse<unknown>> => {
      try {
        return await this.call(signal, request);
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

  /** Makes the request through the breaker; rejects with an HTTPError, a TimeoutError or undici's connection error, or opossum's EOPENBREAKER / ETIMEDOUT. */
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

  /** Stops the breaker's timers and closes the connections once the calls in flight end. Safe to call twice. */
  close(): Promise<void> {
    // Memoized: undici rejects a second close() of a dispatcher it has closed.
    this.closing ??= (() => {
      this.breaker.shutdown();
      return this.agent.close();
    })();
    return this.closing;
  }

  /** The attempts of one call: the first, then a retry after each delay while the failure is retried and the method allows it. */
  private async call(signal: AbortSignal, request: PartnerRequest): Promise<PartnerResponse<unknown>> {
    const method = request.method.toUpperCase() as UpperMethod;
    const headers: Record<string, string> = { ...request.headers };
    let body: string | undefined;
    if (request.json !== undefined) {
      body = JSON.stringify(request.json);
      if (!Object.keys(headers).some((name) => name.toLowerCase() === 'content-type')) headers['content-type'] = 'application/json';
    }
    // The caller's trace continues at the partner (W3C traceparent).
    Object.assign(headers, traceHeaders());
    const path = `${this.basePath}${request.path}`;
    const retried = this.retryMethods.has(method);
    for (let attempt = 0; ; attempt++) {
      try {
        const answer = await this.attempt(signal, method, path, headers, body);
        return { status: answer.status, body: answer.body ? JSON.parse(answer.body) : undefined };
      } catch (error) {
        if (signal.aborted || !retried || attempt >= this.delays.length || !isRetried(error)) throw error;
      }
      try {
        await sleep(this.delays[attempt], undefined, { signal });
      } catch {
        // The breaker gave up on the call: no more attempts.
        throw signal.reason;
      }
    }
  }

  /** One request, its body read whole as text within attemptTimeoutMs; rejects with an HTTPError unless the status is a success. */
  private async attempt(
    signal: AbortSignal,
    method: UpperMethod,
    path: string,
    headers: Record<string, string>,
    body: string | undefined,
  ): Promise<{ status: number; body: string }> {
    if (signal.aborted) throw signal.reason;
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new TimeoutError(this.attemptTimeoutMs)), this.attemptTimeoutMs);
    const giveUp = () => controller.abort(signal.reason);
    signal.addEventListener('abort', giveUp, { once: true });
    try {
      const response = await this.agent.request({ origin: this.origin, path, method, headers, body, signal: controller.signal });
      const text = await response.body.text();
      const status = response.statusCode;
      // A success, or a 304; any other 3xx is one that was not followed (no Location, or too many redirects).
      if ((status >= 200 && status <= 299) || status === 304) return { status, body: text };
      throw new HTTPError(method, `${this.origin}${path}`, { statusCode: status, headers: response.headers, body: text });
    } catch (error) {
      // Aborted by the attempt's timeout (a TimeoutError) or by the breaker: say which, not undici's generic abort.
      if (controller.signal.aborted) throw controller.signal.reason;
      throw error;
    } finally {
      clearTimeout(timer);
      signal.removeEventListener('abort', giveUp);
    }
  }
}
