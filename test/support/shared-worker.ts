/**
 * Set up before each file of the `int` tier, whose files share a worker process
 * (vitest.config.ts, `isolate: false`): each file starts with its metrics as in
 * a process of its own. Counters go back to zero, keeping the labelled series a
 * module created at zero when it was loaded (a test may read `{kind="dump"} 0`);
 * every other metric is emptied (gauges that read their value at each scrape
 * read it again).
 */
import { Counter } from 'prom-client';
import { beforeAll } from 'vitest';
import { registry } from '../../common/metrics.ts';

beforeAll(async () => {
  for (const { name } of registry.getMetricsAsArray()) {
    const metric = registry.getSingleMetric(name)!;
    const { values } = await metric.get();
    metric.reset();
    if (metric instanceof Counter) for (const { labels } of values) metric.inc(labels, 0);
  }
});
