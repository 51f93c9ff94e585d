import { afterAll, beforeAll, expect, it } from 'vitest';
import { createLogger } from '../../common/logger.ts';
import { ordersQueue } from '../../subgraphs/orders/module.ts';
import { startWorkers, type RunningWorkers } from '../../workers/index.ts';
import { expectInvariants } from '../support/invariants.ts';
import { startStack, type Stack } from '../support/stack.ts';
import { createProduct, createUser, fastOrderEnv, ordersSettled, placeOrder, PrivateRedis, waitForTerminal } from '../support/orders.ts';

// A redis-server of this file's own, stopped and started again; the shared one is never touched.
let redis: PrivateRedis;
let stack: Stack;
let workers: RunningWorkers;

beforeAll(async () => {
  redis = await PrivateRedis.start();
  stack = await startStack('redis_down', { env: { ...fastOrderEnv('redis-down'), REDIS_URL: redis.url } });
  workers = await startWorkers(stack.config, createLogger('workers', process.env.LOG_LEVEL ?? 'silent'));
});

afterAll(async () => {
  await workers?.close();
  await stack?.close();
  await redis?.stop();
});

it('accepts orders while Redis is down and confirms them all within 30 s once it is back', async () => {
  const userId = await createUser(stack.gatewayUrl);
  const buyer = await stack.as(userId);
  const productId = await createProduct(stack.gatewayUrl, 10, stack.admin);
  // Processing works before the outage.
  const before = await placeOrder(stack.gatewayUrl, { userId, productId, quantity: 1 }, buyer);
  expect((await waitForTerminal(stack.db.sql, [before.id]))[0]!.status).toBe('CONFIRMED');

  await redis.stop();
  const placed = await Promise.all(Array.from({ length: 5 }, () => placeOrder(stack.gatewayUrl, { userId, productId, quantity: 1 }, buyer)));
  for (const order of placed) expect(order.status).toBe('PENDING');
  const ids = placed.map((o) => o.id);

  // The relay tries, fails fast, and leaves the rows for later; nothing moves (time passes on purpose: ten relay polls).
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const [waiting] = await stack.db.sql`select count(*)::int as n from orders.outbox where published_at is null and job_id = any(${ids})`;
  expect(waiting!.n).toBe(5);
  const [pending] = await stack.db.sql`select count(*)::int as n from orders.orders where id = any(${ids}::uuid[]) and status = 'PENDING'`;
  expect(pending!.n).toBe(5);

  await redis.start();
  const back = Date.now();
  const rows = await waitForTerminal(stack.db.sql, ids, 30_000);
  expect(rows.map((r) => r.status)).toEqual(Array(5).fill('CONFIRMED'));
  console.info(`5 orders confirmed ${Date.now() - back} ms after Redis came back`);
  await expectInvariants(stack.db.sql, { settled: ordersSettled(stack.db.sql, workers.queues.get(ordersQueue.name)) });
});
