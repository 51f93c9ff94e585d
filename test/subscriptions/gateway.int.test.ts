import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { request } from 'node:http';
import { once } from 'node:events';
import { join } from 'node:path';
import { composeServices } from '@apollo/composition';
import { parse } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SUPERGRAPH_FILE } from '../../scripts/compose.ts';
import { createProduct, createUser, placeOrder } from '../support/orders.ts';
import { startOrders, workerTransitions } from '../support/orders-subscriptions.ts';
import { gql, gqlData } from '../support/graphql.ts';
import { startGateway, startStack, type Stack, type TestGateway } from '../support/stack.ts';
import {
  MultipartSubscription,
  SseSubscription,
  wsClient,
  WsSubscription,
  type Operation,
  type Received,
  type StreamResult,
} from '../support/subscriptions.ts';
import { metric as readMetric } from '../support/metrics.ts';

/**
 * Subscriptions through the gateway (docs/api/subscriptions.md, "Through the
 * gateway"): graphql-ws, GraphQL over SSE and Apollo's multipart HTTP, each
 * against the real orders subgraph (which owns the Subscription fields) with
 * Product.name resolved by inventory per event. Transitions are made as the
 * workers make them (OrderProcessing, on the stack's database) and by
 * cancelOrder through the gateway, so each one is seen in turn.
 */
const PER_VIEWER = 3;
let stack: Stack;
let transitions: ReturnType<typeof workerTransitions>;
let productId: string;
let productName: string;
let alice: string;
let bob: string;

beforeAll(async () => {
  stack = await startStack('subs_gateway', { env: { SUBSCRIPTION_HEARTBEAT_MS: '300', SUBSCRIPTIONS_PER_VIEWER: String(PER_VIEWER) } });
  transitions = workerTransitions(stack.db.db);
  productId = await createProduct(stack.gatewayUrl, 100, stack.admin);
  productName = `Product ${productId}`;
  alice = await createUser(stack.gatewayUrl);
  bob = await createUser(stack.gatewayUrl);
});

afterAll(async () => {
  await stack?.close();
});

type Protocol = 'ws' | 'sse' | 'multipart';
type Stream = Received & { close(): void };

/** A subscription through the gateway at `url` over `protocol`; `headers`: the Authorization (graphql-ws: as connectionParams). */
async function subscribe(protocol: Protocol, operation: Operation, headers: Record<string, string>, url = stack.gatewayUrl): Promise<Stream> {
  if (protocol === 'ws') return new WsSubscription(wsClient(url, headers.authorization ? { authorization: headers.authorization } : {}), operation);
  if (protocol === 'sse') {
    const stream = await SseSubscription.open(url, operation, headers);
    expect(stream.contentType).toContain('text/event-stream');
    return stream;
  }
  const stream = await MultipartSubscription.open(url, operation, headers);
  expect(stream.contentType).toContain('multipart/mixed');
  return stream;
}

async function placeFor(userId: string): Promise<string> {
  return (await placeOrder(stack.gatewayUrl, { userId, productId, quantity: 1 }, await stack.as(userId))).id;
}

const ORDER_UPDATED = 'subscription Watch($id: ID!) { orderUpdated(id: $id) { id status product { id name } } }';

describe.each(['ws', 'sse', 'multipart'] as const)('orderUpdated through the gateway over %s', (protocol) => {
  it('sends the order now, then each change PENDING → PROCESSING → CONFIRMED → CANCELLED, with the product inventory owns resolved per event, and completes', async () => {
    const id = await placeFor(alice);
    const me = await stack.as(alice);
    const stream = await subscribe(protocol, { query: ORDER_UPDATED, variables: { id } }, me);
    const product = { id: productId, name: productName };
    expect(await stream.next()).toEqual({ data: { orderUpdated: { id, status: 'PENDING', product } } });

    // A worker's attempt, then its result; then the buyer cancels through the gateway.
    const processing = await transitions.begin(id);
    expect(await stream.next()).toEqual({ data: { orderUpdated: { id, status: 'PROCESSING', product } } });
    expect(await transitions.processing.confirm(processing)).toBeTruthy();
    expect(await stream.next()).toEqual({ data: { orderUpdated: { id, status: 'CONFIRMED', product } } });
    const cancelled = await gqlData(stack.gatewayUrl, 'mutation($id: ID!) { cancelOrder(id: $id) { status } }', { id }, me);
    expect(cancelled.cancelOrder.status).toBe('CANCELLED');
    expect(await stream.next()).toEqual({ data: { orderUpdated: { id, status: 'CANCELLED', product } } });
    expect(await stream.ended).toEqual({ complete: true });
    expect(stream.results).toHaveLength(4);
  });

  it("answers NOT_FOUND for another user's order, sends nothing of it, and ends", async () => {
    const id = await placeFor(alice);
    const stream = await subscribe(protocol, { query: ORDER_UPDATED, variables: { id } }, await stack.as(bob));
    const event = await stream.next();
    expect(event.data?.orderUpdated ?? null).toBeNull();
    expect(event.errors?.map((e) => e.extensions?.code)).toEqual(['NOT_FOUND']);
    expect(await stream.ended).toEqual({ complete: true });
    // Alice's order changes after Bob's stream ended: none of it reaches him, nor did anything before.
    await transitions.begin(id);
    const everything = JSON.stringify(stream.results);
    for (const secret of [productId, productName, alice, 'PENDING', 'PROCESSING']) expect(everything).not.toContain(secret);
    expect(stream.results).toHaveLength(1);
  });

  it('answers UNAUTHENTICATED to an anonymous subscriber and ends', async () => {
    const id = await placeFor(alice);
    const stream = await subscribe(protocol, { query: ORDER_UPDATED, variables: { id } }, {});
    const event = await stream.next();
    expect(event.data?.orderUpdated ?? null).toBeNull();
    expect(event.errors?.map((e) => e.extensions?.code)).toEqual(['UNAUTHENTICATED']);
    expect(await stream.ended).toEqual({ complete: true });
    expect(JSON.stringify(stream.results)).not.toContain(productName);
  });
});

describe('limits of subscribing through the gateway', () => {
  it(`holds each viewer to SUBSCRIPTIONS_PER_VIEWER (${PER_VIEWER}) open at once, across protocols, with RATE_LIMITED beyond it`, async () => {
    const carol = await createUser(stack.gatewayUrl);
    const id = await placeFor(carol);
    const me = await stack.as(carol);
    const operation = { query: ORDER_UPDATED, variables: { id } };
    const open: Stream[] = [];
    for (const protocol of ['ws', 'sse', 'multipart'] as const) {
      const stream = await subscribe(protocol, operation, me);
      expect((await stream.next()).data.orderUpdated.status).toBe('PENDING');
      open.push(stream);
    }
    for (const protocol of ['ws', 'sse', 'multipart'] as const) {
      const refused = await subscribe(protocol, operation, me);
      const event = await refused.next();
      expect(event.data?.orderUpdated ?? null).toBeNull();
      expect(event.errors?.map((e) => e.extensions?.code)).toEqual(['RATE_LIMITED']);
      expect(await refused.ended).toEqual({ complete: true });
    }
    // Another viewer is not held to Carol's count.
    const other = await subscribe('ws', { query: ORDER_UPDATED, variables: { id: await placeFor(bob) } }, await stack.as(bob));
    expect((await other.next()).data.orderUpdated.status).toBe('PENDING');
    other.close();
    // One of hers ends: she may open one again (the gateway learns of the close asynchronously: retried until then).
    open.shift()!.close();
    const deadline = Date.now() + 15_000;
    let again: StreamResult | undefined;
    while (Date.now() < deadline) {
      const stream = await subscribe('sse', operation, me);
      again = await stream.next();
      if (again.data?.orderUpdated) {
        open.push(stream);
        break;
      }
      expect(again.errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
      await stream.ended;
    }
    expect(again?.data?.orderUpdated?.status).toBe('PENDING');
    for (const stream of open) stream.close();
  });

  it('holds a viewer to SUBSCRIPTIONS_PER_VIEWER across gateway replicas on the same Redis, and frees a place when a stream ends', async () => {
    // A second gateway replica: the stack's settings (its Redis and QUEUE_PREFIX), the same subgraphs.
    const replica = await startGateway(stack.config, 'subs-gateway-replica');
    try {
      const dave = await createUser(stack.gatewayUrl);
      const id = await placeFor(dave);
      const me = await stack.as(dave);
      const operation = { query: ORDER_UPDATED, variables: { id } };
      const open: Stream[] = [];
      // Her places spread over both replicas: two on the stack's gateway, one on the replica.
      for (const url of [stack.gatewayUrl, replica.url, stack.gatewayUrl]) {
        const stream = await subscribe('sse', operation, me, url);
        expect((await stream.next()).data.orderUpdated.status).toBe('PENDING');
        open.push(stream);
      }
      // Each replica alone holds fewer than PER_VIEWER of hers, yet neither opens one more.
      for (const url of [replica.url, stack.gatewayUrl]) {
        const refused = await subscribe('ws', operation, me, url);
        const event = await refused.next();
        expect(event.errors?.map((e) => e.extensions?.code)).toEqual(['RATE_LIMITED']);
        expect(event.data?.orderUpdated ?? null).toBeNull();
      }
      // The replica's stream ends: a place is free again, on either replica.
      open.splice(1, 1)[0]!.close();
      await expect
        .poll(
          async () => {
            const stream = await subscribe('sse', operation, me, replica.url);
            const event = await stream.next();
            if (event.data?.orderUpdated) open.push(stream);
            else await stream.ended;
            return event.data?.orderUpdated?.status ?? event.errors?.[0]?.extensions?.code;
          },
          { timeout: 15_000, interval: 200 },
        )
        .toBe('PENDING');
      for (const stream of open) stream.close();
    } finally {
      await replica.close();
    }
  });

  it.each(['ws', 'multipart'] as const)(
    "ends a %s stream with UNAUTHENTICATED when the subscriber's token expires, after the events before it",
    async (protocol) => {
      const id = await placeFor(alice);
      const token = await stack.identity.token(alice, { expiresIn: 3 });
      const expiresAt = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()).exp * 1000;
      const stream = await subscribe(protocol, { query: ORDER_UPDATED, variables: { id } }, { authorization: `Bearer ${token}` });
      expect((await stream.next()).data.orderUpdated.status).toBe('PENDING');
      await transitions.begin(id);
      expect((await stream.next()).data.orderUpdated.status).toBe('PROCESSING');
      const last = await stream.next(15_000);
      expect(Date.now()).toBeGreaterThanOrEqual(expiresAt);
      expect(last.data?.orderUpdated ?? null).toBeNull();
      expect(last.errors?.[0]).toMatchObject({ path: ['orderUpdated'], extensions: { code: 'UNAUTHENTICATED' } });
      expect(await stream.ended).toEqual({ complete: true });
    },
  );
});

describe('the rate limit and the query limits on subscribing', () => {
  it.each(['ws', 'sse'] as const)('counts each %s subscribe against the rate limit: RATE_LIMITED beyond RATE_LIMIT_PER_MINUTE', async (protocol) => {
    const gateway = await startGateway({ ...stack.config, RATE_LIMIT_PER_MINUTE: 2 }, `subs-rate-${protocol}`);
    try {
      const dave = await createUser(stack.gatewayUrl);
      const id = await placeFor(dave);
      const me = await stack.as(dave);
      const codes: unknown[] = [];
      for (let i = 0; i < 3; i += 1) {
        if (protocol === 'ws') {
          const stream = await subscribe('ws', { query: ORDER_UPDATED, variables: { id } }, me, gateway.url);
          await stream.until(() => stream.results.length > 0 || stream.done, 15_000, 'an answer');
          const ended = stream.done ? await stream.ended : undefined;
          codes.push(
            stream.results[0]?.data?.orderUpdated?.status ??
              (ended && 'error' in ended ? (ended.error as StreamResult['errors'])![0]!.extensions?.code : ended),
          );
          stream.close();
        } else {
          const stream = await SseSubscription.open(gateway.url, { query: ORDER_UPDATED, variables: { id } }, me);
          codes.push(stream.status === 200 ? (await stream.next()).data.orderUpdated.status : stream.body.errors[0].extensions.code);
          stream.close();
        }
      }
      expect(codes).toEqual(['PENDING', 'PENDING', 'RATE_LIMITED']);
    } finally {
      await gateway.close();
    }
  });

  it.each(['ws', 'multipart'] as const)('refuses a %s subscription deeper than MAX_QUERY_DEPTH with MAX_DEPTH_LIMIT before subscribing', async (protocol) => {
    const gateway = await startGateway({ ...stack.config, MAX_QUERY_DEPTH: 2 }, `subs-depth-${protocol}`);
    try {
      const stream = await subscribe(protocol, { query: ORDER_UPDATED, variables: { id: await placeFor(alice) } }, await stack.as(alice), gateway.url);
      const event = await stream.next();
      expect(event.data?.orderUpdated ?? null).toBeNull();
      expect(event.errors?.map((e) => e.extensions?.code)).toEqual(['MAX_DEPTH_LIMIT']);
      expect(await stream.ended).toEqual({ complete: true });
    } finally {
      await gateway.close();
    }
  });
});

describe('the safelist (OPERATIONS_SAFELIST=enforce) on subscriptions', () => {
  let gateway: TestGateway;
  let dir: string;
  const UNLISTED = 'subscription { orderUpdates { cursor order { id status } } }';

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'subs-manifest-'));
    const manifest = join(dir, 'manifest.json');
    const operations = [{ id: 'watch-order', body: ORDER_UPDATED, name: 'Watch', type: 'subscription' }];
    writeFileSync(manifest, JSON.stringify({ format: 'apollo-persisted-query-manifest', version: 1, operations }));
    gateway = await startGateway({ ...stack.config, OPERATIONS_MANIFEST: manifest, OPERATIONS_SAFELIST: 'enforce' }, 'subs-safelist');
  });

  afterAll(async () => {
    await gateway?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it.each(['ws', 'sse', 'multipart'] as const)(
    'refuses an unlisted subscription over %s with PERSISTED_QUERY_NOT_IN_LIST, and runs a listed one',
    async (protocol) => {
      const me = await stack.as(alice);
      if (protocol === 'ws') {
        const refused = await subscribe(protocol, { query: UNLISTED }, me, gateway.url);
        const ended = await refused.ended;
        expect('error' in ended && (ended.error as StreamResult['errors'])!.map((e) => e.extensions?.code)).toEqual(['PERSISTED_QUERY_NOT_IN_LIST']);
        expect(refused.results).toHaveLength(0);
      } else {
        // Refused before any stream opens: a JSON 400, as a query is.
        const answer =
          protocol === 'sse'
            ? await SseSubscription.open(gateway.url, { query: UNLISTED }, me)
            : await MultipartSubscription.open(gateway.url, { query: UNLISTED }, me);
        expect(answer.status).toBe(400);
        expect(answer.body.errors.map((e: { extensions: { code: string } }) => e.extensions.code)).toEqual(['PERSISTED_QUERY_NOT_IN_LIST']);
      }
      const id = await placeFor(alice);
      const listed = await subscribe(protocol, { query: ORDER_UPDATED, variables: { id } }, me, gateway.url);
      expect(await listed.next()).toEqual({ data: { orderUpdated: { id, status: 'PENDING', product: { id: productId, name: productName } } } });
      listed.close();
    },
  );

  it('runs a listed subscription sent by its manifest id alone, over SSE by GET and over graphql-ws', async () => {
    const me = await stack.as(alice);
    const id = await placeFor(alice);
    const byId = { query: '', variables: { id }, extensions: { persistedQuery: { version: 1, sha256Hash: 'watch-order' } } };
    const overGet = await SseSubscription.open(gateway.url, byId, me, 'GET');
    expect(overGet.status).toBe(200);
    expect(await overGet.next()).toEqual({ data: { orderUpdated: { id, status: 'PENDING', product: { id: productId, name: productName } } } });
    overGet.close();
    const overWs = await subscribe('ws', byId, me, gateway.url);
    expect((await overWs.next()).data.orderUpdated.status).toBe('PENDING');
    overWs.close();
  });
});

describe('lifetimes of subscriptions through the gateway', () => {
  it.each(['sse', 'multipart'] as const)('sends heartbeats every SUBSCRIPTION_HEARTBEAT_MS on an idle %s stream', async (protocol) => {
    const id = await placeFor(alice);
    const stream = (await subscribe(protocol, { query: ORDER_UPDATED, variables: { id } }, await stack.as(alice))) as (
      SseSubscription | MultipartSubscription
    ) &
      Stream;
    expect((await stream.next()).data.orderUpdated.status).toBe('PENDING');
    const beats = () => ('comments' in stream ? stream.comments : stream.heartbeats);
    const before = beats();
    await stream.until(() => beats() >= before + 2, 15_000, 'two heartbeats');
    expect(stream.done).toBe(false);
    stream.close();
  });

  it('counts open subscriptions by protocol and the events delivered on /metrics', async () => {
    const metric = (name: string, labels: Record<string, string>) => readMetric(stack.gatewayBase, name, labels);
    const id = await placeFor(alice);
    const events = await metric('junction_gateway_subscription_events_total', { protocol: 'ws', field: 'orderUpdated' });
    const open = await metric('junction_gateway_subscriptions_open', { protocol: 'ws' });
    const stream = await subscribe('ws', { query: ORDER_UPDATED, variables: { id } }, await stack.as(alice));
    expect((await stream.next()).data.orderUpdated.status).toBe('PENDING');
    expect(await metric('junction_gateway_subscriptions_open', { protocol: 'ws' })).toBe(open + 1);
    expect(await metric('junction_gateway_subscription_events_total', { protocol: 'ws', field: 'orderUpdated' })).toBe(events + 1);
    stream.close();
  });

  it('a gateway shutting down ends every open stream with SERVICE_UNAVAILABLE, so clients subscribe again elsewhere', async () => {
    const gateway = await startGateway(stack.config, 'subs-shutdown');
    const me = await stack.as(alice);
    const streams: Stream[] = [];
    try {
      for (const protocol of ['ws', 'sse', 'multipart'] as const) {
        const stream = await subscribe(protocol, { query: ORDER_UPDATED, variables: { id: await placeFor(alice) } }, me, gateway.url);
        expect((await stream.next()).data.orderUpdated.status).toBe('PENDING');
        streams.push(stream);
      }
    } finally {
      await gateway.close();
    }
    for (const stream of streams) {
      const last = await stream.next();
      expect(last.data?.orderUpdated ?? null).toBeNull();
      expect(last.errors?.[0]?.extensions?.code).toBe('SERVICE_UNAVAILABLE');
      expect(await stream.ended).toEqual({ complete: true });
    }
  });

  it('the orders subgraph shutting down ends the streams through the gateway with SERVICE_UNAVAILABLE over every protocol, so clients subscribe again', async () => {
    const orders = await startOrders(stack.db.db, stack.identity);
    const gateway = await startGateway({ ...stack.config, ORDERS_URL: orders.url }, 'subs-orders-down');
    try {
      const me = await stack.as(alice);
      const id = await placeFor(alice);
      const streams: Stream[] = [];
      for (const protocol of ['ws', 'sse', 'multipart'] as const) {
        const stream = await subscribe(protocol, { query: ORDER_UPDATED, variables: { id } }, me, gateway.url);
        expect((await stream.next()).data.orderUpdated.status).toBe('PENDING');
        streams.push(stream);
      }
      await orders.close();
      for (const stream of streams) {
        const last = await stream.next();
        expect(last.data?.orderUpdated ?? null).toBeNull();
        expect(last.errors?.[0]?.extensions?.code).toBe('SERVICE_UNAVAILABLE');
        expect(await stream.ended).toEqual({ complete: true });
      }
    } finally {
      await gateway.close();
      await orders.close();
    }
  });

  it('a supergraph reload keeps open subscriptions as they were, and new ones follow the new supergraph', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'subs-reload-'));
    const path = join(dir, 'supergraph.graphql');
    writeFileSync(path, readFileSync(SUPERGRAPH_FILE, 'utf8'));
    const gateway = await startGateway({ ...stack.config, SUPERGRAPH_PATH: path }, 'subs-reload');
    try {
      const me = await stack.as(alice);
      const id = await placeFor(alice);
      const product = { id: productId, name: productName };
      const open = await subscribe('ws', { query: ORDER_UPDATED, variables: { id } }, me, gateway.url);
      expect(await open.next()).toEqual({ data: { orderUpdated: { id, status: 'PENDING', product } } });

      // The same subgraphs but inventory: Order.product no longer has a name.
      const smaller = composeServices(
        ['users', 'events', 'orders', 'notifications'].map((name) => ({
          name,
          url: stack.urls[name as 'users']!,
          typeDefs: parse(readFileSync(`subgraphs/${name}/schema.graphql`, 'utf8')),
        })),
      );
      if (smaller.errors) throw smaller.errors[0];
      writeFileSync(path, smaller.supergraphSdl);
      await expect
        .poll(async () => (await gql(gateway.url, '{ products(first: 1) { totalCount } }', {}, me)).errors?.[0]?.extensions?.code, {
          timeout: 15_000,
          message: 'the gateway to reload its supergraph',
        })
        .toBe('GRAPHQL_VALIDATION_FAILED');

      // The open one goes on, inventory's field still resolved per event; a new one is validated against the new supergraph.
      await transitions.begin(id);
      expect(await open.next()).toEqual({ data: { orderUpdated: { id, status: 'PROCESSING', product } } });
      const fresh = await subscribe('ws', { query: ORDER_UPDATED, variables: { id } }, me, gateway.url);
      const refused = await fresh.ended;
      expect('error' in refused && (refused.error as StreamResult['errors'])!.map((e) => e.message)).toEqual([
        expect.stringMatching(/Cannot query field "name" on type "Product"/),
      ]);
      open.close();
    } finally {
      await gateway.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('a subscriber that does not read', () => {
  it('is dropped, not buffered for: its stream ends once it falls SUBSCRIPTION_QUEUE_MAX events behind or stops taking data', async () => {
    // Big events (2000 aliases of the cursor, about 100 KB each) so the sockets' buffers fill after some dozens.
    const gateway = await startGateway(
      { ...stack.config, SUBSCRIPTION_QUEUE_MAX: 5, MAX_ALIASES: 5000, MAX_QUERY_TOKENS: 100_000, MAX_QUERY_COST: 100_000 },
      'subs-slow',
    );
    const open = () => readMetric(gateway.base, 'junction_gateway_subscriptions_open', { protocol: 'multipart' });
    try {
      const baseline = await open();
      const query = `subscription { orderUpdates { ${Array.from({ length: 2000 }, (_, i) => `c${i}: cursor`).join(' ')} } }`;
      const req = request(gateway.url, {
        method: 'POST',
        headers: { accept: 'multipart/mixed;subscriptionSpec="1.0"', 'content-type': 'application/json', ...stack.admin },
      });
      req.end(JSON.stringify({ query }));
      const [res] = (await once(req, 'response')) as [import('node:http').IncomingMessage];
      expect(res.headers['content-type']).toContain('multipart/mixed');
      // It reads nothing from now on.
      res.pause();
      await expect.poll(open, { timeout: 30_000, message: 'the subscription to open' }).toBe(baseline + 1);

      // Changes keep coming (40 orders, three changes each) until the gateway lets the reader go.
      const ids: string[] = [];
      for (let i = 0; i < 40 && (await open()) > baseline; i += 1) {
        const id = await placeFor(alice);
        ids.push(id);
        await transitions.confirm(id);
      }
      await expect.poll(open, { timeout: 30_000, message: 'the slow subscription to end' }).toBe(baseline);
      // What reached the client ends without the closing boundary's stream going on: the connection is gone.
      res.resume();
      const closed = new Promise<void>((resolve) => {
        res.on('close', () => resolve());
        res.on('error', () => resolve());
      });
      await closed;
      expect(ids.length).toBeGreaterThan(0);
    } finally {
      await gateway.close();
    }
  });
});
