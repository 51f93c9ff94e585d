import { createGatewayRuntime, type GatewayRuntime } from '@graphql-hive/gateway-runtime';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listen, type Listening } from '../../common/http.ts';
import { SUPERGRAPH_FILE } from '../../scripts/compose.ts';
import { gql, gqlData } from '../support/graphql.ts';
import { createProduct, createUser, placeOrder } from '../support/orders.ts';
import { startRecordingProxy, type RecordingProxy } from '../support/recording-proxy.ts';
import { SseSubscription } from '../support/subscriptions.ts';
import { startStack, type Stack, type SubgraphName } from '../support/stack.ts';
import { closeAll } from '../support/teardown.ts';

/**
 * Bring your own gateway: Hive Gateway serves the committed supergraph.graphql
 * in front of the same subgraphs, forwarding the client's Authorization (and
 * X-API-Key) header, and answers what Junction's gateway answers.
 */
let stack: Stack;
let hive: GatewayRuntime;
let hiveHttp: Listening;
let hiveUrl: string;
let usersProxy: RecordingProxy;
const ids = { alice: '', bob: '', product: '', aliceEvent: '', bobEvent: '', aliceOrder: '', bobOrder: '' };

beforeAll(async () => {
  // No event registry: addEvent stores at once.
  stack = await startStack('hive', { env: { EVENT_REGISTRY_URL: '' } });
  // Users behind a recording proxy, to see which headers the Hive Gateway sends it.
  usersProxy = await startRecordingProxy(new URL(stack.urls.users!).origin);
  // Hive Gateway's logger refuses pino's LOG_LEVEL=silent (which vitest sets) even with logging off; the stack's loggers exist by now.
  delete process.env.LOG_LEVEL;
  const location = (name: SubgraphName) => (name === 'users' ? `${usersProxy.url}/graphql` : stack.urls[name]!);
  hive = createGatewayRuntime({
    supergraph: SUPERGRAPH_FILE,
    // The subgraphs' addresses here, instead of the routing URLs composed into the supergraph.
    transportEntries: Object.fromEntries((Object.keys(stack.urls) as SubgraphName[]).map((name) => [name, { location: location(name) }])),
    propagateHeaders: {
      fromClientToSubgraphs: ({ request }) => ({
        authorization: request.headers.get('authorization'),
        'x-api-key': request.headers.get('x-api-key'),
        'x-request-id': request.headers.get('x-request-id'),
      }),
    },
    logging: false,
    maskedErrors: false,
  });
  hiveHttp = await listen(hive as unknown as (req: IncomingMessage, res: ServerResponse) => void, 0);
  hiveUrl = `${hiveHttp.url}/graphql`;

  const gw = stack.gatewayUrl;
  ids.alice = await createUser(gw);
  ids.bob = await createUser(gw);
  ids.product = await createProduct(gw, 10, stack.admin);
  // An admin sets the scene for both users.
  const event = async (userId: string) =>
    (
      await gqlData(
        gw,
        'mutation($input: AddEventInput!) { addEvent(input: $input) { id } }',
        { input: { name: `Event ${randomUUID().slice(0, 4)}`, userId, startsAt: '2026-12-01T18:00:00.000Z' } },
        stack.admin,
      )
    ).addEvent.id;
  ids.aliceEvent = await event(ids.alice);
  ids.bobEvent = await event(ids.bob);
  ids.aliceOrder = (await placeOrder(gw, { userId: ids.alice, productId: ids.product, quantity: 2 }, stack.admin)).id;
  ids.bobOrder = (await placeOrder(gw, { userId: ids.bob, productId: ids.product, quantity: 1 }, stack.admin)).id;
  await gqlData(
    gw,
    'mutation($input: IngestEventInput!) { ingestEvent(input: $input) { eventId } }',
    { input: { eventId: `hive-${randomUUID()}`, eventType: 'password_reset', timestamp: '2026-11-21T10:00:00.000Z', payload: { userId: ids.alice } } },
    { 'x-api-key': stack.config.INGEST_API_KEY },
  );
  // Bob leaves: what he organized or ordered stays, its organizer and buyer resolve to null.
  await gqlData(gw, 'mutation($id: ID!) { deleteUser(id: $id) }', { id: ids.bob }, stack.admin);
}, 60_000);

afterAll(() => closeAll(hiveHttp, hive, usersProxy, stack));

/** The same operation through both gateways, with the same headers (e.g. a signed-in user's). */
async function both(query: string, variables: Record<string, unknown> = {}, headers: Record<string, string> = {}) {
  const [junction, other] = await Promise.all([gql(stack.gatewayUrl, query, variables, headers), gql(hiveUrl, query, variables, headers)]);
  return { junction, hive: other };
}

describe('Hive Gateway in front of the same subgraphs', () => {
  it("joins entities across every subgraph exactly as Junction's gateway does", async () => {
    const query = `query($id: ID!) {
      user(id: $id) {
        id name email
        events(first: 5) { id name organizer { id name } }
        orders { id status quantity product { id name stock reserved } user { id } }
        notifications(first: 5) { type status recipient { id name } }
      }
      products(first: 50) { nodes { id name } }
    }`;
    // Alice, signed in, reads her own data.
    const { junction, hive: answer } = await both(query, { id: ids.alice }, await stack.as(ids.alice));
    expect(junction.errors).toBeUndefined();
    expect(answer.errors).toBeUndefined();
    expect(answer.data).toEqual(junction.data);
    // And it is the data asked for, from four subgraphs.
    const user = junction.data.user;
    expect(user.events).toEqual([{ id: ids.aliceEvent, name: expect.any(String), organizer: { id: ids.alice, name: user.name } }]);
    expect(user.orders).toEqual([
      { id: ids.aliceOrder, status: 'PENDING', quantity: 2, product: expect.objectContaining({ id: ids.product, stock: 10 }), user: { id: ids.alice } },
    ]);
    expect(user.notifications).toContainEqual({ type: 'password_reset', status: expect.any(String), recipient: { id: ids.alice, name: user.name } });
  });

  it('resolves a deleted user to null through either gateway', async () => {
    const query = `query($event: ID!, $order: ID!, $user: ID!) {
      event(id: $event) { id name organizer { id name } }
      order(id: $order) { id quantity user { id name } product { id } }
      user(id: $user) { id }
    }`;
    const { junction, hive: answer } = await both(query, { event: ids.bobEvent, order: ids.bobOrder, user: ids.bob }, stack.admin);
    expect(junction.errors).toBeUndefined();
    expect(answer.errors).toBeUndefined();
    expect(answer.data).toEqual(junction.data);
    expect(junction.data).toMatchObject({
      event: { id: ids.bobEvent, organizer: null },
      order: { id: ids.bobOrder, user: null, product: { id: ids.product } },
      user: null,
    });
  });

  it('hides the @inaccessible fields and operations from clients of either gateway', async () => {
    const introspection = `{
      event: __type(name: "Event") { fields { name } }
      order: __type(name: "Order") { fields { name } }
      mutation: __type(name: "Mutation") { fields { name } }
    }`;
    const { junction, hive: answer } = await both(introspection);
    const names = (data: any) =>
      Object.fromEntries(Object.entries(data).map(([type, t]: [string, any]) => [type, t.fields.map((f: { name: string }) => f.name).sort()]));
    expect(names(answer.data)).toEqual(names(junction.data));
    expect(names(junction.data).event).not.toContain('organizerId');
    expect(names(junction.data).order).not.toContain('userId');
    expect(names(junction.data).mutation).not.toContain('reserveStock');
    expect(names(junction.data).mutation).toContain('placeOrder');

    for (const query of [
      `{ event(id: "${ids.aliceEvent}") { organizerId } }`,
      `mutation { reserveStock(orderId: "${ids.aliceOrder}", productId: "${ids.product}", quantity: 1) { orderId } }`,
    ]) {
      const result = await both(query);
      for (const r of [result.junction, result.hive]) {
        expect(r.data ?? null).toBeNull();
        expect(r.errors?.[0]?.message).toMatch(/Cannot query field/);
      }
    }
  });

  it('enforces the same access rules through either gateway: the subgraphs verify the token themselves', async () => {
    const query = 'query($id: ID!) { user(id: $id) { id email orders { id } } order(id: $o) { id } }'.replace('query($id: ID!)', 'query($id: ID!, $o: ID!)');
    const variables = { id: ids.alice, o: ids.aliceOrder };
    const stranger = await both(query, variables, await stack.as(randomUUID()));
    const anonymous = await both(query, variables);
    for (const r of [stranger.junction, stranger.hive, anonymous.junction, anonymous.hive]) {
      expect(JSON.stringify(r.data ?? null)).not.toContain(ids.aliceOrder);
      expect(r.errors?.length).toBeGreaterThan(0);
    }
    expect(new Set(stranger.hive.errors!.map((e) => e.extensions?.code))).toEqual(new Set(stranger.junction.errors!.map((e) => e.extensions?.code)));
    expect(stranger.junction.errors!.map((e) => e.extensions?.code)).toContain('FORBIDDEN');
    // A bad token reaches no data through Hive Gateway either: the subgraphs answer 401.
    const forged = await gql(hiveUrl, query, variables, { authorization: 'Bearer forged' });
    expect(JSON.stringify(forged.data ?? null)).not.toContain(ids.aliceOrder);
    expect(forged.errors?.length).toBeGreaterThan(0);
  });

  it("forwards the client's Authorization header to the subgraphs", async () => {
    usersProxy.exchanges.length = 0;
    const token = `Bearer ${await stack.identity.token(ids.alice)}`;
    const answer = await gql(hiveUrl, 'query($id: ID!) { user(id: $id) { id } }', { id: ids.alice }, { authorization: token });
    expect(answer.data).toEqual({ user: { id: ids.alice } });
    const calls = usersProxy.exchanges.filter((e) => e.path === '/graphql');
    expect(calls.length).toBeGreaterThan(0);
    for (const call of calls) expect(call.requestHeaders.authorization).toBe(token);
  });

  it("delivers orderUpdated over GraphQL over SSE from the orders subgraph, with the fields other subgraphs own, and nothing of another user's order", async () => {
    const alice = await stack.as(ids.alice);
    const order = await placeOrder(stack.gatewayUrl, { userId: ids.alice, productId: ids.product, quantity: 1 }, alice);
    const query = 'subscription Watch($id: ID!) { orderUpdated(id: $id) { id status quantity product { name } } }';
    const stream = await SseSubscription.open(hiveUrl, { query, variables: { id: order.id } }, alice);
    try {
      expect(stream.contentType).toContain('text/event-stream');
      // The order as it is now, its product's name resolved from inventory by Hive Gateway's own planner.
      const first = await stream.next();
      expect(first.errors).toBeUndefined();
      expect(first.data).toEqual({ orderUpdated: { id: order.id, status: 'PENDING', quantity: 1, product: { name: expect.any(String) } } });
      // A change made through Junction's gateway reaches the Hive Gateway's subscriber; CANCELLED ends the stream.
      await gqlData(stack.gatewayUrl, 'mutation($id: ID!) { cancelOrder(id: $id) { id } }', { id: order.id }, alice);
      const second = await stream.next();
      expect(second.data?.orderUpdated).toMatchObject({ id: order.id, status: 'CANCELLED' });
      expect(await stream.ended).toEqual({ complete: true });
    } finally {
      stream.close();
    }

    // Another user's order (Bob's), through Hive Gateway: NOT_FOUND, and nothing of it anywhere in the stream.
    const other = await SseSubscription.open(hiveUrl, { query, variables: { id: ids.bobOrder } }, alice);
    try {
      const refused = await other.next();
      expect(refused.data?.orderUpdated ?? null).toBeNull();
      expect(refused.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
      await other.ended;
      const everything = JSON.stringify(other.results);
      expect(everything).not.toContain('"quantity"');
      expect(everything).not.toContain('"status"');
    } finally {
      other.close();
    }
  });
});
