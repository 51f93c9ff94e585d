import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { composeServices } from '@apollo/composition';
import { parse } from 'graphql';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../../common/db.ts';
import { listen } from '../../common/http.ts';
import { createLogger } from '../../common/logger.ts';
import { notificationsQueue } from '../../subgraphs/notifications/module.ts';
import { ordersQueue } from '../../subgraphs/orders/module.ts';
import { createGateway } from '../../gateway/server.ts';
import { SUPERGRAPH_FILE } from '../../scripts/compose.ts';
import { SUBGRAPHS } from '../../subgraphs/index.ts';
import { gql } from '../support/graphql.ts';
import { expectInvariants } from '../support/invariants.ts';
import { startTestProvider, type TestProvider } from '../support/notify-provider.ts';
import { countBy, createProduct, createUser, dropQueues, fastOrderEnv, ordersSettled, placeOrder, startWorkersProcess, waitForTerminal, type WorkersProcess } from '../support/orders.ts';
import { startStack, type Stack } from '../support/stack.ts';

/**
 * Several replicas of every stateful piece on one PostgreSQL and one Redis:
 * two gateways (each over its own orders subgraph), two orders subgraphs and
 * two workers processes. The BullMQ prefix carries a Redis Cluster hash tag.
 */
const fast = fastOrderEnv('replicas');
const PREFIX = `{${fast.QUEUE_PREFIX}}`;
const dir = mkdtempSync(join(tmpdir(), 'junction-replicas-'));
const supergraphPath = join(dir, 'supergraph.graphql');
let provider: TestProvider;
let stack: Stack;
let redis: Redis;
let queue: Queue;
const gateways: { url: string; base: string }[] = [];
const workers: WorkersProcess[] = [];
const closers: (() => Promise<void>)[] = [];

beforeAll(async () => {
  copyFileSync(SUPERGRAPH_FILE, supergraphPath);
  provider = await startTestProvider();
  // A generous inventory timeout and retries: 40 order jobs at once on two busy cores must not exhaust them.
  const env = { ...fast, INVENTORY_TIMEOUT_MS: '5000', ORDER_RETRY_DELAYS_MS: '100,200,400,800,1000', ORDER_CONCURRENCY: '10', QUEUE_PREFIX: PREFIX, NOTIFY_URL: provider.url, NOTIFY_RETRY_DELAYS_MS: '100,100,100', EVENT_REGISTRY_URL: '', SUPERGRAPH_PATH: supergraphPath };
  // Replica 1: every subgraph and a gateway.
  stack = await startStack('replicas', { env });
  gateways.push({ url: stack.gatewayUrl, base: stack.gatewayBase });

  // Replica 2 of orders, and a second gateway that calls it.
  const logger = createLogger('replicas', 'silent');
  const orders = SUBGRAPHS.find((s) => s.name === 'orders')!;
  const handle = connect(stack.db.url);
  const subgraph = await (await orders.load())({ db: handle.db, config: stack.config, logger });
  const ordersHttp = await listen(subgraph.app, 0);
  // The stack's gateway settings (timeouts and all), with the second orders subgraph.
  const config = { ...stack.config, ORDERS_URL: `${ordersHttp.url}/graphql` };
  const gateway = await createGateway({ config, logger });
  const gatewayHttp = await listen(gateway.app, 0);
  gateways.push({ url: `${gatewayHttp.url}/graphql`, base: gatewayHttp.url });
  closers.push(async () => {
    await gatewayHttp.close();
    await gateway.close();
    await ordersHttp.close();
    await subgraph.apollo.stop();
    await handle.close();
  });

  // Two workers processes.
  const workerEnv = { ...env, DATABASE_URL: stack.db.url, INVENTORY_URL: stack.urls.inventory!, INGEST_API_KEY: stack.config.INGEST_API_KEY, SERVICE_API_KEY: stack.config.SERVICE_API_KEY };
  workers.push(...(await Promise.all([startWorkersProcess(workerEnv), startWorkersProcess(workerEnv)])));

  redis = new Redis(stack.config.REDIS_URL, { maxRetriesPerRequest: null });
  queue = new Queue(ordersQueue.name, { connection: redis, prefix: PREFIX });
}, 60_000);

afterAll(async () => {
  await Promise.all(workers.map(async (w) => {
    w.child.kill('SIGTERM');
    await w.exited();
  }));
  for (const close of closers) await close();
  await queue?.close();
  redis?.disconnect();
  await stack?.close();
  await provider?.close();
  await dropQueues(stack.config.REDIS_URL, PREFIX);
  rmSync(dir, { recursive: true, force: true });
});

async function metric(url: string, line: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const match = text.split('\n').find((l) => l.startsWith(`${line} `));
  return match ? Number(match.split(' ').pop()) : 0;
}

describe('two gateways, two orders subgraphs, two workers processes', () => {
  it('sells exactly the stock: 200 orders for 50 units through both gateways end 50 CONFIRMED and 150 OUT_OF_STOCK, each notification delivered once', async () => {
    for (const w of workers) expect((await fetch(`${w.url}/ready`)).status).toBe(200);
    const userId = await createUser(gateways[0]!.url);
    const buyer = await stack.as(userId);
    const productId = await createProduct(gateways[1]!.url, 50, stack.admin);
    const placed = await Promise.all(Array.from({ length: 200 }, (_, i) => placeOrder(gateways[i % 2]!.url, { userId, productId, quantity: 1 }, buyer)));
    const rows = await waitForTerminal(stack.db.sql, placed.map((o) => o.id), 40_000);
    expect(countBy(rows, (r) => `${r.status}:${r.failure_reason}`)).toEqual({ 'CONFIRMED:null': 50, 'FAILED:OUT_OF_STOCK': 150 });
    const [product] = await stack.db.sql`select stock, reserved from inventory.products where id = ${productId}`;
    expect(product).toEqual({ stock: 0, reserved: 50 });
    await expectInvariants(stack.db.sql, { settled: ordersSettled(stack.db.sql, queue) });

    // Both workers processes took orders: the queue is shared, not split or doubled.
    const attempts = await Promise.all(workers.map(async (w) => (await metric(w.url, 'order_attempts_total{outcome="confirmed"}')) + (await metric(w.url, 'order_attempts_total{outcome="out_of_stock"}'))));
    expect(attempts.every((n) => n > 0)).toBe(true);
    expect(attempts[0]! + attempts[1]!).toBe(200);

    // The sign-up and 200 order outcomes: every notification SENT, each delivered to the provider once.
    const expected = 201;
    await expect
      .poll(async () => (await stack.db.sql`select count(*)::int as n from notifications.notifications where status = 'SENT'`)[0]!.n, { timeout: 30_000, interval: 200 })
      .toBe(expected);
    const accepted = provider.requests.filter((r) => r.status < 300);
    expect(provider.delivered.size).toBe(expected);
    expect(Object.values(countBy(accepted, (r) => r.key)).every((n) => n === 1)).toBe(true);
  }, 90_000);

  it('keeps every BullMQ key of a hash-tagged prefix in one Redis Cluster slot', async () => {
    const keys = await redis.keys(`${PREFIX}:*`);
    expect(keys.some((k) => k.startsWith(`${PREFIX}:${ordersQueue.name}:`))).toBe(true);
    expect(keys.some((k) => k.startsWith(`${PREFIX}:${notificationsQueue.name}:`))).toBe(true);
    // Redis Cluster hashes only the first {…} of a key: every key hashes its tag alone, so all land in one slot.
    const hashed = (key: string) => {
      const open = key.indexOf('{');
      const close = key.indexOf('}', open + 1);
      return open >= 0 && close > open + 1 ? key.slice(open + 1, close) : key;
    };
    expect(new Set(keys.map(hashed))).toEqual(new Set([fast.QUEUE_PREFIX]));
  });

  it('brings a supergraph change to every gateway', async () => {
    for (const g of gateways) expect((await gql(g.url, '{ products(first: 1) { totalCount } }')).errors).toBeUndefined();
    // A supergraph without the inventory subgraph, written over the file both gateways watch.
    const smaller = composeServices(
      SUBGRAPHS.filter((s) => s.name !== 'inventory').map((s) => ({ name: s.name, url: `http://127.0.0.1:${s.defaultPort}/graphql`, typeDefs: parse(readFileSync(s.schemaFile, 'utf8')) })),
    );
    if (smaller.errors) throw smaller.errors[0];
    writeFileSync(supergraphPath, smaller.supergraphSdl);
    for (const g of gateways) {
      await expect.poll(async () => (await gql(g.url, '{ products(first: 1) { totalCount } }')).errors?.[0]?.extensions?.code, { timeout: 10_000, interval: 100 }).toBe('GRAPHQL_VALIDATION_FAILED');
      expect((await gql(g.url, '{ users(first: 1) { totalCount } }', {}, stack.admin)).errors).toBeUndefined();
      // Inventory is gone from its /ready; the rest are up (polled: a check of every subgraph can miss its 1 s on a busy machine).
      await expect.poll(async () => (await fetch(`${g.base}/ready`)).json(), { timeout: 10_000, interval: 200 }).toMatchObject({ status: 'ready', subgraphs: { users: 'up', orders: 'up' } });
      expect(Object.keys(((await (await fetch(`${g.base}/ready`)).json()) as { subgraphs: object }).subgraphs)).not.toContain('inventory');
    }
  });
});
