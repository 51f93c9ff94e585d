/**
 * Invariant 8 for orders (docs/architecture.md): inventory down for far longer
 * than every retry delay together uses up no retries. For the outage
 * inventory's gremlin holds every request 3 s: every call times out after
 * INVENTORY_TIMEOUT_MS (1 s), and its work happens late (an ambiguous timeout). Retries after 100, 100 and
 * 100 ms; the breaker half-opens a second after each failed trial and does not
 * back off (BREAKER_MAX_RESET_TIMEOUT_MS = BREAKER_RESET_TIMEOUT_MS), so a
 * trial call every 2 s or so, about ten in the outage for two orders: had each
 * failed trial counted as an attempt, both orders would have ended
 * FAILED(INVENTORY_UNAVAILABLE) after their 4.
 *
 * The outage lasts LONG_OUTAGE_MS (default 20 s, for the suite); the 5-minute
 * run is LONG_OUTAGE_MS=300000 npx vitest run test/orders/inventory-long-outage.int.test.ts
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createLogger } from '../../common/logger.ts';
import { registry } from '../../common/metrics.ts';
import { ordersQueue } from '../../subgraphs/orders/module.ts';
import { startWorkers, type RunningWorkers } from '../../workers/index.ts';
import { expectInvariants } from '../support/invariants.ts';
import { createProduct, createUser, fastOrderEnv, gremlin, ordersSettled, placeOrder, waitForTerminal } from '../support/orders.ts';
import { startStack, type Stack } from '../support/stack.ts';
import { metric as readMetric } from '../support/metrics.ts';

const OUTAGE_MS = Number(process.env.LONG_OUTAGE_MS ?? 20_000);
const ATTEMPTS = 4;
const env = { ...fastOrderEnv('inventory-long-outage'), BREAKER_RESET_TIMEOUT_MS: '1000', BREAKER_MAX_RESET_TIMEOUT_MS: '1000' };
let stack: Stack;
let workers: RunningWorkers;

beforeAll(async () => {
  stack = await startStack('inventory_long_outage', { env });
  workers = await startWorkers(stack.config, createLogger('workers', process.env.LOG_LEVEL ?? 'silent'));
});

afterAll(async () => {
  await workers?.close();
  await stack?.close();
});

const metric = (name: string, labels: Record<string, string>) => readMetric(registry, name, labels);

/** Calls the workers' inventory breaker let through to inventory (fired, less rejected at once). */
const callsMade = async () =>
  (await metric('circuit_breaker_fires_total', { breaker: 'inventory' })) - (await metric('circuit_breaker_rejects_total', { breaker: 'inventory' }));

it(
  `inventory unresponsive for ${OUTAGE_MS / 1000} s (retries 0.3 s, a trial call every second): no order FAILED, each CONFIRMED after, stock exact`,
  async () => {
    const userId = await createUser(stack.gatewayUrl);
    const buyer = await stack.as(userId);
    const productId = await createProduct(stack.gatewayUrl, 10, stack.admin);
    const callsBefore = await callsMade();

    await gremlin(stack.urls.inventory!, { every: 1, latencyMs: 3000 }, stack.service);
    let ids: string[];
    try {
      ids = (await Promise.all(Array.from({ length: 2 }, () => placeOrder(stack.gatewayUrl, { userId, productId, quantity: 1 }, buyer)))).map((o) => o.id);
      // The outage: checked throughout, not only at its end (time passes on purpose: the outage lasts OUTAGE_MS).
      const started = Date.now();
      while (Date.now() - started < OUTAGE_MS) {
        const rows = await stack.db.sql`select status, attempts from orders.orders where id = any(${ids}::uuid[])`;
        expect(rows.filter((o) => o.status === 'FAILED')).toEqual([]);
        expect(rows.filter((o) => o.attempts >= ATTEMPTS)).toEqual([]);
        await sleep(500);
      }
      // Inventory was asked more often than all the attempts of all the orders: trial calls, none counted.
      expect((await callsMade()) - callsBefore).toBeGreaterThan(ATTEMPTS * ids.length);
    } finally {
      await gremlin(stack.urls.inventory!, null, stack.service);
    }

    const rows = await waitForTerminal(stack.db.sql, ids, 60_000);
    expect(rows.map((r) => r.status)).toEqual(Array(ids.length).fill('CONFIRMED'));
    for (const row of rows) expect(row.attempts).toBeLessThanOrEqual(ATTEMPTS);
    const queue = workers.queues.get(ordersQueue.name);
    for (const id of ids) expect((await queue.getJob(id))!.attemptsMade).toBeLessThan(ATTEMPTS);
    await expectInvariants(stack.db.sql, { settled: ordersSettled(stack.db.sql, queue) });
    const [product] = await stack.db.sql`select stock, reserved from inventory.products where id = ${productId}`;
    expect(product).toEqual({ stock: 8, reserved: 2 });
  },
  OUTAGE_MS + 120_000,
);
