/**
 * The gateway's per-subgraph breaker backs off like every breaker: a real
 * gateway in front of an "orders subgraph" that is a real HTTP server
 * answering 503 on purpose. Each failed half-open trial doubles the wait
 * (with jitter) up to BREAKER_MAX_RESET_TIMEOUT_MS; retryAfter and /metrics
 * report the wait in force; an answer brings it back to BREAKER_RESET_TIMEOUT_MS.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { parseConfig } from '../../scripts/settings.ts';
import { readBreaker, untilBreaker } from '../support/breaker.ts';
import { gql, type GraphQLResponse } from '../support/graphql.ts';
import { startTestIdentity, type TestIdentity } from '../support/identity.ts';
import { startScriptedPartner, type ScriptedPartner } from '../support/partner-server.ts';
import { startGateway, type TestGateway } from '../support/stack.ts';

let identity: TestIdentity;
let orders: ScriptedPartner;
let gateway: TestGateway;

beforeAll(async () => {
  identity = await startTestIdentity();
  orders = await startScriptedPartner();
  const config = parseConfig({
    ...identity.env,
    NODE_ENV: 'test',
    ORDERS_URL: `${orders.url}/graphql`,
    RATE_LIMIT_PER_MINUTE: '0',
    SUBGRAPH_TIMEOUT_MS: '5000',
    BREAKER_VOLUME_THRESHOLD: '1',
    BREAKER_RESET_TIMEOUT_MS: '1000',
    BREAKER_MAX_RESET_TIMEOUT_MS: '4000',
  });
  gateway = await startGateway(config, 'backoff-gateway');
});

afterAll(async () => {
  await gateway?.close();
  await orders?.close();
  await identity?.close();
});

const QUERY = 'query One($id: ID!) { order(id: $id) { id status } }';
const ask = () => gql(gateway.url, QUERY, { id: '00000000-0000-4000-8000-000000000001' });

function retryAfterOf(response: GraphQLResponse): number {
  expect(response.errors?.[0]?.extensions).toMatchObject({ code: 'SERVICE_UNAVAILABLE', serviceName: 'orders', circuitBreakerState: 'OPEN' });
  return response.errors![0]!.extensions!.retryAfter as number;
}

it("backs off a subgraph that stays down: each failed trial doubles the breaker's wait, in retryAfter and on /metrics, until the subgraph answers", async () => {
  const metrics = `${gateway.base}/metrics`;
  orders.answer({ status: 503, json: { errors: [{ message: 'down' }] } });

  retryAfterOf(await ask()); // the failure that opens it
  expect(await readBreaker(metrics, 'subgraph-orders')).toEqual({ state: 2, waitMs: 1000, failedTrials: 0 });
  const retryAfters = [retryAfterOf(await ask())];
  expect(orders.calls).toHaveLength(1); // answered by the open breaker
  expect(retryAfters[0]).toBe(1);

  for (let trial = 1; trial <= 2; trial++) {
    await untilBreaker(metrics, 'subgraph-orders', 1, 20_000);
    // The trial call, answered 503: the response already carries the doubled wait.
    retryAfters.push(retryAfterOf(await ask()));
    expect(orders.calls).toHaveLength(1 + trial);
    const reading = await readBreaker(metrics, 'subgraph-orders');
    const nominal = 1000 * 2 ** trial;
    expect(reading).toMatchObject({ state: 2, failedTrials: trial });
    expect(reading.waitMs).toBeGreaterThanOrEqual(nominal * 0.8);
    expect(reading.waitMs).toBeLessThanOrEqual(nominal);
    expect(retryAfters[trial]).toBeLessThanOrEqual(Math.ceil(reading.waitMs / 1000));
    expect(retryAfters[trial]).toBeGreaterThan(retryAfters[trial - 1]!);
    // Until it half-opens again, the subgraph is not called.
    retryAfterOf(await ask());
    expect(orders.calls).toHaveLength(1 + trial);
  }

  orders.answer({ status: 200, json: { data: { order: null } } });
  await untilBreaker(metrics, 'subgraph-orders', 1, 20_000);
  const answered = await ask();
  expect(answered.errors).toBeUndefined();
  expect(answered.data).toEqual({ order: null });
  expect(await readBreaker(metrics, 'subgraph-orders')).toEqual({ state: 0, waitMs: 1000, failedTrials: 0 });
});
