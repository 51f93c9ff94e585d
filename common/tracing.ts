import { context, propagation, SpanKind, SpanStatusCode, trace, type Context, type Span } from '@opentelemetry/api';
import type { RequestHandler } from 'express';

/**
 * OpenTelemetry traces across every hop: the W3C `traceparent` header from the
 * client through the gateway to each subgraph, into the outbox row and the
 * BullMQ job, and on to inventory and the partners. Spans are exported over
 * OTLP/HTTP when OTEL_EXPORTER_OTLP_ENDPOINT is set; otherwise nothing is
 * registered and every call here is a no-op of the OpenTelemetry API.
 */

const tracer = () => trace.getTracer('junction');

export interface Tracing {
  /** Sends the spans still buffered, then stops; safe to call twice. */
  shutdown(): Promise<void>;
}

let running: Tracing | undefined;

/**
 * Registers the process's tracer provider (service.name = `service`), the W3C
 * trace-context propagator and an AsyncLocalStorage context manager, exporting
 * to `${endpoint}/v1/traces`. Returns undefined, registering nothing (and
 * loading no SDK), without an endpoint.
 */
export async function startTracing(service: string, endpoint: string | undefined): Promise<Tracing | undefined> {
  if (!endpoint) return undefined;
  if (running) return running;
  const [{ OTLPTraceExporter }, { resourceFromAttributes }, { BatchSpanProcessor, NodeTracerProvider }] = await Promise.all([
    import('@opentelemetry/exporter-trace-otlp-http'),
    import('@opentelemetry/resources'),
    import('@opentelemetry/sdk-trace-node'),
  ]);
  const exporter = new OTLPTraceExporter({ url: `${endpoint.replace(/\/+$/, '')}/v1/traces` });
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': service }),
    // The batch delay and size follow OTEL_BSP_* when set.
    spanProcessors: [new BatchSpanProcessor(exporter)],
  });
  provider.register();
  let stopping: Promise<void> | undefined;
  running = { shutdown: () => (stopping ??= provider.shutdown()) };
  return running;
}

type HeaderSetter = { set(name: string, value: string): unknown } | Record<string, string>;

/** Writes the active trace context into outgoing headers (`traceparent`, `tracestate`). */
export function injectTraceHeaders(headers: HeaderSetter, ctx: Context = context.active()): void {
  propagation.inject(ctx, headers, {
    set: (carrier, name, value) => {
      if (typeof (carrier as { set?: unknown }).set === 'function') (carrier as { set(n: string, v: string): void }).set(name, value);
      else (carrier as Record<string, string>)[name] = value;
    },
  });
}

/** The active trace context as headers (`traceparent`, `tracestate`) for an outgoing call; empty when not tracing. */
export function traceHeaders(): Record<string, string> {
  const headers: Record<string, string> = {};
  injectTraceHeaders(headers);
  return headers;
}

/** The active trace context as a `traceparent` value, to store with work done later (an outbox row, a job); undefined when not tracing. */
export function currentTraceparent(): string | undefined {
  return traceHeaders().traceparent;
}

/** The trace and span ids of the active span, for log lines; empty when not tracing. */
export function traceFields(): { trace_id?: string; span_id?: string } {
  const span = trace.getActiveSpan();
  if (!span) return {};
  const { traceId, spanId } = span.spanContext();
  return trace.isSpanContextValid(span.spanContext()) ? { trace_id: traceId, span_id: spanId } : {};
}

/**
 * A SERVER span around each request, continuing the caller's trace from its
 * `traceparent`; the rest of the request runs inside it. Mount it after the
 * body parser (a parser's stream callbacks do not keep the async context).
 */
export function traceRequests(service: string): RequestHandler {
  return (req, res, next) => {
    const parent = propagation.extract(context.active(), req.headers);
    const span = tracer().startSpan(
      `${req.method} ${req.baseUrl}${req.path === '/' ? '' : req.path}`,
      { kind: SpanKind.SERVER, attributes: { 'junction.service': service, 'http.request.method': req.method, 'url.path': req.originalUrl.split('?')[0] } },
      parent,
    );
    const operation = (req.body as { operationName?: unknown } | undefined)?.operationName;
    if (typeof operation === 'string') span.setAttribute('graphql.operation.name', operation);
    res.once('finish', () => {
      span.setAttribute('http.response.status_code', res.statusCode);
      if (res.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    });
    context.with(trace.setSpan(parent, span), next);
  };
}

/**
 * Runs `work` in a span that continues the trace stored with a job or an
 * outbox row (`traceparent`), or starts one when there is none.
 */
export async function withStoredTrace<T>(
  name: string,
  stored: { traceparent?: string } | undefined,
  attributes: Record<string, string | number>,
  work: (span: Span) => Promise<T>,
): Promise<T> {
  const parent = stored?.traceparent ? propagation.extract(context.active(), { traceparent: stored.traceparent }) : context.active();
  return tracer().startActiveSpan(name, { kind: SpanKind.CONSUMER, attributes }, parent, async (span) => {
    try {
      return await work(span);
    } catch (error) {
      span.recordException(error as Error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
      throw error;
    } finally {
      span.end();
    }
  });
}

/** What withJobTrace reads of a BullMQ job (structurally: common/ loads no BullMQ). */
export interface TracedJob {
  name: string;
  queueName: string;
  attemptsMade: number;
  data?: unknown;
}

/**
 * Runs one attempt of a queued job in a CONSUMER span named `<queue> <job
 * name>` that continues the trace stored in its payload (`traceparent`, see
 * common/jobs.ts requestIdFields), so every attempt, retries included, is a
 * span of the trace of the request that caused the job. A payload without one
 * (written before it was stored, or while nothing was traced) starts a trace.
 */
export function withJobTrace<T>(job: TracedJob, attributes: Record<string, string | number>, work: (span: Span) => Promise<T>): Promise<T> {
  const traceparent = (job.data as { traceparent?: unknown } | undefined)?.traceparent;
  return withStoredTrace(
    `${job.queueName} ${job.name}`,
    typeof traceparent === 'string' ? { traceparent } : undefined,
    { 'messaging.system': 'bullmq', 'messaging.destination.name': job.queueName, 'junction.attempt': job.attemptsMade + 1, ...attributes },
    work,
  );
}
