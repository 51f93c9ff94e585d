import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { composeServices } from '@apollo/composition';
import { ApolloServer } from '@apollo/server';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { expressMiddleware } from '@as-integrations/express5';
import express from 'express';
import { parse } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../scripts/settings.ts';
import { listen } from '../../common/http.ts';
import { createLogger } from '../../common/logger.ts';
import { createGateway } from '../../gateway/server.ts';
import { readSupergraphConfig, SUPERGRAPH_FILE } from '../../scripts/compose.ts';
import { SUBGRAPHS } from '../../subgraphs/index.ts';
import { signedIn } from '../support/graphql.ts';
import { startStack, type Stack } from '../support/stack.ts';
import { startRecordingProxy } from '../support/recording-proxy.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

let stack: Stack;
// Signed in as the stack's admin unless a call sends its own Authorization.
const { gql, gqlData } = signedIn(() => stack.admin);
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  // No event registry: addEvent stores at once.
  stack = await startStack('gateway', { env: { EVENT_REGISTRY_URL: '' } });
});

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  await stack?.close();
});

/** A second real gateway over the stack's subgraphs, with some settings changed. */
async function gatewayWith(overrides: Partial<Config>) {
  const gateway = await createGateway({ config: { ...stack.config, ...overrides }, logger: createLogger('gateway-test', 'silent') });
  const http = await listen(gateway.app, 0);
  cleanups.push(async () => {
    await http.close();
    await gateway.close();
  });
  return { base: http.url, url: `${http.url}/graphql` };
}

async function createUser(name: string, email: string): Promise<string> {
  const data = await gqlData(stack.gatewayUrl, 'mutation($input: CreateUserInput!) { createUser(input: $input) { id } }', { input: { name, email } });
  return data.createUser.id;
}

describe('health and readiness', () => {
  it('GET /health answers 200 while the gateway serves', async () => {
    const response = await fetch(`${stack.gatewayBase}/health`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ status: 'ok' });
  });

  it('GET /ready answers 200 with every subgraph up', async () => {
    const response = await fetch(`${stack.gatewayBase}/ready`);
    expect(response.status).toBe(200);
    const body = await response.json();
    expect(body).toEqual({ status: 'ready', subgraphs: Object.fromEntries(readSupergraphConfig().map(({ name }) => [name, 'up'])) });
    expect(body.subgraphs).toMatchObject({ users: 'up', events: 'up', inventory: 'up', orders: 'up' });
  });

  it('GET /ready answers 503 naming a subgraph that stopped, and queries to it fail with SERVICE_UNAVAILABLE', async () => {
    const events = await startRecordingProxy(new URL(stack.urls.events!).origin);
    const gateway = await gatewayWith({ EVENTS_URL: `${events.url}/graphql` });
    expect((await fetch(`${gateway.base}/ready`)).status).toBe(200);

    await events.close();
    const response = await fetch(`${gateway.base}/ready`);
    expect(response.status).toBe(503);
    const body = await response.json();
    expect(body.status).toBe('unavailable');
    expect(body.down).toEqual(['events']);
    expect(body.subgraphs).toMatchObject({ events: 'down', users: 'up', inventory: 'up', orders: 'up' });

    const query = await gql(gateway.url, '{ events(first: 1) { totalCount } }');
    expect(query.status).toBe(200);
    expect(query.errors?.[0]?.extensions).toMatchObject({ code: 'SERVICE_UNAVAILABLE', serviceName: 'events', retryAfter: expect.any(Number) });
    // The rest of the graph still answers.
    expect((await gql(gateway.url, '{ users(first: 1) { totalCount } }')).errors).toBeUndefined();
  });

  it('GET /ready does not wait on a subgraph that hangs: it is down after a short timeout', async () => {
    const pending: ServerResponse[] = [];
    const hanging = await listen((_req: IncomingMessage, res: ServerResponse) => void pending.push(res), 0);
    cleanups.push(async () => {
      for (const res of pending) res.destroy();
      await hanging.close();
    });
    const gateway = await gatewayWith({ INVENTORY_URL: `${hanging.url}/graphql` });

    const started = Date.now();
    const response = await fetch(`${gateway.base}/ready`);
    expect(response.status).toBe(503);
    expect((await response.json()).down).toEqual(['inventory']);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(pending.length).toBeGreaterThan(0);
  });
});

describe('request ids', () => {
  it('echoes X-Request-ID and X-Correlation-ID and passes them to every subgraph call', async () => {
    const users = await startRecordingProxy(new URL(stack.urls.users!).origin);
    cleanups.push(() => users.close());
    const gateway = await gatewayWith({ USERS_URL: `${users.url}/graphql` });

    const response = await gql(gateway.url, '{ users(first: 1) { totalCount } }', {}, { 'X-Request-ID': 'req-4711', 'X-Correlation-ID': 'journey-42' });
    expect(response.errors).toBeUndefined();
    expect(response.headers.get('x-request-id')).toBe('req-4711');
    expect(response.headers.get('x-correlation-id')).toBe('journey-42');

    const call = users.exchanges.find((e) => e.path === '/graphql');
    expect(call?.requestHeaders['x-request-id']).toBe('req-4711');
    expect(call?.requestHeaders['x-correlation-id']).toBe('journey-42');
    // The users subgraph read them: it echoes the ids it took for the request.
    expect(call?.responseHeaders['x-request-id']).toBe('req-4711');
    expect(call?.responseHeaders['x-correlation-id']).toBe('journey-42');
  });

  it('generates a request id when the client sends none, and subgraphs get that one', async () => {
    const users = await startRecordingProxy(new URL(stack.urls.users!).origin);
    cleanups.push(() => users.close());
    const gateway = await gatewayWith({ USERS_URL: `${users.url}/graphql` });

    const response = await gql(gateway.url, '{ users(first: 1) { totalCount } }');
    const requestId = response.headers.get('x-request-id');
    expect(requestId).toMatch(UUID);
    const call = users.exchanges.find((e) => e.path === '/graphql');
    expect(call?.requestHeaders['x-request-id']).toBe(requestId);
  });
});

describe('malformed requests get a 4xx, never a 5xx', () => {
  const post = (body: string, contentType = 'application/json') => fetch(stack.gatewayUrl, { method: 'POST', headers: { 'content-type': contentType }, body });

  it.each([
    ['invalid JSON', () => post('{"query": ')],
    ['JSON null', () => post('null')],
    ['no query', () => post('{}')],
    ['a query that is not a string', () => post('{"query": 42}')],
    ['a batch (batching is off)', () => post('[{"query": "{ __typename }"}]')],
    ['a syntax error', () => post('{"query": "{ users { "}')],
    ['an unknown field', () => post('{"query": "{ nope }"}')],
    ['a variable of the wrong type', () => post('{"query": "query($id: ID!) { user(id: $id) { id } }", "variables": {"id": {"a": 1}}}')],
    ['text/plain (CSRF protection)', () => post('{"query": "{ __typename }"}', 'text/plain')],
    ['application/xml', () => post('<query/>', 'application/xml')],
    ['a body over 1 MB', () => post(JSON.stringify({ query: `{ __typename } # ${'x'.repeat(1_100_000)}` }))],
    ['GET without a query', () => fetch(stack.gatewayUrl, { headers: { 'apollo-require-preflight': 'true' } })],
    [
      'GET with a mutation',
      () => fetch(`${stack.gatewayUrl}?query=${encodeURIComponent('mutation { deleteUser(id: "x") }')}`, { headers: { 'apollo-require-preflight': 'true' } }),
    ],
    ['PUT', () => fetch(stack.gatewayUrl, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{}' })],
  ])('%s', async (_name, send) => {
    const response = await send();
    expect(response.status).toBeGreaterThanOrEqual(400);
    expect(response.status).toBeLessThan(500);
    const body = await response.json();
    expect(body.errors?.[0]?.extensions?.code).toEqual(expect.any(String));
  });

  it('a DateTime the subgraph cannot parse is BAD_USER_INPUT, not an internal error', async () => {
    const userId = await createUser('Dee Tee', 'dee.tee@example.com');
    const response = await gql(stack.gatewayUrl, 'mutation($input: AddEventInput!) { addEvent(input: $input) { id } }', {
      input: { name: 'Bad date', userId, startsAt: 'next tuesday' },
    });
    expect(response.status).toBe(200);
    expect(response.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', serviceName: 'events' });
  });
});

describe('queries across subgraphs', () => {
  let userId: string;
  let eventId: string;
  let orderId: string;

  beforeAll(async () => {
    userId = await createUser('Ada Lovelace', 'ada@example.com');
    const event = await gqlData(stack.gatewayUrl, 'mutation($input: AddEventInput!) { addEvent(input: $input) { id } }', {
      input: { name: 'Analytical Engine demo', userId, startsAt: '2030-01-01T10:00:00.000Z' },
    });
    eventId = event.addEvent.id;
    await gqlData(stack.gatewayUrl, 'mutation { createProduct(input: { id: "ENGINE-1", name: "Difference engine", priceCents: 990, stock: 3 }) { id } }');
    const order = await gqlData(stack.gatewayUrl, 'mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { id status } }', {
      input: { userId, productId: 'ENGINE-1', quantity: 1 },
    });
    orderId = order.placeOrder.id;
  });

  it('resolves users → events → organizer and orders → product and user in one request', async () => {
    const data = await gqlData(
      stack.gatewayUrl,
      `query($id: ID!) {
        user(id: $id) {
          name
          events { name organizer { name email } }
          orders { status product { name priceCents } user { name } }
        }
      }`,
      { id: userId },
    );
    expect(data.user).toEqual({
      name: 'Ada Lovelace',
      events: [{ name: 'Analytical Engine demo', organizer: { name: 'Ada Lovelace', email: 'ada@example.com' } }],
      orders: [{ status: 'PENDING', product: { name: 'Difference engine', priceCents: 990 }, user: { name: 'Ada Lovelace' } }],
    });
  });

  it('error codes from subgraphs arrive through the gateway with the subgraph named', async () => {
    const invalid = await gql(stack.gatewayUrl, 'mutation { createUser(input: { name: "X", email: "not-an-email" }) { id } }');
    expect(invalid.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.email', serviceName: 'users' });

    const duplicate = await gql(stack.gatewayUrl, 'mutation { createUser(input: { name: "Ada again", email: "ADA@example.com" }) { id } }');
    expect(duplicate.errors?.[0]?.extensions).toMatchObject({ code: 'CONFLICT', serviceName: 'users' });

    const missing = await gql(stack.gatewayUrl, 'mutation { updateUser(id: "00000000-0000-4000-8000-000000000000", input: { name: "Y" }) { id } }');
    expect(missing.errors?.[0]?.extensions).toMatchObject({ code: 'NOT_FOUND', serviceName: 'users' });

    const page = await gql(stack.gatewayUrl, '{ products(first: 0) { totalCount } }');
    expect(page.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'first', serviceName: 'inventory' });
  });

  it('after deleteUser, Event.organizer and Order.user are null, without errors', async () => {
    expect(await gqlData(stack.gatewayUrl, 'mutation($id: ID!) { deleteUser(id: $id) }', { id: userId })).toEqual({ deleteUser: true });

    const response = await gql(
      stack.gatewayUrl,
      `query($event: ID!, $order: ID!, $user: ID!) {
        user(id: $user) { id }
        event(id: $event) { name organizer { id name } }
        order(id: $order) { quantity user { id email } product { id name } }
      }`,
      { event: eventId, order: orderId, user: userId },
    );
    expect(response.errors).toBeUndefined();
    // The users subgraph answers null itself (@requires), so the gateway adds no valueCompletion note.
    expect(response.extensions).toBeUndefined();
    expect(response.data).toEqual({
      user: null,
      event: { name: 'Analytical Engine demo', organizer: null },
      order: { quantity: 1, user: null, product: { id: 'ENGINE-1', name: 'Difference engine' } },
    });
  });

  // A key-only selection would be answered by events/orders alone if they held the
  // reference; users owns Event.organizer and Order.user (@requires), so it is asked.
  it('after deleteUser, Event.organizer { id } and Order.user { id } alone are null too', async () => {
    const response = await gql(stack.gatewayUrl, 'query($e: ID!, $o: ID!) { event(id: $e) { organizer { id } } order(id: $o) { user { id } } }', {
      e: eventId,
      o: orderId,
    });
    expect(response.errors).toBeUndefined();
    expect(response.data).toEqual({ event: { organizer: null }, order: { user: null } });
  });
});

describe('supergraph file', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'supergraph-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is reloaded when it changes; an invalid version is ignored and the last good one served', async () => {
    // A smaller supergraph first: users with the subgraphs whose entities it refers to, no inventory.
    const smaller = composeServices(
      ['users', 'events', 'orders', 'notifications'].map((name) => ({
        name,
        url: `http://127.0.0.1:4000/${name}`,
        typeDefs: parse(readFileSync(`subgraphs/${name}/schema.graphql`, 'utf8')),
      })),
    );
    if (smaller.errors) throw smaller.errors[0];
    const path = join(dir, 'supergraph.graphql');
    writeFileSync(path, smaller.supergraphSdl);
    const gateway = await gatewayWith({ SUPERGRAPH_PATH: path });

    const before = await gql(gateway.url, '{ products(first: 1) { totalCount } }');
    expect(before.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(await (await fetch(`${gateway.base}/ready`)).json()).toEqual({
      status: 'ready',
      subgraphs: { users: 'up', events: 'up', orders: 'up', notifications: 'up' },
    });

    writeFileSync(path, readFileSync(SUPERGRAPH_FILE, 'utf8'));
    await expect
      .poll(async () => (await gql(gateway.url, '{ products(first: 1) { totalCount } }')).errors, { timeout: 5000, message: 'the full supergraph served' })
      .toBeUndefined();
    expect((await (await fetch(`${gateway.base}/ready`)).json()).subgraphs).toMatchObject({ users: 'up', events: 'up', orders: 'up', inventory: 'up' });

    writeFileSync(path, 'this is not a supergraph');
    // Time passes on purpose: the gateway sees the bad file within it, and must go on serving the last good one.
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect((await gql(gateway.url, '{ products(first: 1) { totalCount } }')).errors).toBeUndefined();
  });

  it('a relative SUPERGRAPH_PATH is resolved against the project root, not the working directory', async () => {
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      const gateway = await gatewayWith({ SUPERGRAPH_PATH: 'supergraph.graphql' });
      expect((await gql(gateway.url, '{ orders(first: 1) { totalCount } }')).errors).toBeUndefined();
    } finally {
      process.chdir(cwd);
    }
  });

  it('serves a subgraph that no *_URL setting names at its routing URL from the supergraph', async () => {
    // Another team's subgraph: a plain @apollo/subgraph server on a free port.
    const extraSdl = parse(`
      extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])
      type Query { extraGreeting(name: String!): String! }
    `);
    const extra = new ApolloServer({
      schema: buildSubgraphSchema({ typeDefs: extraSdl, resolvers: { Query: { extraGreeting: (_: unknown, { name }: { name: string }) => `hello ${name}` } } }),
    });
    await extra.start();
    const app = express();
    app.use('/graphql', express.json(), expressMiddleware(extra));
    const server = await listen(app, 0);
    cleanups.push(async () => {
      await server.close();
      await extra.stop();
    });

    const composed = composeServices([
      ...SUBGRAPHS.map((subgraph) => ({
        name: subgraph.name,
        url: `http://127.0.0.1:1/${subgraph.name}`,
        typeDefs: parse(readFileSync(subgraph.schemaFile, 'utf8')),
      })),
      { name: 'greetings', url: `${server.url}/graphql`, typeDefs: extraSdl },
    ]);
    if (composed.errors) throw composed.errors[0];
    const path = join(dir, 'with-extra.graphql');
    writeFileSync(path, composed.supergraphSdl);
    const gateway = await gatewayWith({ SUPERGRAPH_PATH: path });

    const response = await gql(gateway.url, '{ extraGreeting(name: "Junction") users(first: 1) { totalCount } }');
    expect(response.errors).toBeUndefined();
    // The known subgraphs are still called at their settings' URLs (the routing URLs above go nowhere).
    expect(response.data).toEqual({ extraGreeting: 'hello Junction', users: { totalCount: expect.any(Number) } });
    expect((await (await fetch(`${gateway.base}/ready`)).json()).subgraphs).toMatchObject({ greetings: 'up', users: 'up' });
  });
});

describe('production mode', () => {
  it('has no landing page and no introspection', async () => {
    const gateway = await gatewayWith({ NODE_ENV: 'production', production: true });
    const page = await fetch(gateway.url, { headers: { accept: 'text/html' } });
    expect(await page.text()).not.toContain('<html');
    expect(page.status).toBeLessThan(500);

    const introspection = await gql(gateway.url, '{ __schema { types { name } } }');
    expect(introspection.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
  });

  it('outside production, the landing page is Apollo Sandbox', async () => {
    const page = await fetch(stack.gatewayUrl, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('embeddable-sandbox');
  });
});
