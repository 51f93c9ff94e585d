import { once, type EventEmitter } from 'node:events';
import { eventually } from './wait.ts';
import { sample, scrape, type MetricsSource } from './metrics.ts';

/** What a service's /metrics says of one breaker. */
export interface BreakerReading {
  /** 0 closed, 1 half-open, 2 open. */
  state: number;
  /** circuit_breaker_reset_timeout_seconds: the wait in force, in ms. */
  waitMs: number;
  /** circuit_breaker_failed_trials. */
  failedTrials: number;
}

/** Reads breaker `name` off the Prometheus text of `source` (a base URL, a /metrics URL or a registry). */
export async function readBreaker(source: MetricsSource, name: string): Promise<BreakerReading> {
  const text = await scrape(source);
  const value = (metric: string) => {
    const found = sample(text, metric, { breaker: name });
    if (found === undefined) throw new Error(`${String(source)} has no ${metric} for breaker ${name}`);
    return found;
  };
  return {
    state: value('circuit_breaker_state'),
    waitMs: Math.round(value('circuit_breaker_reset_timeout_seconds') * 1000),
    failedTrials: value('circuit_breaker_failed_trials'),
  };
}

/** Waits until /metrics at `metricsUrl` shows breaker `name` in `state` (0 closed, 1 half-open, 2 open); returns that reading. */
export function untilBreaker(metricsUrl: MetricsSource, name: string, state: number, timeoutMs: number): Promise<BreakerReading> {
  return eventually(
    async () => {
      const reading = await readBreaker(metricsUrl, name);
      return reading.state === state ? reading : undefined;
    },
    timeoutMs,
    `breaker ${name} in state ${state}`,
  );
}

/** Resolves at the breaker's next state change to `event` (opossum's 'open', 'halfOpen' or 'close'), with the time it happened. */
export async function next(breaker: { circuit: EventEmitter }, event: 'open' | 'halfOpen' | 'close', timeoutMs: number): Promise<number> {
  await once(breaker.circuit, event, { signal: AbortSignal.timeout(timeoutMs) });
  return Date.now();
}
