import CircuitBreaker from 'opossum';
import type { BaseConfig as Config } from './config.ts';
import { ServiceUnavailableError } from './errors.ts';
import type { Logger } from './logger.ts';
import { counter, gauge, histogram } from './metrics.ts';

export type BreakerState = 'CLOSED' | 'OPEN' | 'HALF_OPEN';

/** The breaker settings every breaker of a service reads from its configuration. */
export type BreakerConfig = Pick<
  Config,
  'BREAKER_ERROR_THRESHOLD_PERCENT' | 'BREAKER_VOLUME_THRESHOLD' | 'BREAKER_RESET_TIMEOUT_MS' | 'BREAKER_MAX_RESET_TIMEOUT_MS'
>;

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
  /** A number in [0, 1), for the jitter of the waits after failed trials. Default Math.random. */
  random?: () => number;
}

/** Share of a backed-off wait the jitter may take off: the wait after n failed trials lies in [0.8, 1] × min(max, reset × 2^n). */
export const BACKOFF_JITTER = 0.2;

/**
 * How long a breaker stays open after `failedTrials` consecutive failed
 * half-open trials: BREAKER_RESET_TIMEOUT_MS doubled per failed trial, capped
 * at BREAKER_MAX_RESET_TIMEOUT_MS, less up to BACKOFF_JITTER of it at random
 * (so the breakers of many processes do not probe a dead partner in step).
 * No jitter before the first failed trial: an opening waits the reset timeout.
 */
export function backoffWaitMs(
  config: Pick<BreakerConfig, 'BREAKER_RESET_TIMEOUT_MS' | 'BREAKER_MAX_RESET_TIMEOUT_MS'>,
  failedTrials: number,
  random = Math.random,
): number {
  const base = config.BREAKER_RESET_TIMEOUT_MS;
  if (failedTrials <= 0) return base;
  const nominal = Math.min(config.BREAKER_MAX_RESET_TIMEOUT_MS, base * 2 ** Math.min(failedTrials, 40));
  return Math.max(base, Math.round(nominal * (1 - BACKOFF_JITTER * random())));
}

const STATE_VALUE: Record<BreakerState, number> = { CLOSED: 0, HALF_OPEN: 1, OPEN: 2 };

const metrics = {
  state: gauge({ name: 'circuit_breaker_state', help: 'Circuit breaker state: 0 closed, 1 half-open, 2 open.', labelNames: ['breaker'] }),
  fires: counter({ name: 'circuit_breaker_fires_total', help: 'Calls made through the breaker, rejected ones included.', labelNames: ['breaker'] }),
  successes: counter({
    name: 'circuit_breaker_successes_total',
    help: 'Calls that succeeded (or were answered with a non-counting 4xx).',
    labelNames: ['breaker'],
  }),
  failures: counter({ name: 'circuit_breaker_failures_total', help: 'Calls that failed and counted against the breaker.', labelNames: ['breaker'] }),
  timeouts: counter({ name: 'circuit_breaker_timeouts_total', help: 'Calls the breaker gave up on after its timeout.', labelNames: ['breaker'] }),
  rejects: counter({ name: 'circuit_breaker_rejects_total', help: 'Calls rejected at once because the breaker was open.', labelNames: ['breaker'] }),
  fallbacks: counter({ name: 'circuit_breaker_fallbacks_total', help: 'Calls answered by the fallback.', labelNames: ['breaker'] }),
  transitions: counter({ name: 'circuit_breaker_transitions_total', help: 'State changes, by the state entered.', labelNames: ['breaker', 'state'] }),
  wait: gauge({
    name: 'circuit_breaker_reset_timeout_seconds',
    help: 'The wait in force before the breaker half-opens: BREAKER_RESET_TIMEOUT_MS, doubled (with jitter) by each failed half-open trial up to BREAKER_MAX_RESET_TIMEOUT_MS.',
    labelNames: ['breaker'],
  }),
  failedTrials: gauge({
    name: 'circuit_breaker_failed_trials',
    help: 'Half-open trial calls that failed in a row since the breaker last closed.',
    labelNames: ['breaker'],
  }),
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
 * It backs off: each failed half-open trial doubles the wait before the next
 * one, with jitter, up to BREAKER_MAX_RESET_TIMEOUT_MS (backoffWaitMs), so a
 * dead partner is probed less and less; a success closes it and brings the
 * wait back to BREAKER_RESET_TIMEOUT_MS. retryAfter and /metrics report the
 * wait in force.
 *
 * The signal is per call rather than opossum's shared `abortController` option:
 * that one controller is aborted by any call's timeout and stays aborted, which
 * would cancel every other call in flight and every later one until the
 * breaker half-opens.
 */
export class Breaker<A extends unknown[], R> {
  readonly name: string;
  readonly circuit: CircuitBreaker<[AbortController, ...A], R>;
  private readonly config: BreakerConfig;
  private readonly random: () => number;
  private openedAt = 0;
  /** The wait of the current open period (or of the next one, while closed or half-open). */
  private waitMs: number;
  /** Consecutive failed half-open trials since the breaker last closed. */
  private trialsFailed = 0;
  /** True from half-open until the breaker opens or closes again: an opening then is a failed trial. */
  private trialing = false;

  constructor(action: (signal: AbortSignal, ...args: A) => Promise<R>, options: BreakerOptions) {
    this.name = options.name;
    this.config = options.config;
    this.random = options.random ?? Math.random;
    this.waitMs = options.config.BREAKER_RESET_TIMEOUT_MS;
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
    metrics.wait.set({ breaker }, this.waitMs / 1000);
    metrics.failedTrials.set({ breaker }, 0);
    // Zero series from the start, so dashboards see every breaker before its first failure.
    for (const name of ['fires', 'successes', 'failures', 'timeouts', 'rejects', 'fallbacks'] as const) metrics[name].inc({ breaker }, 0);
    for (const state of Object.keys(STATE_VALUE)) metrics.transitions.inc({ breaker, state }, 0);
    const entered = (state: BreakerState) => {
      metrics.state.set({ breaker }, STATE_VALUE[state]);
      metrics.transitions.inc({ breaker, state });
    };
    // Before opossum's own 'open' listener, which starts the half-open timer with options.resetTimeout as it is then.
    this.circuit.prependListener('open', () => {
      this.openedAt = Date.now();
      this.trialsFailed = this.trialing ? this.trialsFailed + 1 : 0;
      this.trialing = false;
      this.setWait(backoffWaitMs(this.config, this.trialsFailed, this.random));
    });
    this.circuit.on('open', () => {
      entered('OPEN');
      const { fires, failures, rejects } = this.circuit.stats;
      log.warn(
        { state: 'OPEN', retryAfter: this.retryAfterSeconds(), waitMs: this.waitMs, failedTrials: this.trialsFailed, window: { fires, failures, rejects } },
        this.trialsFailed > 0 ? `circuit breaker ${breaker} opened again: trial call failed` : `circuit breaker ${breaker} opened`,
      );
    });
    this.circuit.on('halfOpen', () => {
      this.trialing = true;
      entered('HALF_OPEN');
      log.info({ state: 'HALF_OPEN' }, `circuit breaker ${breaker} half-open: trying one call`);
    });
    this.circuit.on('close', () => {
      this.trialing = false;
      this.trialsFailed = 0;
      this.setWait(this.config.BREAKER_RESET_TIMEOUT_MS);
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

  /** Sets the wait of the current (or next) open period, where opossum's half-open timer reads it. */
  private setWait(ms: number): void {
    this.waitMs = ms;
    // @types/opossum leaves out `options`; opossum reads options.resetTimeout each time it starts the half-open timer.
    (this.circuit as unknown as { options: { resetTimeout: number } }).options.resetTimeout = ms;
    metrics.wait.set({ breaker: this.name }, ms / 1000);
    metrics.failedTrials.set({ breaker: this.name }, this.trialsFailed);
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

  /** The wait in force: how long the current open period lasts (while closed or half-open: the next one, if it opened now). */
  get resetTimeoutMs(): number {
    return this.waitMs;
  }

  /** Half-open trial calls that failed in a row since the breaker last closed. */
  get failedTrials(): number {
    return this.trialsFailed;
  }

  /** True while the breaker is half-open with its one trial call not made yet, or in flight: a call fired now is (or was) that trial. */
  get trying(): boolean {
    return this.trialing;
  }

  /** Milliseconds until the breaker half-opens; 0 when it is not open. */
  msUntilHalfOpen(now = Date.now()): number {
    if (!this.circuit.opened) return 0;
    return Math.max(0, this.openedAt + this.waitMs - now);
  }

  /** Whole seconds until the breaker half-opens, at least 1 (also when it is closed or half-open). */
  retryAfterSeconds(now = Date.now()): number {
    if (!this.circuit.opened) return 1;
    return Math.max(1, Math.ceil((this.openedAt + this.waitMs - now) / 1000));
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
