/**
 * The one /metrics reader for tests: Prometheus text from a process (a base URL, a /metrics URL) or an
 * in-process prom-client registry, and the value of a metric in it, chosen by name and labels.
 */

/** Where metrics come from: `http://host:port` (/metrics is added), `http://host:port/metrics`, or a prom-client registry. */
export type MetricsSource = string | { metrics(): Promise<string> };

/** One sample line: `name{label="value",…} value`. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Labels a sample must carry: a value, or a pattern its value matches. Labels not named here may be anything. */
export type LabelMatch = Record<string, string | RegExp>;

/** The Prometheus text of `source`; fails on a status other than 200. */
export async function scrape(source: MetricsSource): Promise<string> {
  if (typeof source !== 'string') return source.metrics();
  const url = /\/metrics$/.test(source) ? source : `${source.replace(/\/$/, '')}/metrics`;
  const response = await fetch(url);
  if (response.status !== 200) throw new Error(`${url} answered ${response.status}`);
  return response.text();
}

/** Every sample line of Prometheus text (comments skipped). */
export function parse(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: \d+)?$/.exec(line);
    if (!match) continue;
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[key!] = value!;
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

const matches = (sample: Sample, name: string, labels: LabelMatch) =>
  sample.name === name &&
  Object.entries(labels).every(([key, want]) => {
    const value = sample.labels[key];
    return value !== undefined && (typeof want === 'string' ? value === want : want.test(value));
  });

/** The sum of the samples of `name` that carry `labels` (each label set counted once), or undefined when there is none. */
export function sample(text: string, name: string, labels: LabelMatch = {}): number | undefined {
  const found = parse(text).filter((s) => matches(s, name, labels));
  return found.length === 0 ? undefined : found.reduce((sum, s) => sum + s.value, 0);
}

/** {@link sample} read from `source` now, 0 when there is none (a labelled counter not yet counted has no line). */
export async function metric(source: MetricsSource, name: string, labels: LabelMatch = {}): Promise<number> {
  return sample(await scrape(source), name, labels) ?? 0;
}
