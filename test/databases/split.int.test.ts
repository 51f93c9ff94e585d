import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { distinctDatabaseUrls } from '../../common/databases.ts';
import { createLogger } from '../../common/logger.ts';
import { SUBGRAPHS } from '../../subgraphs/index.ts';
import { startWorkers, type RunningWorkers } from '../../workers/index.ts';
import { startStack, type Stack } from '../support/stack.ts';
import { PrivatePostgres } from '../support/postgres.ts';
import { createProduct, createUser, fastOrderEnv, placeOrder, waitForTerminal } from '../support/orders.ts';

/**
 * A database per subgraph (common/databases.ts): orders and inventory each on a
 * PostgreSQL cluster of its own (test-owned, initdb on free ports), the other
 * subgraphs and the workers' own tables on the stack's database. An order still
 * goes PENDING → PROCESSING → CONFIRMED with its stock reserved once, and its
 * ORDER_CONFIRMED announcement travels from orders' outbox (one cluster) to a
 * notification (the stack's database): no step needs one transaction across two
 * subgraphs' databases.
 */
const env = { ...fastOrderEnv('split'), BREAKER_VOLUME_THRESHOLD: '1000' };
let ordersCluster: PrivatePostgres;
let inventoryCluster: PrivatePostgres;
let stack: Stack;
let workers: RunningWorkers;

beforeAll(async () => {
  [ordersCluster, inventoryCluster] = await Promise.all([PrivatePostgres.start(), PrivatePostgres.start()]);
  stack = await startStack('split', { env, databases: { orders: ordersCluster.adminUrl, inventory: inventoryCluster.adminUrl } });
  workers = await startWorkers({ ...stack.config, WORKER_LOCK_MS: 30_000 }, createLogger('workers', process.env.LOG_LEVEL ?? 'silent'));
}, 60_000);

afterAll(async () => {
  await workers?.close();
  await stack?.close();
  await Promise.all([ordersCluster?.destroy(), inventoryCluster?.destroy()]);
});

describe('a database per subgraph', () => {
  it('each subgraph reads its own setting, and the distinct databases are three', () => {
    const orders = stack.databases.orders!;
    const inventory = stack.databases.inventory!;
    expect(new URL(orders.url).port).toBe(String(ordersCluster.port));
    expect(new URL(inventory.url).port).toBe(String(inventoryCluster.port));
    expect(
      distinctDatabaseUrls(
        stack.config,
        SUBGRAPHS.map((s) => s.name),
      ),
    ).toEqual([stack.db.url, inventory.url, orders.url]);
  });

  it('orders on one cluster, inventory on another: an order goes PENDING → CONFIRMED with its stock reserved once', async () => {
    const orders = stack.databases.orders!.sql;
    const inventory = stack.databases.inventory!.sql;
    const userId = await createUser(stack.gatewayUrl);
    const buyer = await stack.as(userId);
    const productId = await createProduct(stack.gatewayUrl, 5, stack.admin);
    const placed = await placeOrder(stack.gatewayUrl, { userId, productId, quantity: 2 }, buyer);
    expect(placed.status).toBe('PENDING');

    const [row] = await waitForTerminal(orders, [placed.id]);
    expect(row).toMatchObject({ status: 'CONFIRMED', failure_reason: null });
    const history = await orders`select status from orders.order_status_changes where order_id = ${placed.id} order by id`;
    expect(history.map((h) => h.status)).toEqual(['PENDING', 'PROCESSING', 'CONFIRMED']);

    // Reserved once, in inventory's cluster.
    const [product] = await inventory`select stock, reserved from inventory.products where id = ${productId}`;
    expect(product).toEqual({ stock: 3, reserved: 2 });
    const movements = await inventory`select kind, quantity from inventory.stock_movements where order_id = ${placed.id}`;
    expect(movements).toEqual([{ kind: 'RESERVE', quantity: 2 }]);
    const reservations = await inventory`select kind, outcome from inventory.reservations where order_id = ${placed.id}`;
    expect(reservations).toEqual([{ kind: 'RESERVE', outcome: 'RESERVED' }]);

    // Each subgraph's rows are in its own database only.
    expect(await stack.db.sql`select id from orders.orders where id = ${placed.id}`).toHaveLength(0);
    expect(await stack.db.sql`select id from inventory.products where id = ${productId}`).toHaveLength(0);
    expect(await orders`select id from inventory.products where id = ${productId}`).toHaveLength(0);
    expect(await inventory`select id from orders.orders where id = ${placed.id}`).toHaveLength(0);

    // The confirmation, announced through orders' outbox (the relay reads it on orders' cluster), is recorded by
    // notifications on the stack's database.
    await expect
      .poll(
        async () =>
          (await stack.db.sql`select 1 from notifications.notifications where type = 'ORDER_CONFIRMED' and payload->>'orderId' = ${placed.id}`).length,
        { timeout: 20_000, message: 'the ORDER_CONFIRMED notification' },
      )
      .toBe(1);
    const [announced] = await orders`select count(*)::int as n from orders.outbox where published_at is not null and payload::text like ${`%${placed.id}%`}`;
    expect(announced!.n).toBeGreaterThanOrEqual(1);
  });

  it('/ready asks every database the workers use, and says down when one cluster is', async () => {
    expect(await workers.ready()).toMatchObject({ ready: true, database: 'up' });
    await inventoryCluster.stop();
    try {
      // Inventory's database is not one the workers touch (inventory is reached over HTTP); orders' is.
      expect(await workers.ready()).toMatchObject({ ready: true, database: 'up' });
      await ordersCluster.stop();
      expect(await workers.ready()).toMatchObject({ ready: false, database: 'down', down: ['postgresql'] });
    } finally {
      await ordersCluster.start();
      await inventoryCluster.start();
    }
    await expect.poll(async () => (await workers.ready()).ready, { timeout: 15_000, message: 'the workers ready again' }).toBe(true);
  });
});
