import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../common/logger.ts';
import { closeRedis, createRedis } from '../../common/redis.ts';
import { QueueSet } from '../../common/queues.ts';
import { ordersQueue } from '../../subgraphs/orders/module.ts';
import { startWorkers, type RunningWorkers } from '../../workers/index.ts';
import { expectConfigRefuses } from '../support/config.ts';
import { startTestProvider, type TestProvider } from '../support/notify-provider.ts';
import { createProduct, createUser, fastOrderEnv, ordersSettled, placeOrder, waitForTerminal } from '../support/orders.ts';
import { expectInvariants } from '../support/invariants.ts';
import { startRedisCluster, type RedisClusterServers } from '../support/redis-ha.ts';
import { startGateway, startStack, type Stack } from '../support/stack.ts';
import { closeAll } from '../support/teardown.ts';

/**
 * Junction on a Redis Cluster of its own (3 masters on free ports), named by
 * REDIS_URL=redis+cluster://… alone: the orders subgraph's outbox, the relay,
 * BullMQ and the order and notification workers, and the gateway's rate limit.
 */
const fast = fastOrderEnv('cluster');
const PREFIX = `{${fast.QUEUE_PREFIX}}`;
let cluster: RedisClusterServers;
let provider: TestProvider;
let stack: Stack;
let workers: RunningWorkers;

beforeAll(async () => {
  cluster = await startRedisCluster(3);
  provider = await startTestProvider();
  stack = await startStack('redis_cluster', {
    env: { ...fast, QUEUE_PREFIX: PREFIX, REDIS_URL: cluster.url, NOTIFY_URL: provider.url, NOTIFY_RETRY_DELAYS_MS: '100,100,100', EVENT_REGISTRY_URL: '' },
  });
  workers = await startWorkers(stack.config, createLogger('workers', process.env.LOG_LEVEL ?? 'silent'));
});

afterAll(async () => {
  try {
    await closeAll(workers, stack, provider);
  } finally {
    // Also when a close above failed: no redis-server of this file outlives it.
    await cluster?.stop();
  }
});

describe('REDIS_URL=redis+cluster://… (3 masters)', () => {
  it('takes an order from the outbox through BullMQ to CONFIRMED, delivers its notifications, and keeps every key of the prefix in its one slot', async () => {
    expect(stack.config.REDIS_URL).toMatch(/^redis\+cluster:\/\/127\.0\.0\.1:\d+,127\.0\.0\.1:\d+,127\.0\.0\.1:\d+$/);
    await expect.poll(async () => (await workers.ready()).ready, { timeout: 10_000, message: 'workers ready on the cluster' }).toBe(true);

    const userId = await createUser(stack.gatewayUrl);
    const buyer = await stack.as(userId);
    const productId = await createProduct(stack.gatewayUrl, 2, stack.admin);
    const placed = await Promise.all([1, 2, 3].map(() => placeOrder(stack.gatewayUrl, { userId, productId, quantity: 1 }, buyer)));
    const rows = await waitForTerminal(
      stack.db.sql,
      placed.map((o) => o.id),
    );
    expect(rows.map((r) => `${r.status}:${r.failure_reason}`).sort()).toEqual(['CONFIRMED:null', 'CONFIRMED:null', 'FAILED:OUT_OF_STOCK']);
    await expectInvariants(stack.db.sql, { settled: ordersSettled(stack.db.sql, workers.queues.get(ordersQueue.name)) });

    // The sign-up and the three outcomes, each sent to the provider once, through the notification queues on the cluster.
    await expect
      .poll(async () => (await stack.db.sql`select count(*)::int as n from notifications.notifications where status = 'SENT'`)[0]!.n, {
        timeout: 20_000,
        message: '4 notifications SENT',
      })
      .toBe(4);
    expect(provider.delivered.size).toBe(4);

    // Every key under the prefix is on the master of its hash tag's slot, and none elsewhere.
    const home = await cluster.masterOf(PREFIX);
    const keys = await cluster.keys(`${PREFIX}:*`);
    expect(keys.get(home)).toEqual(expect.arrayContaining([`${PREFIX}:orders:meta`, `${PREFIX}:notifications:meta`]));
    for (const [port, found] of keys) if (port !== home) expect(found, `keys on master ${port}`).toEqual([]);
  });

  it('counts the rate limit on the cluster, shared by two gateways: the 4th request of a minute is 429 RATE_LIMITED', async () => {
    const prefix = `{jt-cluster-rate-${randomUUID().slice(0, 8)}}`;
    const config = { ...stack.config, QUEUE_PREFIX: prefix, RATE_LIMIT_PER_MINUTE: 3 };
    const gateways = [await startGateway(config), await startGateway(config)];
    try {
      const ask = (i: number) =>
        fetch(gateways[i % 2]!.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query":"{ __typename }"}' });
      const statuses: number[] = [];
      for (let i = 0; i < 4; i += 1) statuses.push((await ask(i)).status);
      expect(statuses).toEqual([200, 200, 200, 429]);
      const refused = await ask(4);
      expect(refused.status).toBe(429);
      expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
      expect((await refused.json()).errors[0].extensions.code).toBe('RATE_LIMITED');
      expect(await fetch(`${gateways[0]!.base}/metrics`).then((r) => r.text())).toMatch(/^junction_gateway_rate_limit_unavailable_total 0$/m);

      const keys = [...(await cluster.keys(`${prefix}:rate-limit:*`)).values()].flat();
      expect(keys).toHaveLength(1);
      expect(keys[0]).toMatch(new RegExp(`^${prefix.replace(/[{}]/g, '\\$&')}:rate-limit:ip:`));
    } finally {
      for (const gateway of gateways) await gateway.close();
    }
  });

  it('refuses a cluster REDIS_URL whose QUEUE_PREFIX has no hash tag, which BullMQ could not use: its scripts fail with CROSSSLOT', async () => {
    expectConfigRefuses('QUEUE_PREFIX', fast.QUEUE_PREFIX, { REDIS_URL: cluster.url }, /REDIS_URL is a Redis Cluster .*QUEUE_PREFIX needs a hash tag/);

    // What the refusal spares: the same queue code over the same cluster without a hash tag.
    const producer = createRedis(cluster.url, { role: 'producer' });
    const queues = new QueueSet(producer, fast.QUEUE_PREFIX);
    try {
      await expect.poll(() => producer.status, { timeout: 10_000, message: 'producer ready' }).toBe('ready');
      await expect(queues.get(ordersQueue.name).add('probe', {})).rejects.toThrow(/CROSSSLOT/);
    } finally {
      await queues.close();
      await closeRedis(producer);
    }
  });
});
