import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listen, type Listening } from '../../common/http.ts';
import { startTracing, type Tracing } from '../../common/tracing.ts';
import { accept, failFirst, startTestProvider, type TestProvider } from '../support/notify-provider.ts';
import { createProduct, createUser, fastOrderEnv, placeOrder, waitForTerminal } from '../support/orders.ts';
import { startWorkersProcess, type ServiceProcess } from '../support/processes.ts';
import { startStack, type Stack } from '../support/stack.ts';

interface ReceivedSpan {
  service: string;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes: Record<string, unknown>;
}

/** A small OTLP/HTTP receiver (JSON encoding, as @opentelemetry/exporter-trace-otlp-http sends): POST /v1/traces. */
async function startReceiver(): Promise<{ url: string; spans: ReceivedSpan[]; close(): Promise<void> }> {
  const spans: ReceivedSpan[] = [];
  const value = (v: Record<string, unknown>) => v.stringValue ?? v.intValue ?? v.boolValue ?? v.doubleValue;
  const handler = async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    if (req.method !== 'POST' || req.url !== '/v1/traces') return void res.writeHead(404).end();
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    for (const rs of body.resourceSpans ?? []) {
      const service = value(rs.resource.attributes.find((a: { key: string }) => a.key === 'service.name').value) as string;
      for (const ss of rs.scopeSpans ?? []) {
        for (const s of ss.spans ?? []) {
          const attributes = Object.fromEntries((s.attributes ?? []).map((a: { key: string; value: Record<string, unknown> }) => [a.key, value(a.value)]));
          spans.push({ service, traceId: s.traceId, spanId: s.spanId, parentSpanId: s.parentSpanId || undefined, name: s.name, attributes });
        }
      }
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  };
  const http: Listening = await listen((req: IncomingMessage, res: ServerResponse) => void handler(req, res), 0);
  return { url: http.url, spans, close: () => http.close() };
}

const env = { ...fastOrderEnv('tracing'), OTEL_BSP_SCHEDULE_DELAY: '100', NOTIFY_RETRY_DELAYS_MS: '100,100,100' };
let receiver: Awaited<ReturnType<typeof startReceiver>>;
let provider: TestProvider;
let tracing: Tracing | undefined;
let stack: Stack;
let worker: ServiceProcess;

beforeAll(async () => {
  receiver = await startReceiver();
  // The notification partner: records the traceparent of each delivery.
  provider = await startTestProvider();
  process.env.OTEL_BSP_SCHEDULE_DELAY = env.OTEL_BSP_SCHEDULE_DELAY;
  // This process holds the gateway and the subgraphs (one tracer provider; each server span names its service).
  tracing = await startTracing('junction-stack', receiver.url);
  stack = await startStack('tracing', { env: { ...env, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url } });
  // The workers as their own process, exporting to the same receiver.
  worker = await startWorkersProcess({
    ...env,
    DATABASE_URL: stack.db.url,
    INVENTORY_URL: stack.urls.inventory!,
    SERVICE_API_KEY: stack.config.SERVICE_API_KEY,
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    NOTIFY_URL: provider.url,
    LOG_LEVEL: 'info',
  });
});

afterAll(async () => {
  worker?.child.kill('SIGTERM');
  await worker?.exited();
  await stack?.close();
  await tracing?.shutdown();
  await receiver?.close();
  await provider?.close();
});

const newTrace = () => ({ traceId: randomBytes(16).toString('hex'), clientSpan: randomBytes(8).toString('hex') });
const traceparentOf = (t: { traceId: string; clientSpan: string }) => `00-${t.traceId}-${t.clientSpan}-01`;
const inTrace = (traceId: string) => receiver.spans.filter((s) => s.traceId === traceId);
const serverSpans = (traceId: string, service: string) => inTrace(traceId).filter((s) => s.attributes['junction.service'] === service);

/** The spans above `span` in its trace, nearest first (across processes: parents are linked by span id). */
function ancestors(span: ReceivedSpan): ReceivedSpan[] {
  const byId = new Map(inTrace(span.traceId).map((s) => [s.spanId, s]));
  const chain: ReceivedSpan[] = [];
  for (let p = span.parentSpanId && byId.get(span.parentSpanId); p; p = p.parentSpanId ? byId.get(p.parentSpanId) : undefined) chain.push(p);
  return chain;
}

/** The workers' spans for one notification: recording its event (`notification-events <type>`), and each delivery attempt (`notifications <type>`), by attempt. */
function notificationSpans(traceId: string, eventId: string, type: string) {
  const workers = inTrace(traceId).filter((s) => s.service === 'workers' && s.attributes['junction.event_id'] === eventId);
  return {
    recorded: workers.find((s) => s.name === `notification-events ${type}`),
    deliveries: workers
      .filter((s) => s.name === `notifications ${type}`)
      .sort((a, b) => Number(a.attributes['junction.attempt']) - Number(b.attributes['junction.attempt'])),
  };
}

/** The notification of `type` whose payload says `field` = `value`, once SENT. */
async function sentNotification(field: 'orderId' | 'userId', value: string, type: string): Promise<string> {
  let eventId: string | undefined;
  await expect
    .poll(
      async () => {
        const [row] = await stack.db.sql`select event_id, status from notifications.notifications where type = ${type} and payload->>${field} = ${value}`;
        eventId = row?.event_id;
        return row?.status;
      },
      { timeout: 20_000, interval: 100 },
    )
    .toBe('SENT');
  return eventId!;
}

/** The traceparent headers (parsed) the partner received with the delivery of `eventId`. */
const partnerTraceparents = (eventId: string) =>
  provider.requests
    .filter((r) => r.key === eventId)
    .map((r) => {
      const [, traceId, parentId] = r.traceparent?.split('-') ?? [];
      return { traceId, parentId, status: r.status };
    });

/** The workers' log lines that name `text`, parsed. */
const logLines = (text: string) =>
  worker
    .output()
    .split('\n')
    .filter((l) => l.includes(text))
    .map((l) => JSON.parse(l) as { trace_id?: string; msg: string });

describe('traces end to end (OpenTelemetry, W3C traceparent)', () => {
  it('gives one placeOrder one trace: the gateway, the orders subgraph, the worker, inventory, and its notification to the partner', async () => {
    const userId = await createUser(stack.gatewayUrl);
    const productId = await createProduct(stack.gatewayUrl, 5, stack.admin);
    // The client starts the trace.
    const client = newTrace();
    const { traceId, clientSpan } = client;
    const order = await placeOrder(stack.gatewayUrl, { userId, productId, quantity: 1 }, { ...(await stack.as(userId)), traceparent: traceparentOf(client) });
    const [row] = await waitForTerminal(stack.db.sql, [order.id], 20_000);
    expect(row!.status).toBe('CONFIRMED');
    const eventId = await sentNotification('orderId', order.id, 'ORDER_CONFIRMED');

    const server = (service: string) => serverSpans(traceId, service);
    await expect
      .poll(
        () => ({
          gateway: server('gateway').length > 0,
          orders: server('orders').length > 0,
          inventory: server('inventory').length > 0,
          worker: inTrace(traceId).some((s) => s.service === 'workers' && s.name === 'orders process'),
          delivered: notificationSpans(traceId, eventId, 'ORDER_CONFIRMED').deliveries.length > 0,
        }),
        { timeout: 15_000, interval: 100 },
      )
      .toEqual({ gateway: true, orders: true, inventory: true, worker: true, delivered: true });

    const spans = inTrace(traceId);
    // The gateway's request span continues the client's span; the orders subgraph's request is under the gateway's.
    const [gatewaySpan] = server('gateway');
    expect(gatewaySpan!.parentSpanId).toBe(clientSpan);
    const ordersSpan = server('orders')[0]!;
    expect(ancestors(ordersSpan)).toContain(gatewaySpan);
    // The worker's job span (in another process) continues the trace stored with the order, and inventory's reserveStock is under it.
    const job = spans.find((s) => s.service === 'workers' && s.name === 'orders process')!;
    expect(job.attributes['junction.order_id']).toBe(order.id);
    expect(ancestors(job)).toContain(ordersSpan);
    const inventorySpan = server('inventory').find((s) => ancestors(s).includes(job));
    expect(inventorySpan).toBeDefined();
    // @apollo/gateway's own spans (planning, fetches) are in the same trace.
    expect(spans.some((s) => s.name.startsWith('gateway.'))).toBe(true);

    // ORDER_CONFIRMED, announced inside the worker's span: recorded under it, delivered under that, and the partner's call carries the trace.
    const { recorded, deliveries } = notificationSpans(traceId, eventId, 'ORDER_CONFIRMED');
    expect(recorded).toBeDefined();
    expect(ancestors(recorded!)).toContain(job);
    expect(deliveries).toHaveLength(1);
    expect(ancestors(deliveries[0]!)).toEqual(expect.arrayContaining([recorded, job, ordersSpan, gatewaySpan]));
    expect(partnerTraceparents(eventId)).toEqual([{ traceId, parentId: deliveries[0]!.spanId, status: 202 }]);

    // The worker's log lines about this order and its notification carry the trace id.
    for (const text of [order.id, eventId]) {
      const lines = logLines(text);
      expect(lines.length).toBeGreaterThan(0);
      for (const line of lines) expect(line.trace_id, `${line.msg}`).toBe(traceId);
    }
    expect(logLines(eventId).map((l) => l.msg)).toEqual(expect.arrayContaining(['notification recorded', 'notification sent']));
  });

  it("puts a createUser's USER_SIGNUP delivery, each attempt of it, in the createUser's trace", async () => {
    // The partner fails the first attempt: the retry, 100 ms later, is a span of the same trace too.
    provider.behave(failFirst(1));
    const client = newTrace();
    const userId = await createUser(stack.gatewayUrl, { traceparent: traceparentOf(client) });
    const eventId = await sentNotification('userId', userId, 'USER_SIGNUP');
    provider.behave(accept);

    await expect.poll(() => notificationSpans(client.traceId, eventId, 'USER_SIGNUP').deliveries.length, { timeout: 15_000, interval: 100 }).toBe(2);
    const [gatewaySpan] = serverSpans(client.traceId, 'gateway');
    expect(gatewaySpan!.parentSpanId).toBe(client.clientSpan);
    const usersSpan = serverSpans(client.traceId, 'users').find((s) => ancestors(s).includes(gatewaySpan!));
    expect(usersSpan).toBeDefined();
    const { recorded, deliveries } = notificationSpans(client.traceId, eventId, 'USER_SIGNUP');
    expect(ancestors(recorded!)).toContain(usersSpan);
    expect(deliveries.map((d) => d.attributes['junction.attempt'])).toEqual([1, 2]);
    for (const delivery of deliveries) expect(ancestors(delivery)).toEqual(expect.arrayContaining([recorded, usersSpan, gatewaySpan]));
    // Both calls to the partner carried the trace, each from the span of its own attempt.
    expect(partnerTraceparents(eventId)).toEqual([
      { traceId: client.traceId, parentId: deliveries[0]!.spanId, status: 503 },
      { traceId: client.traceId, parentId: deliveries[1]!.spanId, status: 202 },
    ]);
    const lines = logLines(eventId);
    expect(lines.map((l) => l.msg)).toEqual(expect.arrayContaining(['notification recorded', 'delivery failed; will retry', 'notification sent']));
    for (const line of lines) expect(line.trace_id, line.msg).toBe(client.traceId);
  });

  it("puts each order's reservation in its own order's trace, also when orders share one reserveStocks request", async () => {
    const userId = await createUser(stack.gatewayUrl);
    const productId = await createProduct(stack.gatewayUrl, 10, stack.admin);
    const buyer = await stack.as(userId);
    const traces = Array.from({ length: 4 }, newTrace);
    const orders = await Promise.all(
      traces.map((t) => placeOrder(stack.gatewayUrl, { userId, productId, quantity: 1 }, { ...buyer, traceparent: traceparentOf(t) })),
    );
    const rows = await waitForTerminal(
      stack.db.sql,
      orders.map((o) => o.id),
      20_000,
    );
    expect(rows.map((r) => r.status)).toEqual(Array(4).fill('CONFIRMED'));
    // Inventory's span of each reservation (one per input of reserveStocks) is under that order's job span, in that order's trace.
    const reservation = (traceId: string, orderId: string) => {
      const job = inTrace(traceId).find((s) => s.service === 'workers' && s.name === 'orders process' && s.attributes['junction.order_id'] === orderId);
      const span = serverSpans(traceId, 'inventory').find((s) => s.name === 'inventory reserveStock' && s.attributes['junction.order_id'] === orderId);
      return Boolean(job && span && ancestors(span).includes(job));
    };
    await expect.poll(() => orders.map((o, i) => reservation(traces[i]!.traceId, o.id)), { timeout: 15_000, interval: 100 }).toEqual(Array(4).fill(true));
  });
});
