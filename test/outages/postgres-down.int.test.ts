import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createLogger } from '../../common/logger.ts';
import { ordersQueue } from '../../subgraphs/orders/module.ts';
import { startWorkers, type RunningWorkers } from '../../workers/index.ts';
import { gql, type GraphQLResponse } from '../support/graphql.ts';
import { expectInvariants } from '../support/invariants.ts';
import { accept, startTestProvider, type TestProvider } from '../support/notify-provider.ts';
import { createProduct, createUser, dropQueues, fastOrderEnv, ordersSettled, placeOrder, waitForTerminal } from '../support/orders.ts';
import { PrivatePostgres } from '../support/postgres.ts';
import { startStack, type Stack } from '../support/stack.ts';

// A PostgreSQL cluster of this file's own, stopped and started again; the shared one is never touched.
const KEY = 'pg-down-ingest-key';
// Breakers (inventory answers SERVICE_UNAVAILABLE too while its database is down) half-open after 1.5 s.
const env = { ...fastOrderEnv('pg-down'), INGEST_API_KEY: KEY, NOTIFY_RETRY_DELAYS_MS: '100,100,100', BREAKER_RESET_TIMEOUT_MS: '1500' };
let pg: PrivatePostgres;
let provider: TestProvider;
let stack: Stack;
let workers: RunningWorkers;

beforeAll(async () => {
  pg = await PrivatePostgres.start();
  provider = await startTestProvider(accept);
  stack = await startStack('pg_down', { adminUrl: pg.adminUrl, env: { ...env, NOTIFY_URL: provider.url } });
  workers = await startWorkers(stack.config, createLogger('workers', process.env.LOG_LEVEL ?? 'silent'));
});

afterAll(async () => {
  await workers?.close();
  await stack?.close().catch(() => {});
  await dropQueues(stack.config.REDIS_URL, env.QUEUE_PREFIX);
  await provider?.close();
  await pg?.destroy();
});

/** One operation per service that needs its database, straight to the subgraph and through the gateway. */
function probes(userId: string, productId: string, buyer: Record<string, string>): Record<string, () => Promise<GraphQLResponse>> {
  const { urls, gatewayUrl } = stack;
  return {
    users: () => gql(urls.users!, `query($id: ID!) { user(id: $id) { id name } }`, { id: userId }),
    events: () => gql(urls.events!, `{ events(first: 1) { nodes { id } } }`),
    inventory: () => gql(urls.inventory!, `query($id: ID!) { product(id: $id) { id stock } }`, { id: productId }),
    orders: () =>
      gql(
        urls.orders!,
        `mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { id } }`,
        { input: { userId, productId, quantity: 1, idempotencyKey: randomUUID() } },
        buyer,
      ),
    notifications: () =>
      gql(
        urls.notifications!,
        `mutation($input: IngestEventInput!) { ingestEvent(input: $input) { eventId } }`,
        { input: { eventId: `evt-${randomUUID()}`, eventType: 'order_shipped', timestamp: new Date().toISOString(), payload: { userId } } },
        { 'x-api-key': KEY },
      ),
    gateway: () =>
      gql(gatewayUrl, `mutation($input: CreateUserInput!) { createUser(input: $input) { id } }`, {
        input: { name: 'During', email: `during-${randomUUID()}@example.com` },
      }),
  };
}

it('while PostgreSQL is down every service answers SERVICE_UNAVAILABLE and /ready is 503; after it returns everything carries on and every order accepted before ends CONFIRMED once', async () => {
  const userId = await createUser(stack.gatewayUrl);
  const buyer = await stack.as(userId);
  const productId = await createProduct(stack.gatewayUrl, 50, stack.admin);
  const placed = await Promise.all(Array.from({ length: 10 }, () => placeOrder(stack.gatewayUrl, { userId, productId, quantity: 1 }, buyer)));
  const ids = placed.map((o) => o.id);

  // Stopped mid-load: the relay and the workers are busy with these orders.
  await pg.stop();
  const down = Date.now();
  for (const [service, probe] of Object.entries(probes(userId, productId, buyer))) {
    const res = await probe();
    expect(res.errors?.[0]?.extensions, service).toMatchObject({ code: 'SERVICE_UNAVAILABLE', retryAfter: expect.any(Number) });
    expect(res.data?.createUser ?? res.data?.placeOrder ?? res.data?.ingestEvent ?? null, service).toBeNull();
  }
  for (const url of [...Object.values(stack.urls).map((u) => u!.replace(/\/graphql$/, '/ready')), `${stack.gatewayBase}/ready`]) {
    expect((await fetch(url)).status, url).toBe(503);
  }
  // Down longer than every order retry delay together (0.3 s) and the workers' job lock (time passes on purpose).
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, 3000 - (Date.now() - down))));
  await pg.start();
  const back = Date.now();

  await expect.poll(async () => (await fetch(`${stack.gatewayBase}/ready`)).status, { timeout: 15_000, message: 'the gateway to be ready again' }).toBe(200);
  const ready = Date.now() - back;
  for (const [service, probe] of Object.entries(probes(userId, productId, buyer))) {
    const res = await probe();
    expect(res.errors, service).toBeUndefined();
  }
  const after = await placeOrder(stack.gatewayUrl, { userId, productId, quantity: 1 }, buyer);
  const rows = await waitForTerminal(stack.db.sql, [...ids, after.id], 30_000);
  console.info(`PostgreSQL back: gateway ready after ${ready} ms, every order terminal after ${Date.now() - back} ms`);
  expect(rows.map((r) => r.status)).toEqual(Array(11).fill('CONFIRMED'));
  await expectInvariants(stack.db.sql, { settled: ordersSettled(stack.db.sql, workers.queues.get(ordersQueue.name)) });

  // Every CONFIRMED order (the probe's too) has its ORDER_CONFIRMED notification delivered once.
  const [{ n: confirmedOrders }] = (await stack.db.sql`select count(*)::int as n from orders.orders where status = 'CONFIRMED'`) as unknown as [{ n: number }];
  expect(confirmedOrders).toBe(12);
  await expect
    .poll(
      async () => (await stack.db.sql`select count(*)::int as n from notifications.notifications where type = 'ORDER_CONFIRMED' and status = 'SENT'`)[0]!.n,
      { timeout: 20_000, message: `${confirmedOrders} ORDER_CONFIRMED notifications SENT` },
    )
    .toBe(confirmedOrders);
  const confirmed = await stack.db.sql`select event_id from notifications.notifications where type = 'ORDER_CONFIRMED'`;
  expect(confirmed).toHaveLength(confirmedOrders);
  // Delivered once each. A send the provider accepted just as PostgreSQL stopped cannot be recorded SENT, so it is sent
  // again once the database is back, with the same Idempotency-Key: the provider answers that as a replay, not a delivery.
  for (const { event_id } of confirmed) {
    const accepted = provider.requests.filter((r) => r.key === event_id && r.status < 300);
    expect(
      accepted.filter((r) => !r.replay),
      event_id,
    ).toHaveLength(1);
    expect(accepted.length, event_id).toBeLessThanOrEqual(2);
  }
});
