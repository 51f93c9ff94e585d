import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthenticator } from '../../common/auth.ts';
import { createLogger } from '../../common/logger.ts';
import { startWorkers, type RunningWorkers } from '../../workers/index.ts';
import { createWorkersApp, type WorkersApp } from '../../workers/http.ts';
import { listen, type Listening } from '../../common/http.ts';
import { SUBGRAPHS } from '../../subgraphs/index.ts';
import { gql } from '../support/graphql.ts';
import { fastOrderEnv } from '../support/orders.ts';
import { startStack, type Stack } from '../support/stack.ts';
import { sample } from '../support/metrics.ts';

const env = { ...fastOrderEnv('metrics'), EVENT_REGISTRY_URL: '', ENRICHMENT_URL: 'http://127.0.0.1:9' };
let stack: Stack;
let workers: RunningWorkers;
let web: WorkersApp;
let webHttp: Listening;

beforeAll(async () => {
  stack = await startStack('metrics', { env });
  workers = await startWorkers(stack.config, createLogger('workers', 'silent'));
  web = createWorkersApp({
    queues: workers.queues.all(),
    logger: createLogger('workers', 'silent'),
    health: workers.health,
    ready: () => workers.ready(),
    auth: createAuthenticator(stack.config),
  });
  webHttp = await listen(web.app, 0);
});

afterAll(async () => {
  web?.close();
  await webHttp?.close();
  await workers?.close();
  await stack?.close();
});

const scrape = async (base: string) => {
  const response = await fetch(`${base}/metrics`);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toContain('text/plain');
  return response.text();
};
const baseOf = (graphqlUrl: string) => graphqlUrl.replace(/\/graphql$/, '');

/** Prometheus naming: snake_case names, counters end in _total, histograms and summaries carry a base unit. */
function namingProblems(text: string): string[] {
  const problems: string[] = [];
  for (const [, name, type] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    if (!/^[a-z_][a-z0-9_]*$/.test(name!)) problems.push(`${name}: not snake_case`);
    if (type === 'counter' && !name!.endsWith('_total')) problems.push(`${name}: a counter without _total`);
    if ((type === 'histogram' || type === 'summary') && !/_(seconds|bytes)$/.test(name!)) problems.push(`${name}: a ${type} without a base unit`);
  }
  return problems;
}

describe('/metrics on the gateway, every subgraph and the workers', () => {
  it('counts requests, errors by code and latency by operation, and shows the breakers', async () => {
    const dashboard = `query Dashboard { users(first: 5) { nodes { name enrichment { status } events { name } orders { id } notifications { id } } } products(first: 1) { totalCount } }`;
    await gql(stack.gatewayUrl, 'mutation Signup($input: CreateUserInput!) { createUser(input: $input) { id } }', {
      input: { name: 'Metrics', email: 'metrics@example.com' },
    });
    // As an admin: users is admin-only, and enrichment, orders and notifications are each user's own.
    expect((await gql(stack.gatewayUrl, dashboard, {}, stack.admin)).errors).toBeUndefined();
    const bad = await gql(stack.gatewayUrl, 'mutation BadSignup { createUser(input: { name: "x", email: "not-an-email" }) { id } }');
    expect(bad.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');

    for (const { name } of SUBGRAPHS) {
      const text = await scrape(baseOf(stack.urls[name]!));
      expect(namingProblems(text)).toEqual([]);
      // Every subgraph answered a fetch of the Dashboard query (the gateway names it after the client's operation).
      expect(text).toMatch(
        new RegExp(`^junction_subgraph_requests_total\\{subgraph="${name}",operation_type="query",operation="Dashboard[^"]*"\\} [1-9]`, 'm'),
      );
      expect(
        sample(text, 'junction_subgraph_request_duration_seconds_count', { subgraph: name, operation_type: 'query', operation: /^Dashboard/ }),
      ).toBeGreaterThan(0);
      expect(text).toContain('process_cpu_user_seconds_total');
    }
    const users = await scrape(baseOf(stack.urls.users!));
    expect(sample(users, 'junction_subgraph_errors_total', { subgraph: 'users', code: 'BAD_USER_INPUT' })).toBeGreaterThanOrEqual(1);
    expect(users).toMatch(/^junction_subgraph_requests_total\{subgraph="users",operation_type="mutation",operation="BadSignup[^"]*"\} 1$/m);
    // The enrichment partner is unreachable: its breaker counted the failure and shows its state.
    expect(sample(users, 'circuit_breaker_state', { breaker: 'enrichment' })).toBeDefined();
    expect(sample(users, 'circuit_breaker_failures_total', { breaker: 'enrichment' })).toBeGreaterThan(0);

    const gateway = await scrape(stack.gatewayBase);
    expect(namingProblems(gateway)).toEqual([]);
    expect(sample(gateway, 'junction_gateway_requests_total', { operation_type: 'query', operation: 'Dashboard' })).toBeGreaterThanOrEqual(1);

    const workersText = await scrape(webHttp.url);
    expect(namingProblems(workersText)).toEqual([]);
    expect(workersText).toContain(`junction_queue_jobs{prefix="${env.QUEUE_PREFIX}",queue="orders",state="waiting"}`);
    expect(workersText).toContain('circuit_breaker_state{breaker="notify"}');
  });
});
