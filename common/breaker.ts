import CircuitBreaker from 'opossum';
import type { Config } from './config.ts';
import { ServiceUnavailableError } from './errors.ts';
import type { Logger } from './logger.ts';
import { counter, gauge, histogram } from './metrics.ts';

export type BreakerState = 'CLOSED' | 'OPEN' | 'HALF_OPEN';

/** The breaker settings every breaker of a service reads from its configuration. */
export type BreakerConfig = Pick<Config, 'BREAKER_ERROR_THRESHOLD_PERCENT' | 'BREAKER_VOLUME_THRESHOLD' | 'BREAKER_RESET_TIMEOUT_MS'>;

export interface BreakerOptions {
  /** Names the breaker in logs, metrics and errors, e.g. `enrichment`. */
  name: string;
  config: BreakerConfig;
  logger: Logger;
  /** How long a call may take before the breaker gives up on it, counts a failure and aborts it; false: never. */
  timeoutMs: number | false;
  /** Errors that are an answer rather than a failure of the partner (a 4xx): they reject but do not count. Default: none. */
  isAnswer?(error: unknown): boolean;
  /** Length of the rolling window over which failures are counted. Default 10000 ms. */
  rollingCountTimeoutMs?: number;
}

const STATE_VALUE: Record<BreakerState, number> = { CLOSED: 0, HALF_OPEN: 1, OPEN: 2 };

const metrics = {
  state: gauge({ name: 'circuit_breaker_state', help: 'Circuit breaker state: 0 closed, 1 half-open, 2 open.', labelNames: ['breaker'] }),
  fires: counter({ name: 'circuit_breaker_fires_total', help: 'Calls made through the breaker, rejected ones included.', labelNames: ['breaker'] }),
  successes: counter({ name: 'circuit_breaker_successes_total', help: 'Calls that succeeded (or were answered with a non-counting 4xx).', labelNames: ['breaker'] }),
  failures: counter({ name: 'circuit_breaker_failures_total', help: 'Calls that failed and counted against the breaker.', labelNames: ['breaker'] }),
  timeouts: counter({ name: 'circuit_breaker_timeouts_total', help: 'Calls the breaker gave up on after its timeout.', labelNames: ['breaker'] }),
  rejects: counter({ name: 'circuit_breaker_rejects_total', help: 'Calls rejected at once because the breaker was open.', labelNames: ['breaker'] }),
  fallbacks: counter({ name: 'circuit_breaker_fallbacks_total', help: 'Calls answered by the fallback.', labelNames: ['breaker'] }),
  transitions: counter({ name: 'circuit_breaker_transitions_total', help: 'State changes, by the state entered.', labelNames: ['breaker', 'state'] }),
  latency: histogram({
    name: 'circuit_breaker_latency_seconds',
    help: 'Duration of calls that reached the partner, by outcome.',
    labelNames: ['breaker', 'outcome'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  }),
};

/**
 * An opossum circuit breaker with the service's settings, a log line for each
 * state change, Prometheus metrics labelled with its name, and an
 * AbortSignal per call that is aborted when the breaker gives up on that call.
 *
 * The signal is per call rather than opossum's shared `abortController` option:
 * that one controller is aborted by any call's timeout and stays aborted, which
 * would cancel every other call in flight and every later one until the
 * breaker half-opens.
 */
export class Breaker<A extends unknown[], R> {
  readonly name: string;
  readonly circuit: CircuitBreaker<[AbortController, ...A], R>;
  private readonly resetTimeoutMs: number;
  private openedAt = 0;

  constructor(action: (signal: AbortSignal, ...args: A) => Promise<R>, options: BreakerOptions) {
    this.name = options.name;
    this.resetTimeoutMs = options.config.BREAKER_RESET_TIMEOUT_MS;
    const isAnswer = options.isAnswer ?? (() => false);
    this.circuit = new CircuitBreaker((controller: AbortController, ...args: A) => action(controller.signal, ...args), {
      name: options.name,
      timeout: options.timeoutMs,
      errorThresholdPercentage: options.config.BREAKER_ERROR_THRESHOLD_PERCENT,
      volumeThreshold: options.config.BREAKER_VOLUME_THRESHOLD,
      resetTimeout: options.config.BREAKER_RESET_TIMEOUT_MS,
      rollingCountTimeout: options.rollingCountTimeoutMs ?? 10_000,
      errorFilter: (error: unknown) => isAnswer(error),
    });
    this.observe(options.logger);
  }

  private observe(logger: Logger): void {
    const breaker = this.name;
    const log = logger.child({ breaker });
    metrics.state.set({ breaker }, STATE_VALUE.CLOSED);
    // Zero series from the start, so dashboards see every breaker before its first failure.
    for (const name of ['fires', 'successes', 'failures', 'timeouts', 'rejects', 'fallbacks'] as const) metrics[name].inc({ breaker }, 0);
    const entered = (state: BreakerState) => {
      metrics.state.set({ breaker }, STATE_VALUE[state]);
      metrics.transitions.inc({ breaker, state });
    };
    this.circuit.on('open', () => {
      this.openedAt = Date.now();
      entered('OPEN');
      const { fires, failures, rejects } = this.circuit.stats;
      log.warn({ state: 'OPEN', retryAfter: this.retryAfterSeconds(), window: { fires, failures, rejects } }, `circuit breaker ${breaker} opened`);
    });
    this.circuit.on('halfOpen', () => {
      entered('HALF_OPEN');
      log.info({ state: 'HALF_OPEN' }, `circuit breaker ${breaker} half-open: trying one call`);
    });
    this.circuit.on('close', () => {
      entered('CLOSED');
      log.info({ state: 'CLOSED' }, `circuit breaker ${breaker} closed`);
    });
    this.circuit.on('fire', () => metrics.fires.inc({ breaker }));
    this.circuit.on('reject', () => metrics.rejects.inc({ breaker }));
    this.circuit.on('fallback', () => metrics.fallbacks.inc({ breaker }));
    this.circuit.on('success', (_result: unknown, latencyMs: number) => {
      metrics.successes.inc({ breaker });
      metrics.latency.observe({ breaker, outcome: 'success' }, latencyMs / 1000);
    });
    this.circuit.on('failure', (_error: unknown, latencyMs: number) => {
      metrics.failures.inc({ breaker });
      metrics.latency.observe({ breaker, outcome: 'failure' }, latencyMs / 1000);
    });
    // opossum passes the arguments of the call it gave up on: abort that call (and its pending retries) only.
    const onTimeout = (_error: Error, _latencyMs: number, args: [AbortController, ...A]) => {
      metrics.timeouts.inc({ breaker });
      args[0].abort(new Error(`circuit breaker ${breaker} gave up on the call`));
    };
    // @types/opossum 8 leaves out the latency and arguments opossum 9 passes to 'timeout' listeners.
    this.circuit.on('timeout', onTimeout as unknown as (error: Error) => void);
  }

  /** Calls the action through the breaker; rejects at once (EOPENBREAKER) while open. */
  fire(...args: A): Promise<R> {
    return this.circuit.fire(new AbortController(), ...args);
  }

  /** Answers calls that fail or are rejected with this instead; counted in the fallbacks metric. */
  fallback(answer: (...args: [...A, unknown]) => R | Promise<R>): this {
    this.circuit.fallback((_controller: AbortController, ...rest: [...A, unknown]) => answer(...rest));
    return this;
  }

  get state(): BreakerState {
    if (this.circuit.opened) return 'OPEN';
    if (this.circuit.halfOpen) return 'HALF_OPEN';
    return 'CLOSED';
  }

  /**
   * True when a call fired now would be made: the breaker is closed, or
   * half-open with its one trial call not taken yet. False while open, and
   * while half-open with the trial call in flight (fire() would reject with
   * EOPENBREAKER). Checking and firing with no await between them is atomic.
   */
  admits(): boolean {
    return this.circuit.closed || this.circuit.pendingClose;
  }

  /** Milliseconds until the breaker half-opens; 0 when it is not open. */
  msUntilHalfOpen(now = Date.now()): number {
    if (!this.circuit.opened) return 0;
    return Math.max(0, this.openedAt + this.resetTimeoutMs - now);
  }

  /** Whole seconds until the breaker half-opens, at least 1 (also when it is closed or half-open). */
  retryAfterSeconds(now = Date.now()): number {
    if (!this.circuit.opened) return 1;
    return Math.max(1, Math.ceil((this.openedAt + this.resetTimeoutMs - now) / 1000));
  }

  /** SERVICE_UNAVAILABLE for a call that failed or was rejected, with retryAfter and circuitBreakerState. */
  unavailable(message: string): ServiceUnavailableError {
    return new ServiceUnavailableError(message, this.retryAfterSeconds(), { circuitBreakerState: this.state, breaker: this.name });
  }

  /** Stops the breaker's timers; later calls reject. Safe to call twice. */
  shutdown(): void {
    if (!this.circuit.isShutdown) this.circuit.shutdown();
  }
}

/** True when the breaker rejected a call without making it, because it was open (or half-open with its trial call in flight). */
export function isOpenBreakerError(error: unknown): boolean {
  return (error as { code?: string } | null)?.code === 'EOPENBREAKER';
}
