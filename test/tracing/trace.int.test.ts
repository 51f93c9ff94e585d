import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listen, type Listening } from '../../common/http.ts';
import { startTracing, type Tracing } from '../../common/tracing.ts';
import { createProduct, createUser, dropQueues, fastOrderEnv, placeOrder, startWorkersProcess, waitForTerminal, type WorkersProcess } from '../support/orders.ts';
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

const env = { ...fastOrderEnv('tracing'), OTEL_BSP_SCHEDULE_DELAY: '100' };
let receiver: Awaited<ReturnType<typeof startReceiver>>;
let tracing: Tracing | undefined;
let stack: Stack;
let worker: WorkersProcess;

beforeAll(async () => {
  receiver = await startReceiver();
  process.env.OTEL_BSP_SCHEDULE_DELAY = env.OTEL_BSP_SCHEDULE_DELAY;
  // This process holds the gateway and the subgraphs (one tracer provider; each server span names its service).
  tracing = await startTracing('junction-stack', receiver.url);
  stack = await startStack('tracing', { env: { ...env, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url } });
  // The workers as their own process, exporting to the same receiver.
  worker = await startWorkersProcess({ ...env, DATABASE_URL: stack.db.url, INVENTORY_URL: stack.urls.inventory!, SERVICE_API_KEY: stack.config.SERVICE_API_KEY, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, LOG_LEVEL: 'info' });
});

afterAll(async () => {
  worker?.child.kill('SIGTERM');
  await worker?.exited();
  await stack?.close();
  await tracing?.shutdown();
  await receiver?.close();
  await dropQueues(stack.config.REDIS_URL, env.QUEUE_PREFIX);
});

describe('traces end to end (OpenTelemetry, W3C traceparent)', () => {
  it('gives one placeOrder one trace: the gateway, the orders subgraph, the worker and inventory', async () => {
    const userId = await createUser(stack.gatewayUrl);
    const productId = await createProduct(stack.gatewayUrl, 5, stack.admin);
    // The client starts the trace.
    const traceId = randomBytes(16).toString('hex');
    const clientSpan = randomBytes(8).toString('hex');
    const order = await placeOrder(stack.gatewayUrl, { userId, productId, quantity: 1 }, { ...(await stack.as(userId)), traceparent: `00-${traceId}-${clientSpan}-01` });
    const [row] = await waitForTerminal(stack.db.sql, [order.id], 20_000);
    expect(row!.status).toBe('CONFIRMED');

    const inTrace = () => receiver.spans.filter((s) => s.traceId === traceId);
    const server = (service: string) => inTrace().filter((s) => s.attributes['junction.service'] === service);
    await expect
      .poll(() => ({ gateway: server('gateway').length > 0, orders: server('orders').length > 0, inventory: server('inventory').length > 0, worker: inTrace().some((s) => s.service === 'workers') }), { timeout: 15_000, interval: 100 })
      .toEqual({ gateway: true, orders: true, inventory: true, worker: true });

    const spans = inTrace();
    const byId = new Map(spans.map((s) => [s.spanId, s]));
    // The gateway's request span continues the client's span; the orders subgraph's request is under the gateway's.
    const [gatewaySpan] = server('gateway');
    expect(gatewaySpan!.parentSpanId).toBe(clientSpan);
    const ancestors = (span: ReceivedSpan) => {
      const chain: ReceivedSpan[] = [];
      for (let p = span.parentSpanId && byId.get(span.parentSpanId); p; p = p.parentSpanId ? byId.get(p.parentSpanId) : undefined) chain.push(p);
      return chain;
    };
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

    // The worker's log lines about this order carry the trace id.
    const lines = worker.output().split('\n').filter((l) => l.includes(order.id));
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(JSON.parse(line).trace_id).toBe(traceId);
  });
});
