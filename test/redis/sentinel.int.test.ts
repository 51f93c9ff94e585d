import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../common/logger.ts';
import { ordersQueue } from '../../subgraphs/orders/module.ts';
import { startWorkers, type RunningWorkers } from '../../workers/index.ts';
import { expectInvariants } from '../support/invariants.ts';
import { eventually } from '../support/notify-provider.ts';
import { createProduct, createUser, fastOrderEnv, ordersSettled, placeOrder, waitForTerminal } from '../support/orders.ts';
import { startRedisSentinel, type SentinelServers } from '../support/redis-ha.ts';
import { startStack, type Stack } from '../support/stack.ts';

/**
 * Junction on a Sentinel-managed Redis of its own (a primary, a replica and a
 * Sentinel, quorum 1), named by REDIS_URL=redis+sentinel://<sentinel>/<master>
 * alone: the primary is found through the Sentinel, and found again when it
 * dies and the Sentinel promotes the replica.
 */
let servers: SentinelServers;
let stack: Stack;
let workers: RunningWorkers;

beforeAll(async () => {
  servers = await startRedisSentinel({ replicas: 1, sentinels: 1, downAfterMs: 1000 });
  stack = await startStack('redis_sentinel', { env: { ...fastOrderEnv('sentinel'), REDIS_URL: servers.url } });
  workers = await startWorkers(stack.config, createLogger('workers', process.env.LOG_LEVEL ?? 'silent'));
});

afterAll(async () => {
  try {
    await workers?.close();
    await stack?.close();
  } finally {
    // Also when a close above failed: no redis-server of this file outlives it.
    await servers?.stop();
  }
});

/** How many keys of the test's prefix the server on `port` holds. */
async function keysOn(port: number): Promise<number> {
  const redis = new Redis(port, '127.0.0.1', { maxRetriesPerRequest: 0, retryStrategy: () => null });
  try {
    return (await redis.keys(`${stack.config.QUEUE_PREFIX}:*`)).length;
  } finally {
    redis.disconnect();
  }
}

describe('REDIS_URL=redis+sentinel://…/<master>', () => {
  it('finds the primary through the Sentinel (the URL names only the Sentinel port) and processes orders on it', async () => {
    const [sentinel] = servers.sentinels;
    expect(stack.config.REDIS_URL).toBe(`redis+sentinel://127.0.0.1:${sentinel!.port}/${servers.masterName}`);
    await eventually(async () => (await workers.ready()).ready, 10_000, 'workers ready through the Sentinel');

    const userId = await createUser(stack.gatewayUrl);
    const buyer = await stack.as(userId);
    const productId = await createProduct(stack.gatewayUrl, 10, stack.admin);
    const order = await placeOrder(stack.gatewayUrl, { userId, productId, quantity: 1 }, buyer);
    expect((await waitForTerminal(stack.db.sql, [order.id]))[0]!.status).toBe('CONFIRMED');
    // The queues are on the primary the Sentinel named (and replicated), not on the Sentinel.
    expect(await servers.primaryPort()).toBe(servers.primary.port);
    expect(await keysOn(servers.primary.port)).toBeGreaterThan(0);
  });

  it('keeps working across a failover: the primary is SIGKILLed, the Sentinel promotes the replica, and orders placed meanwhile and after end CONFIRMED', async () => {
    const userId = await createUser(stack.gatewayUrl);
    const buyer = await stack.as(userId);
    const productId = await createProduct(stack.gatewayUrl, 10, stack.admin);
    const first = await placeOrder(stack.gatewayUrl, { userId, productId, quantity: 1 }, buyer);
    expect((await waitForTerminal(stack.db.sql, [first.id]))[0]!.status).toBe('CONFIRMED');

    const killedAt = Date.now();
    await servers.primary.kill();
    // Accepted while there is no primary: their outbox rows wait in PostgreSQL.
    const during = await Promise.all([1, 2].map(() => placeOrder(stack.gatewayUrl, { userId, productId, quantity: 1 }, buyer)));
    const promoted = await servers.failedOverFrom(servers.primary.port);
    expect(promoted).toBe(servers.replicas[0]!.port);
    const failoverMs = Date.now() - killedAt;

    const after = await Promise.all([1, 2].map(() => placeOrder(stack.gatewayUrl, { userId, productId, quantity: 1 }, buyer)));
    const ids = [...during, ...after].map((o) => o.id);
    const rows = await waitForTerminal(stack.db.sql, ids, 30_000);
    expect(rows.map((r) => r.status)).toEqual(Array(4).fill('CONFIRMED'));
    console.info(`failover in ${failoverMs} ms; 4 orders CONFIRMED ${Date.now() - killedAt} ms after the primary was killed`);

    const ready = await workers.ready();
    expect(ready).toMatchObject({ ready: true, redis: 'ready' });
    await expectInvariants(stack.db.sql, { settled: ordersSettled(stack.db.sql, workers.queues.get(ordersQueue.name)) });
    expect(await keysOn(promoted)).toBeGreaterThan(0);
    const [product] = await stack.db.sql`select stock, reserved from inventory.products where id = ${productId}`;
    expect(product).toEqual({ stock: 5, reserved: 5 });
  });
});
