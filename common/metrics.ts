import type { Express } from 'express';
import {
  collectDefaultMetrics,
  Counter,
  Gauge,
  Histogram,
  Registry,
  type CounterConfiguration,
  type GaugeConfiguration,
  type HistogramConfiguration,
} from 'prom-client';

/**
 * The process's Prometheus registry. One per process: a service in production,
 * or every in-process service of a test stack (their metrics carry labels that
 * tell them apart, e.g. `breaker`).
 */
export const registry = new Registry();

let processMetrics = false;

/** Node.js process metrics (CPU, memory, event loop lag), registered once per process. */
export function collectProcessMetrics(): void {
  if (processMetrics) return;
  processMetrics = true;
  collectDefaultMetrics({ register: registry });
}

// get-or-create: a second service (or a second test subgraph) in the same process reuses the metric.
function existing<M>(name: string, kind: new (...args: never[]) => M): M | undefined {
  const metric = registry.getSingleMetric(name);
  if (metric === undefined) return undefined;
  if (!(metric instanceof kind)) throw new Error(`metric ${name} is already registered with another type`);
  return metric;
}

/** The counter named `config.name`, registered on first use. */
export function counter<T extends string>(config: CounterConfiguration<T>): Counter<T> {
  return existing(config.name, Counter<T>) ?? new Counter<T>({ ...config, registers: [registry] });
}

/** The gauge named `config.name`, registered on first use. */
export function gauge<T extends string>(config: GaugeConfiguration<T>): Gauge<T> {
  return existing(config.name, Gauge<T>) ?? new Gauge<T>({ ...config, registers: [registry] });
}

/** The histogram named `config.name`, registered on first use. */
export function histogram<T extends string>(config: HistogramConfiguration<T>): Histogram<T> {
  return existing(config.name, Histogram<T>) ?? new Histogram<T>({ ...config, registers: [registry] });
}

/** Mounts GET /metrics (Prometheus text format) on a service's app; pass it as createSubgraphApp's `routes`. */
export function metricsRoute(app: Express): void {
  collectProcessMetrics();
  app.get('/metrics', async (_req, res) => {
    res.setHeader('Content-Type', registry.contentType);
    res.send(await registry.metrics());
  });
}
