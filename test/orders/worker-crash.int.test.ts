import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { ordersQueue } from '../../subgraphs/orders/module.ts';
import { expectInvariants } from '../support/invariants.ts';
import { startStack, type Stack } from '../support/stack.ts';
import { createProduct, createUser, fastOrderEnv, gremlin, ordersSettled, placeOrder, waitForTerminal } from '../support/orders.ts';
import { startWorkersProcess } from '../support/processes.ts';

const env = { ...fastOrderEnv('crash'), INVENTORY_TIMEOUT_MS: '3000' };
let stack: Stack;
/** The buyer's sign-in headers. */
let buyer: Record<string, string>;
let userId: string;
let connection: Redis;
let queue: Queue;
const children = new Set<ChildProcess>();

/** workers/index.ts as a real process of its own, on this test's stack. */
async function startWorkerProcess() {
  const worker = await startWorkersProcess({
    ...env,
    DATABASE_URL: stack.db.url,
    INVENTORY_URL: stack.urls.inventory!,
    SERVICE_API_KEY: stack.config.SERVICE_API_KEY,
  });
  children.add(worker.child);
  worker.child.once('exit', () => children.delete(worker.child));
  return worker;
}

async function countWith(ids: string[], status: string): Promise<number> {
  const [row] = await stack.db.sql`select count(*)::int as n from orders.orders where id = any(${ids}::uuid[]) and status = ${status}`;
  return row!.n;
}

beforeAll(async () => {
  stack = await startStack('worker_crash', { env });
  userId = await createUser(stack.gatewayUrl);
  buyer = await stack.as(userId);
  connection = new Redis(stack.config.REDIS_URL, { maxRetriesPerRequest: null });
  queue = new Queue(ordersQueue.name, { connection, prefix: env.QUEUE_PREFIX });
});

afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await queue?.close();
  connection?.disconnect();
  await stack?.close();
});

describe('workers as a real process', () => {
  it('finishes every order, reserving once, after a worker is killed with SIGKILL mid-job', async () => {
    const productId = await createProduct(stack.gatewayUrl, 20, stack.admin);
    // Each inventory call takes 800 ms (under the 3 s timeout), so jobs are caught in flight.
    await gremlin(stack.urls.inventory!, { every: 1, latencyMs: 800 }, stack.service);
    try {
      const first = await startWorkerProcess();
      const placed = await Promise.all(Array.from({ length: 12 }, () => placeOrder(stack.gatewayUrl, { userId, productId, quantity: 1 }, buyer)));
      const ids = placed.map((o) => o.id);
      await expect.poll(() => countWith(ids, 'PROCESSING'), { timeout: 10_000, interval: 20 }).toBeGreaterThan(0);
      first.child.kill('SIGKILL');
      expect((await first.exited()).signal).toBe('SIGKILL');
      const interrupted = await countWith(ids, 'PROCESSING');
      expect(interrupted).toBeGreaterThan(0);

      // A new worker process finds the stalled jobs once their lock lapses and runs them again.
      const second = await startWorkerProcess();
      const rows = await waitForTerminal(stack.db.sql, ids, 30_000);
      expect(rows.every((r) => r.status === 'CONFIRMED')).toBe(true);
      expect(rows.filter((r) => r.attempts > 1).length).toBeGreaterThanOrEqual(interrupted);
      await expectInvariants(stack.db.sql, { settled: ordersSettled(stack.db.sql, queue) });
      const [product] = await stack.db.sql`select stock, reserved from inventory.products where id = ${productId}`;
      expect(product).toEqual({ stock: 8, reserved: 12 });

      second.child.kill('SIGTERM');
      expect(await second.exited()).toEqual({ code: 0, signal: null });
    } finally {
      await gremlin(stack.urls.inventory!, null, stack.service);
    }
  });

  it('lets the active job finish on SIGTERM before exiting (graceful shutdown)', async () => {
    const productId = await createProduct(stack.gatewayUrl, 5, stack.admin);
    await gremlin(stack.urls.inventory!, { every: 1, latencyMs: 1000 }, stack.service);
    try {
      const worker = await startWorkerProcess();
      const order = await placeOrder(stack.gatewayUrl, { userId, productId, quantity: 2 }, buyer);
      await expect.poll(() => countWith([order.id], 'PROCESSING'), { timeout: 10_000, interval: 20 }).toBe(1);
      worker.child.kill('SIGTERM');
      expect(await worker.exited()).toEqual({ code: 0, signal: null });
      // It exited only after the job it had in hand was done: no stall, one attempt.
      const [row] = await stack.db.sql`select status, attempts from orders.orders where id = ${order.id}`;
      expect(row).toEqual({ status: 'CONFIRMED', attempts: 1 });
      expect(await (await queue.getJob(order.id))?.getState()).toBe('completed');
    } finally {
      await gremlin(stack.urls.inventory!, null, stack.service);
    }
  });
});
