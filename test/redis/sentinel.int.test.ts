import { Worker } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../common/logger.ts';
import { closeRedis, createRedis } from '../../common/redis.ts';
import { ordersQueue } from '../../subgraphs/orders/module.ts';
import { startWorkers, type RunningWorkers } from '../../workers/index.ts';
import { expectInvariants } from '../support/invariants.ts';
import { createProduct, createUser, fastOrderEnv, ordersSettled, placeOrder, waitForTerminal } from '../support/orders.ts';
import { startRedisSentinel, type SentinelServers } from '../support/redis-ha.ts';
import { startStack, type Stack } from '../support/stack.ts';
import { closeAll } from '../support/teardown.ts';

/**
 * Junction on a Sentinel-managed Redis of its own (a primary, two replicas and
 * a Sentinel, quorum 1), named by REDIS_URL=redis+sentinel://<sentinel>/<master>
 * alone: the primary is found through the Sentinel, and found again when it
 * dies and the Sentinel promotes a replica, or when the Sentinel demotes it.
 */
let servers: SentinelServers;
let stack: Stack;
let workers: RunningWorkers;

beforeAll(async () => {
  servers = await startRedisSentinel({ replicas: 2, sentinels: 1, downAfterMs: 1000 });
  stack = await startStack('redis_sentinel', { env: { ...fastOrderEnv('sentinel'), REDIS_URL: servers.url } });
  workers = await startWorkers(stack.config, createLogger('workers', process.env.LOG_LEVEL ?? 'silent'));
});

afterAll(async () => {
  try {
    await closeAll(workers, stack);
  } finally {
    // Also when a close above failed: no redis-server of this file outlives it.
    await servers?.stop();
  }
});

/** Places `count` orders of one unit each for a new buyer, of a product with 10 in stock; resolves with their ids and the product. */
async function placeOrders(count: number): Promise<{ ids: string[]; productId: string; place(n: number): Promise<string[]> }> {
  const userId = await createUser(stack.gatewayUrl);
  const buyer = await stack.as(userId);
  const productId = await createProduct(stack.gatewayUrl, 10, stack.admin);
  const place = async (n: number) =>
    (await Promise.all(Array.from({ length: n }, () => placeOrder(stack.gatewayUrl, { userId, productId, quantity: 1 }, buyer)))).map((o) => o.id);
  return { ids: await place(count), productId, place };
}

/** How many keys of the test's prefix the server on `port` holds. */
const keysOn = async (port: number) => (await servers.keysOn(port, `${stack.config.QUEUE_PREFIX}:*`)).length;

describe('REDIS_URL=redis+sentinel://…/<master>', () => {
  it('finds the primary through the Sentinel (the URL names only the Sentinel port) and processes orders on it', async () => {
    const [sentinel] = servers.sentinels;
    expect(stack.config.REDIS_URL).toBe(`redis+sentinel://127.0.0.1:${sentinel!.port}/${servers.masterName}`);
    await expect.poll(async () => (await workers.ready()).ready, { timeout: 10_000, message: 'workers ready through the Sentinel' }).toBe(true);

    const { ids } = await placeOrders(1);
    expect((await waitForTerminal(stack.db.sql, ids))[0]!.status).toBe('CONFIRMED');
    // The queues are on the primary the Sentinel named (and replicated), not on the Sentinel.
    expect(await servers.primaryPort()).toBe(servers.primary.port);
    expect(await keysOn(servers.primary.port)).toBeGreaterThan(0);
    expect((await servers.clientsOn(servers.primary.port)).map((c) => c.name)).toEqual(
      expect.arrayContaining(['workers', 'workers-producer', 'notification-events', 'notifications-delivery']),
    );
  });

  it("leaves no connection on the Sentinel once closed, BullMQ's own duplicates included", async () => {
    const [sentinel] = servers.sentinels;
    const before = (await servers.clientsOn(sentinel!.port)).length;
    const connection = createRedis(servers.url, { role: 'worker', name: 'sentinel-close-test' });
    // A Worker duplicates its connection for blocking commands, and closes that copy itself (with quit()).
    const worker = new Worker('sentinel-close-test', async () => {}, { connection, prefix: stack.config.QUEUE_PREFIX });
    await worker.waitUntilReady();
    await expect
      .poll(async () => (await servers.clientsOn(sentinel!.port)).length, { timeout: 10_000, message: 'the connections subscribed on the Sentinel' })
      .toBeGreaterThan(before);
    await worker.close();
    await closeRedis(connection);
    await expect
      .poll(async () => (await servers.clientsOn(sentinel!.port)).length, { timeout: 5_000, message: `the Sentinel back to ${before} clients` })
      .toBe(before);
  });

  it('keeps working across a crash: the primary is SIGKILLed, the Sentinel promotes a replica, and orders placed meanwhile and after end CONFIRMED', async () => {
    const orders = await placeOrders(1);
    expect((await waitForTerminal(stack.db.sql, orders.ids))[0]!.status).toBe('CONFIRMED');

    const crashed = await servers.primaryPort();
    const killedAt = Date.now();
    await servers.node(crashed).kill();
    // Accepted while there is no primary: their outbox rows wait in PostgreSQL.
    const during = await orders.place(2);
    const promoted = await servers.failedOverFrom(crashed);
    expect(servers.replicas.map((r) => r.port)).toContain(promoted);
    const failoverMs = Date.now() - killedAt;

    const ids = [...during, ...(await orders.place(2))];
    const rows = await waitForTerminal(stack.db.sql, ids, 30_000);
    expect(rows.map((r) => r.status)).toEqual(Array(4).fill('CONFIRMED'));
    console.info(`failover in ${failoverMs} ms; 4 orders CONFIRMED ${Date.now() - killedAt} ms after the primary was killed`);

    expect(await workers.ready()).toMatchObject({ ready: true, redis: 'ready' });
    await expectInvariants(stack.db.sql, { settled: ordersSettled(stack.db.sql, workers.queues.get(ordersQueue.name)) });
    expect(await keysOn(promoted)).toBeGreaterThan(0);
    const [product] = await stack.db.sql`select stock, reserved from inventory.products where id = ${orders.productId}`;
    expect(product).toEqual({ stock: 5, reserved: 5 });
  });

  it('moves off a primary the Sentinel demotes while it still runs (SENTINEL FAILOVER) at once, not when the old primary drops its clients', async () => {
    const orders = await placeOrders(1);
    expect((await waitForTerminal(stack.db.sql, orders.ids))[0]!.status).toBe('CONFIRMED');

    const startedAt = Date.now();
    const demoted = await servers.failover();
    const promoted = await servers.failedOverFrom(demoted);
    expect((await servers.clientsOn(demoted)).length).toBeGreaterThan(0);
    // Every connection of the workers (theirs and BullMQ's) leaves the old primary while it still takes writes as a master;
    // the Sentinel reconfigures it only some 10 s later, and writes it took meanwhile would be lost.
    await expect.poll(async () => (await servers.clientsOn(demoted)).length, { timeout: 5_000, message: 'no connection left on the demoted primary' }).toBe(0);
    const movedMs = Date.now() - startedAt;
    // They left on their own: the old primary has not been told to replicate yet, nor dropped its clients.
    expect(await servers.roleOf(demoted)).toBe('master');
    console.info(`SENTINEL FAILOVER: every connection off the old primary in ${movedMs} ms, while it still answers ROLE master`);

    const rows = await waitForTerminal(stack.db.sql, await orders.place(2), 30_000);
    expect(rows.map((r) => r.status)).toEqual(['CONFIRMED', 'CONFIRMED']);
    expect((await servers.clientsOn(promoted)).map((c) => c.name)).toEqual(expect.arrayContaining(['workers', 'workers-producer']));
  });
});
