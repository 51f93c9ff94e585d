/** Latency measurement shared by the bench scenarios. */

export interface Latency {
  n: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  /** Requests per second, one at a time. */
  rate: number;
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? 0;
}

/** Summarizes durations in milliseconds. */
export function summarize(samples: readonly number[]): Latency {
  const sorted = [...samples].sort((a, b) => a - b);
  const total = sorted.reduce((a, b) => a + b, 0);
  return {
    n: sorted.length,
    mean: total / sorted.length,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: sorted.at(-1) ?? 0,
    rate: sorted.length / (total / 1000),
  };
}

/** Runs `once` sequentially: `warmup` unmeasured times, then `n` measured times. */
export async function measure(once: (i: number) => Promise<void>, n: number, warmup = Math.ceil(n / 10)): Promise<Latency> {
  for (let i = 0; i < warmup; i++) await once(i);
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const started = performance.now();
    await once(i);
    samples.push(performance.now() - started);
  }
  return summarize(samples);
}

/**
 * Runs several cases interleaved (a, b, c, a, b, c, …) so background load on a
 * shared machine falls on all of them alike.
 */
export async function measureInterleaved<K extends string>(
  cases: Record<K, (i: number) => Promise<void>>,
  n: number,
  warmup = Math.ceil(n / 10),
): Promise<Record<K, Latency>> {
  const names = Object.keys(cases) as K[];
  for (let i = 0; i < warmup; i++) for (const name of names) await cases[name](i);
  const samples = Object.fromEntries(names.map((name) => [name, [] as number[]])) as Record<K, number[]>;
  for (let i = 0; i < n; i++) {
    for (const name of names) {
      const started = performance.now();
      await cases[name](i);
      samples[name].push(performance.now() - started);
    }
  }
  return Object.fromEntries(names.map((name) => [name, summarize(samples[name])])) as Record<K, Latency>;
}

const ms = (value: number) => value.toFixed(2);

/** A Markdown table of latencies, one row per case; `extra` adds columns. */
export function latencyTable(rows: { label: string; latency: Latency; extra?: Record<string, string> }[]): string {
  const extraColumns = [...new Set(rows.flatMap((row) => Object.keys(row.extra ?? {})))];
  const head = ['case', 'n', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'mean ms', 'req/s (sequential)', ...extraColumns];
  const lines = rows.map(({ label, latency: l, extra }) => [
    label,
    String(l.n),
    ms(l.p50),
    ms(l.p90),
    ms(l.p99),
    ms(l.max),
    ms(l.mean),
    l.rate.toFixed(0),
    ...extraColumns.map((c) => extra?.[c] ?? ''),
  ]);
  return [head, head.map(() => '---'), ...lines].map((cells) => `| ${cells.join(' | ')} |`).join('\n');
}
