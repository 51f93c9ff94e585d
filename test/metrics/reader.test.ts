import { describe, expect, it } from 'vitest';
import { parse, sample } from '../support/metrics.ts';

const TEXT = `# HELP requests_total Requests.
# TYPE requests_total counter
requests_total{route="/a",code="200"} 3
requests_total{route="/a",code="500"} 1
requests_total{route="/b",code="200"} 2
up 1
latency_seconds_bucket{le="+Inf"} 7
latency_seconds_count 7
label_with_quote{v="a\\"b"} 5
`;

describe('the test /metrics reader', () => {
  it('parses every sample line and skips comments', () => {
    expect(parse(TEXT)).toHaveLength(7);
    expect(parse(TEXT)[0]).toEqual({ name: 'requests_total', labels: { route: '/a', code: '200' }, value: 3 });
    expect(parse(TEXT).at(-1)!.labels).toEqual({ v: 'a\\"b' });
  });

  it('sums the samples of one name that carry the labels asked for, and says undefined when there is none', () => {
    expect(sample(TEXT, 'requests_total')).toBe(6);
    expect(sample(TEXT, 'requests_total', { route: '/a' })).toBe(4);
    expect(sample(TEXT, 'requests_total', { route: '/a', code: '500' })).toBe(1);
    expect(sample(TEXT, 'requests_total', { code: /^2/ })).toBe(5);
    expect(sample(TEXT, 'up')).toBe(1);
    expect(sample(TEXT, 'latency_seconds')).toBeUndefined();
    expect(sample(TEXT, 'requests_total', { route: '/c' })).toBeUndefined();
  });
});
