import { afterAll, beforeAll, expect, it } from 'vitest';
import { createLogger } from '../../common/logger.ts';
import { registry } from '../../common/metrics.ts';
import { ordersQueue } from '../../subgraphs/orders/module.ts';
import { startWorkers, type RunningWorkers } from '../../workers/index.ts';
import { expectInvariants } from '../support/invariants.ts';
import { createProduct, createUser, fastOrderEnv, gremlin, ordersSettled, placeOrder, waitForTerminal } from '../support/orders.ts';
import { startStack, type Stack } from '../support/stack.ts';
import { metric as readMetric } from '../support/metrics.ts';

// Inventory times out after 1 s; its breaker opens after 5 failed calls and half-opens after 1.5 s.
const env = { ...fastOrderEnv('inventory-outage'), BREAKER_RESET_TIMEOUT_MS: '1500' };
let stack: Stack;
let workers: RunningWorkers;

beforeAll(async () => {
  stack = await startStack('inventory_outage', { env });
  workers = await startWorkers(stack.config, createLogger('workers', process.env.LOG_LEVEL ?? 'silent'));
});

afterAll(async () => {
  await workers?.close();
  await stack?.close();
});

const metric = (name: string, labels: Record<string, string>) => readMetric(registry, name, labels);

it('pauses orders while inventory does not answer, then confirms every one once it is back: none FAILED, stock + reserved unchanged', async () => {
  const userId = await createUser(stack.gatewayUrl);
  const buyer = await stack.as(userId);
  const productId = await createProduct(stack.gatewayUrl, 20, stack.admin);
  const pausedBefore = await metric('junction_queue_paused_seconds_total', { queue: 'orders', reason: 'inventory_unavailable' });

  // Inventory frozen: every request waits 5 s, far past INVENTORY_TIMEOUT_MS, and longer than every retry delay together.
  await gremlin(stack.urls.inventory!, { every: 1, latencyMs: 5000 }, stack.service);
  let ids: string[];
  try {
    ids = (await Promise.all(Array.from({ length: 10 }, () => placeOrder(stack.gatewayUrl, { userId, productId, quantity: 1 }, buyer)))).map((o) => o.id);
    await expect.poll(() => metric('circuit_breaker_state', { breaker: 'inventory' }), { timeout: 10_000, message: 'the inventory breaker to open' }).toBe(2);
    // Time passes on purpose: the outage goes on with the breaker open, past every retry delay together.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const during = await stack.db.sql`select status, attempts from orders.orders where id = any(${ids}::uuid[])`;
    expect(during.filter((o) => o.status === 'FAILED')).toHaveLength(0);
    expect(Math.max(...during.map((o) => o.attempts))).toBeLessThan(4);
  } finally {
    await gremlin(stack.urls.inventory!, null, stack.service);
  }

  const rows = await waitForTerminal(stack.db.sql, ids, 20_000);
  expect(rows.map((r) => r.status)).toEqual(Array(10).fill('CONFIRMED'));
  for (const row of rows) expect(row.attempts).toBeLessThanOrEqual(3);
  await expectInvariants(stack.db.sql, { settled: ordersSettled(stack.db.sql, workers.queues.get(ordersQueue.name)) });
  const [product] = await stack.db.sql`select stock, reserved from inventory.products where id = ${productId}`;
  expect(product).toEqual({ stock: 10, reserved: 10 });
  expect((await metric('junction_queue_paused_seconds_total', { queue: 'orders', reason: 'inventory_unavailable' })) - pausedBefore).toBeGreaterThan(1);
});
