import { describe, expect, it } from 'vitest';
import { currentTraceparent, startTracing, traceFields, traceHeaders, withStoredTrace } from '../tracing.ts';

describe('tracing without OTEL_EXPORTER_OTLP_ENDPOINT', () => {
  it('registers nothing, sends no trace headers and adds nothing to log lines', async () => {
    expect(await startTracing('test', '')).toBeUndefined();
    expect(await startTracing('test', undefined)).toBeUndefined();
    const seen = await withStoredTrace('job', { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' }, {}, async () => ({
      headers: traceHeaders(),
      traceparent: currentTraceparent(),
      fields: traceFields(),
    }));
    expect(seen).toEqual({ headers: {}, traceparent: undefined, fields: {} });
  });
});
