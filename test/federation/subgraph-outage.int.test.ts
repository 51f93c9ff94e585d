/**
 * One subgraph frozen for real (its own process, SIGSTOP) behind a real gateway:
 * the gateway answers the rest of the query within SUBGRAPH_TIMEOUT_MS, then at
 * once while the subgraph's breaker is open, reports it on /ready and /metrics,
 * and recovers by itself after SIGCONT.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { gql } from '../support/graphql.ts';
import { createProduct, createUser, placeOrder } from '../support/orders.ts';
import { startGateway, startStack, type Stack, type TestGateway } from '../support/stack.ts';
import { spawnSubgraph, type ServiceProcess } from '../support/processes.ts';
import { metric } from '../support/metrics.ts';

const TIMEOUT_MS = 800;
const RESET_MS = 1500;

let stack: Stack;
let orders: ServiceProcess;
let gateway: TestGateway;

beforeAll(async () => {
  stack = await startStack('subgraph_outage', { env: { EVENT_REGISTRY_URL: '' } });
  // The stack's identity provider and service key, so the process verifies the same tokens.
  orders = await spawnSubgraph('orders', {
    DATABASE_URL: stack.db.url,
    NODE_ENV: 'test',
    INGEST_API_KEY: 'test-stack-ingest-key',
    SERVICE_API_KEY: stack.config.SERVICE_API_KEY,
    ...stack.identity.env,
  });
  const config = {
    ...stack.config,
    ORDERS_URL: orders.url,
    SUBGRAPH_TIMEOUT_MS: TIMEOUT_MS,
    BREAKER_VOLUME_THRESHOLD: 2,
    BREAKER_ERROR_THRESHOLD_PERCENT: 50,
    BREAKER_RESET_TIMEOUT_MS: RESET_MS,
  };
  gateway = await startGateway(config, 'outage-gateway');
}, 60_000);

afterAll(async () => {
  await gateway?.close();
  await orders?.stop();
  await stack?.close();
});

const QUERY = 'query Both($user: ID!, $order: ID!) { user(id: $user) { id name } order(id: $order) { id status } }';

/** The buyer's sign-in headers (the order is theirs). */
let buyer: Record<string, string>;

/** How many calls to orders the gateway's open breaker refused without making them. */
const rejected = () => metric(gateway.base, 'junction_gateway_subgraph_requests_total', { subgraph: 'orders', outcome: 'rejected' });

async function timed(variables: Record<string, unknown>) {
  const started = performance.now();
  const response = await gql(gateway.url, QUERY, variables, buyer);
  return { response, ms: performance.now() - started };
}

it('a frozen subgraph: partial data with SERVICE_UNAVAILABLE within the timeout, then at once from the open breaker, then recovery after SIGCONT', async () => {
  const userId = await createUser(stack.gatewayUrl);
  buyer = await stack.as(userId);
  const productId = await createProduct(stack.gatewayUrl, 10, stack.admin);
  const order = await placeOrder(stack.gatewayUrl, { userId, productId, quantity: 1 }, buyer);
  const variables = { user: userId, order: order.id };

  // The spawned orders process answers its first queries slowly while it warms up (tsx, a loaded machine):
  // wait until it answers within the timeout before freezing it, so "healthy" means healthy.
  await expect.poll(async () => (await timed(variables)).response.errors, { timeout: 30_000, interval: 200 }).toBeUndefined();
  const healthy = await timed(variables);
  expect(healthy.response.errors).toBeUndefined();
  expect(healthy.response.data).toEqual({ user: { id: userId, name: expect.any(String) }, order: { id: order.id, status: 'PENDING' } });
  expect((await fetch(`${gateway.base}/ready`)).status).toBe(200);

  orders.freeze();
  try {
    // Closed breaker: each call waits for the timeout, no longer; the users part is answered. The breaker opens once
    // half the calls in its window failed (BREAKER_ERROR_THRESHOLD_PERCENT): how many failures that takes depends on
    // how many answered calls the warm-up left in the window, so call until a failure reports it open.
    let state: unknown;
    for (let i = 0; i < 8 && state !== 'OPEN'; i++) {
      const { response, ms } = await timed(variables);
      state = response.errors?.[0]?.extensions?.circuitBreakerState;
      expect(response.status).toBe(200);
      expect(response.data).toEqual({ user: { id: userId, name: healthy.response.data.user.name }, order: null });
      expect(response.errors).toHaveLength(1);
      expect(response.errors![0]!.extensions).toMatchObject({ code: 'SERVICE_UNAVAILABLE', serviceName: 'orders', retryAfter: expect.any(Number) });
      expect(response.errors![0]!.message).toContain(`within ${TIMEOUT_MS} ms`);
      expect(ms).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
      expect(ms).toBeLessThan(TIMEOUT_MS + 1500);
    }
    expect(state).toBe('OPEN');

    // The breaker is open and answers at once, with the wait until it half-opens. "At once" is shown by its rejected
    // count (the frozen subgraph was not called), not by a wall-clock bound a loaded machine can break.
    const rejectedBefore = await rejected();
    const { response } = await timed(variables);
    expect(response.data).toEqual({ user: { id: userId, name: healthy.response.data.user.name }, order: null });
    expect(response.errors![0]!.extensions).toMatchObject({ code: 'SERVICE_UNAVAILABLE', serviceName: 'orders', circuitBreakerState: 'OPEN' });
    expect(response.errors![0]!.extensions!.retryAfter).toBeGreaterThanOrEqual(1);
    expect(response.errors![0]!.extensions!.retryAfter).toBeLessThanOrEqual(Math.ceil(RESET_MS / 1000));
    expect(await rejected()).toBe(rejectedBefore + 1);

    const ready = await fetch(`${gateway.base}/ready`);
    expect(ready.status).toBe(503);
    const readyBody = await ready.json();
    expect(readyBody.down).toEqual(['orders']);
    expect(readyBody.subgraphs).toMatchObject({ orders: 'down', users: 'up' });

    const metrics = await (await fetch(`${gateway.base}/metrics`)).text();
    expect(metrics).toMatch(/^circuit_breaker_state\{breaker="subgraph-orders"\} 2$/m);
    expect(metrics).toMatch(/^junction_gateway_subgraph_requests_total\{subgraph="orders",outcome="rejected"\} [1-9]/m);
    expect(metrics).toMatch(/^junction_gateway_subgraph_requests_total\{subgraph="orders",outcome="unavailable"\} [1-9]/m);
    expect(metrics).toMatch(/^junction_gateway_errors_total\{code="SERVICE_UNAVAILABLE"\} [1-9]/m);
    expect(metrics).toMatch(/^junction_gateway_requests_total\{operation_type="query",operation="Both"\} [1-9]/m);
    expect(metrics).toMatch(/^junction_gateway_request_duration_seconds_count\{operation_type="query",operation="Both"\} [1-9]/m);
  } finally {
    orders.resume();
  }

  // Once the breaker half-opens, its trial call reaches the resumed subgraph and closes it again.
  await expect.poll(async () => (await timed(variables)).response.errors, { timeout: RESET_MS + 10_000, interval: 200 }).toBeUndefined();
  const recovered = await timed(variables);
  expect(recovered.response.errors).toBeUndefined();
  expect(recovered.response.data).toEqual(healthy.response.data);
  expect((await fetch(`${gateway.base}/ready`)).status).toBe(200);
  expect(await (await fetch(`${gateway.base}/metrics`)).text()).toMatch(/^circuit_breaker_state\{breaker="subgraph-orders"\} 0$/m);
}, 60_000);
