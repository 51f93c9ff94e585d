import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../common/logger.ts';
import { listen } from '../../common/http.ts';
import { createGateway } from '../../gateway/server.ts';
import { gql, gqlData, type GraphQLResponse } from '../support/graphql.ts';
import { startRecordingProxy } from '../support/recording-proxy.ts';
import { startStack, type Stack } from '../support/stack.ts';

/**
 * Invariant 7 through the gateway: no one reads or changes another user's
 * orders, notifications, email or enrichment, by any query path or header.
 */

let stack: Stack;
const INGEST_KEY = 'test-stack-ingest-key';

interface Person {
  id: string;
  email: string;
  headers: Record<string, string>;
  orderId: string;
  eventId: string;
  notificationId: string;
}
let alice: Person;
let bob: Person;
let sku: string;

const codes = (res: GraphQLResponse) => (res.errors ?? []).map((e) => e.extensions?.code);

/** Alice's data that must never reach Bob, except an id Bob named himself. */
function expectNoneOfAlice(res: GraphQLResponse, named: string[] = []) {
  const body = JSON.stringify({ data: res.data, errors: res.errors });
  for (const secret of [alice.email, alice.orderId, alice.notificationId, alice.eventId].filter((s) => !named.includes(s))) {
    expect(body, `response leaks ${secret}`).not.toContain(secret);
  }
  if (!named.includes(alice.email)) expect(body.toLowerCase()).not.toContain(alice.email.toLowerCase());
}

async function person(name: string): Promise<Person> {
  const email = `${name}-${randomUUID().slice(0, 8)}@example.com`;
  // Sign-up is public; the new user reads back what it sent.
  const { createUser } = await gqlData(stack.gatewayUrl, 'mutation($input: CreateUserInput!) { createUser(input: $input) { id email } }', {
    input: { name, email },
  });
  expect(createUser.email).toBe(email);
  const headers = await stack.as(createUser.id);
  // placeOrder and addEvent without userId act for the viewer.
  const { placeOrder } = await gqlData(
    stack.gatewayUrl,
    'mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { id user { id } } }',
    { input: { productId: sku, quantity: 1 } },
    headers,
  );
  expect(placeOrder.user.id).toBe(createUser.id);
  const { addEvent } = await gqlData(
    stack.gatewayUrl,
    'mutation($input: AddEventInput!) { addEvent(input: $input) { id organizer { id } } }',
    { input: { name: `${name}'s party` } },
    headers,
  );
  expect(addEvent.organizer.id).toBe(createUser.id);
  const { ingestEvent } = await gqlData(
    stack.gatewayUrl,
    'mutation($input: IngestEventInput!) { ingestEvent(input: $input) { eventId } }',
    { input: { eventType: 'welcome', timestamp: new Date().toISOString(), payload: { userId: createUser.id } } },
    { 'x-api-key': INGEST_KEY },
  );
  const [row] = await stack.db.sql`select id from notifications.notifications where event_id = ${ingestEvent.eventId}`;
  return { id: createUser.id, email, headers, orderId: placeOrder.id, eventId: addEvent.id, notificationId: row!.id };
}

beforeAll(async () => {
  stack = await startStack('access', { env: { EVENT_REGISTRY_URL: '', INGEST_API_KEY: INGEST_KEY } });
  sku = `SKU-${randomUUID().slice(0, 8)}`;
  await gqlData(
    stack.gatewayUrl,
    'mutation($input: CreateProductInput!) { createProduct(input: $input) { id } }',
    { input: { id: sku, name: 'Mug', priceCents: 100, stock: 50 } },
    stack.admin,
  );
  alice = await person('alice');
  bob = await person('bob');
});

afterAll(async () => {
  await stack?.close();
});

describe('bad tokens', () => {
  it('answer HTTP 401 UNAUTHENTICATED whatever the operation, and run nothing', async () => {
    const bad = await stack.identity.badTokens(alice.id);
    const before = await stack.db.sql`select count(*)::int as n from users.users`;
    for (const [kind, token] of Object.entries(bad)) {
      for (const query of [
        '{ products(first: 1) { totalCount } }',
        '{ __typename }',
        'mutation { createUser(input: { name: "Eve", email: "eve@example.com" }) { id } }',
      ]) {
        const res = await gql(stack.gatewayUrl, query, {}, { authorization: `Bearer ${token}` });
        expect(res.status, `${kind}: ${query}`).toBe(401);
        expect(codes(res), kind).toEqual(['UNAUTHENTICATED']);
        expect(res.data, kind).toBeUndefined();
      }
    }
    for (const header of ['Basic dXNlcjpwYXNz', 'Bearer', `Token ${await stack.identity.token(alice.id)}`]) {
      const res = await gql(stack.gatewayUrl, '{ __typename }', {}, { authorization: header });
      expect(res.status, header).toBe(401);
    }
    expect(await stack.db.sql`select count(*)::int as n from users.users`).toEqual(before);
  });
});

describe('anonymous callers', () => {
  it('read the public fields', async () => {
    const data = await gqlData(
      stack.gatewayUrl,
      `query($user: ID!, $event: ID!, $sku: ID!) {
        me
        { id }
        user(id: $user) { id name events { id } }
        event(id: $event) { id name organizer { id name } }
        product(id: $sku) { id stock }
        products(first: 1) { totalCount }
        events(first: 1) { totalCount }
      }`.replace('me\n        { id }', 'me { id }'),
      { user: alice.id, event: alice.eventId, sku },
    );
    expect(data.me).toBeNull();
    expect(data.user).toEqual({ id: alice.id, name: 'alice', events: [{ id: alice.eventId }] });
    expect(data.event.organizer).toEqual({ id: alice.id, name: 'alice' });
    expect(data.product.id).toBe(sku);
  });

  it('are UNAUTHENTICATED on (viewer), (self) and (admin) fields, and see none of anyone’s data', async () => {
    const cases: [string, Record<string, unknown>][] = [
      ['query($id: ID!) { order(id: $id) { id } }', { id: alice.orderId }],
      ['{ orders { nodes { id } } }', {}],
      ['query($u: ID!) { orders(userId: $u) { nodes { id } } }', { u: alice.id }],
      ['query($id: ID!) { notification(id: $id) { id } }', { id: alice.notificationId }],
      ['{ notifications { nodes { id } } }', {}],
      ['query($u: ID!) { user(id: $u) { email } }', { u: alice.id }],
      ['query($u: ID!) { user(id: $u) { enrichment { status } } }', { u: alice.id }],
      ['query($u: ID!) { user(id: $u) { orders { id } } }', { u: alice.id }],
      ['query($u: ID!) { user(id: $u) { notifications { id } } }', { u: alice.id }],
      ['query($e: ID!) { event(id: $e) { organizer { email } } }', { e: alice.eventId }],
      ['mutation($s: ID!) { placeOrder(input: { productId: $s, quantity: 1 }) { id } }', { s: sku }],
      ['mutation { addEvent(input: { name: "x" }) { id } }', {}],
      ['mutation($id: ID!) { cancelOrder(id: $id) { id } }', { id: alice.orderId }],
      ['mutation($u: ID!) { updateUser(id: $u, input: { name: "x" }) { id } }', { u: alice.id }],
      ['mutation($u: ID!) { deleteUser(id: $u) }', { u: alice.id }],
    ];
    for (const [query, variables] of cases) {
      const res = await gql(stack.gatewayUrl, query, variables);
      expect(res.status, query).toBe(200);
      expect(codes(res), query).toEqual(['UNAUTHENTICATED']);
      expectNoneOfAlice(res, Object.values(variables) as string[]);
    }
    const [order] = await stack.db.sql`select status from orders.orders where id = ${alice.orderId}`;
    expect(order!.status).not.toBe('CANCELLED');
  });
});

describe('signed-in users', () => {
  it('me is the viewer’s own user, with its (self) fields', async () => {
    const { me } = await gqlData(stack.gatewayUrl, '{ me { id email orders { id } notifications { id } enrichment { status } } }', {}, alice.headers);
    expect(me).toMatchObject({ id: alice.id, email: alice.email, orders: [{ id: alice.orderId }], notifications: [{ id: alice.notificationId }] });
  });

  it('see their own data by every path', async () => {
    const data = await gqlData(
      stack.gatewayUrl,
      `query($o: ID!, $n: ID!, $u: ID!, $e: ID!) {
        order(id: $o) { id user { id email } }
        orders { nodes { id } totalCount }
        mine: orders(userId: $u) { nodes { id } }
        notification(id: $n) { id recipient { id } }
        notifications { nodes { id } totalCount }
        user(id: $u) { email orders { id } notifications { id } }
        event(id: $e) { organizer { email orders { id } } }
      }`,
      { o: alice.orderId, n: alice.notificationId, u: alice.id, e: alice.eventId },
      alice.headers,
    );
    expect(data.order).toEqual({ id: alice.orderId, user: { id: alice.id, email: alice.email } });
    expect(data.orders).toEqual({ nodes: [{ id: alice.orderId }], totalCount: 1 });
    expect(data.mine.nodes).toEqual([{ id: alice.orderId }]);
    expect(data.notification).toEqual({ id: alice.notificationId, recipient: { id: alice.id } });
    expect(data.notifications).toEqual({ nodes: [{ id: alice.notificationId }], totalCount: 1 });
    expect(data.user).toEqual({ email: alice.email, orders: [{ id: alice.orderId }], notifications: [{ id: alice.notificationId }] });
    expect(data.event.organizer).toEqual({ email: alice.email, orders: [{ id: alice.orderId }] });
  });

  it('read someone else’s order or notification by id as null', async () => {
    for (const [query, id] of [
      ['query($id: ID!) { order(id: $id) { id status user { id } } }', alice.orderId],
      ['query($id: ID!) { notification(id: $id) { id type recipient { id } } }', alice.notificationId],
    ] as const) {
      const res = await gql(stack.gatewayUrl, query, { id }, bob.headers);
      expect(res.errors, query).toBeUndefined();
      expect(Object.values(res.data!)[0]).toBeNull();
      expectNoneOfAlice(res, [id]);
    }
  });

  it('list only their own orders and notifications; naming another userId is FORBIDDEN', async () => {
    const own = await gqlData(stack.gatewayUrl, '{ orders { nodes { id } totalCount } notifications { nodes { id } totalCount } }', {}, bob.headers);
    expect(own.orders).toEqual({ nodes: [{ id: bob.orderId }], totalCount: 1 });
    expect(own.notifications).toEqual({ nodes: [{ id: bob.notificationId }], totalCount: 1 });
    const other = await gql(stack.gatewayUrl, 'query($u: ID!) { orders(userId: $u) { nodes { id } totalCount } }', { u: alice.id }, bob.headers);
    expect(codes(other)).toEqual(['FORBIDDEN']);
    expectNoneOfAlice(other, [alice.id]);
  });

  it('get FORBIDDEN on (self) fields of someone else’s User, by user(id), by event.organizer and by order.user', async () => {
    const paths = [
      'query($u: ID!) { user(id: $u) { id email } }',
      'query($u: ID!) { user(id: $u) { id enrichment { status company } } }',
      'query($u: ID!) { user(id: $u) { id orders { id } } }',
      'query($u: ID!) { user(id: $u) { id notifications { id } } }',
      'query($e: ID!) { event(id: $e) { id organizer { id email } } }',
      'query($e: ID!) { event(id: $e) { id organizer { id orders { id user { email } } } } }',
      'query($e: ID!) { event(id: $e) { id organizer { id notifications { id } } } }',
      '{ events(first: 100) { nodes { organizer { id orders { id } email } } } }',
    ];
    for (const query of paths) {
      const variables = { ...(query.includes('$u') ? { u: alice.id } : {}), ...(query.includes('$e') ? { e: alice.eventId } : {}) };
      const res = await gql(stack.gatewayUrl, query, variables, bob.headers);
      expect(codes(res).length, query).toBeGreaterThan(0);
      expect(new Set(codes(res)), query).toEqual(new Set(['FORBIDDEN']));
      expectNoneOfAlice(res, [alice.eventId]);
    }
    // The public fields of the same user still answer.
    const pub = await gqlData(stack.gatewayUrl, 'query($u: ID!) { user(id: $u) { id name events { id } } }', { u: alice.id }, bob.headers);
    expect(pub.user).toEqual({ id: alice.id, name: 'alice', events: [{ id: alice.eventId }] });
  });

  it('get NOT_FOUND for a mutation on someone else’s order or user, which changes nothing', async () => {
    for (const [query, id] of [
      ['mutation($id: ID!) { cancelOrder(id: $id) { id status } }', alice.orderId],
      ['mutation($id: ID!) { updateUser(id: $id, input: { name: "Mallory", email: "mallory@example.com" }) { id email } }', alice.id],
      ['mutation($id: ID!) { deleteUser(id: $id) }', alice.id],
    ] as const) {
      const res = await gql(stack.gatewayUrl, query, { id }, bob.headers);
      expect(codes(res), query).toEqual(['NOT_FOUND']);
      expectNoneOfAlice(res, [id]);
    }
    const [order] = await stack.db.sql`select status from orders.orders where id = ${alice.orderId}`;
    expect(order!.status).not.toBe('CANCELLED');
    const [user] = await stack.db.sql`select name, email from users.users where id = ${alice.id}`;
    expect(user).toEqual({ name: 'alice', email: alice.email });
  });

  it('get FORBIDDEN acting for another user, and nothing is stored', async () => {
    const before = await stack.db.sql`select (select count(*)::int from orders.orders) as orders, (select count(*)::int from events.events) as events`;
    const order = await gql(
      stack.gatewayUrl,
      'mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { id } }',
      { input: { userId: alice.id, productId: sku, quantity: 1 } },
      bob.headers,
    );
    expect(codes(order)).toEqual(['FORBIDDEN']);
    const event = await gql(
      stack.gatewayUrl,
      'mutation($input: AddEventInput!) { addEvent(input: $input) { id } }',
      { input: { userId: alice.id, name: 'in her name' } },
      bob.headers,
    );
    expect(codes(event)).toEqual(['FORBIDDEN']);
    expect(await stack.db.sql`select (select count(*)::int from orders.orders) as orders, (select count(*)::int from events.events) as events`).toEqual(before);
  });

  it('cannot make up an identity with headers: only the verified token counts', async () => {
    const spoofed = {
      'x-user-id': alice.id,
      'x-user-roles': 'admin',
      'x-roles': 'admin',
      'x-role': 'admin',
      'x-viewer-id': alice.id,
      'x-forwarded-user': alice.id,
      'x-service-key': 'guess-the-service-key',
    };
    const asBob = await gql(
      stack.gatewayUrl,
      'query($o: ID!) { order(id: $o) { id } orders { nodes { id } } }',
      { o: alice.orderId },
      { ...bob.headers, ...spoofed },
    );
    expect(asBob.data).toEqual({ order: null, orders: { nodes: [{ id: bob.orderId }] } });
    const stats = await gql(stack.gatewayUrl, '{ orderStats { total } }', {}, { ...bob.headers, ...spoofed });
    expect(codes(stats)).toEqual(['FORBIDDEN']);
    const anonymous = await gql(stack.gatewayUrl, '{ me { id } orders { nodes { id } } }', {}, spoofed);
    expect(anonymous.data?.me ?? null).toBeNull();
    expect(codes(anonymous)).toEqual(['UNAUTHENTICATED']);
    expectNoneOfAlice(asBob);
    expectNoneOfAlice(anonymous);
  });

  it('the gateway forwards the verified bearer token to subgraphs, and none of the identity headers a client sent', async () => {
    const proxy = await startRecordingProxy(new URL(stack.urls.orders!).origin);
    const gateway = await createGateway({ config: { ...stack.config, ORDERS_URL: `${proxy.url}/graphql` }, logger: createLogger('access-gateway', 'silent') });
    const http = await listen(gateway.app, 0);
    try {
      const res = await gql(`${http.url}/graphql`, '{ orders { totalCount } }', {}, { ...bob.headers, 'x-user-id': alice.id, 'x-user-roles': 'admin' });
      expect(res.data).toEqual({ orders: { totalCount: 1 } });
      const sent = proxy.exchanges.find((e) => e.path === '/graphql')!;
      expect(sent.requestHeaders.authorization).toBe(bob.headers.authorization);
      for (const name of ['x-user-id', 'x-user-roles']) expect(sent.requestHeaders, name).not.toHaveProperty(name);
    } finally {
      await http.close();
      await gateway.close();
      await proxy.close();
    }
  });
});

describe('admin-only operations', () => {
  const operations: [string, string, () => Record<string, unknown>][] = [
    [
      'createProduct',
      'mutation($id: ID!) { createProduct(input: { id: $id, name: "X", priceCents: 1, stock: 1 }) { id } }',
      () => ({ id: `NEW-${randomUUID().slice(0, 8)}` }),
    ],
    ['restockProduct', 'mutation($id: ID!) { restockProduct(id: $id, quantity: 5) { id stock } }', () => ({ id: sku })],
    ['orderStats', '{ orderStats { total byStatus { status count } } }', () => ({})],
    ['users', '{ users(first: 100) { totalCount nodes { id email } } }', () => ({})],
    ['retryNotification', 'mutation($id: ID!) { retryNotification(id: $id) { id } }', () => ({ id: alice.notificationId })],
    ['Product.movements', 'query($id: ID!) { product(id: $id) { id movements { kind quantity orderId } } }', () => ({ id: sku })],
  ];

  it.each(operations)('%s: UNAUTHENTICATED anonymous, FORBIDDEN for a user, and changes nothing', async (_name, query, variables) => {
    const stock = async () => (await stack.db.sql`select stock from inventory.products where id = ${sku}`)[0]!.stock;
    const products = async () => (await stack.db.sql`select count(*)::int as n from inventory.products`)[0]!.n;
    const [stockBefore, productsBefore] = [await stock(), await products()];
    const anonymous = await gql(stack.gatewayUrl, query, variables());
    expect(codes(anonymous)).toEqual(['UNAUTHENTICATED']);
    const user = await gql(stack.gatewayUrl, query, variables(), bob.headers);
    expect(codes(user)).toEqual(['FORBIDDEN']);
    expectNoneOfAlice(user, [alice.notificationId]);
    expect(JSON.stringify(user.data ?? null)).not.toContain('RESERVE');
    expect([await stock(), await products()]).toEqual([stockBefore, productsBefore]);
  });

  it.each(operations)('%s: works for an admin', async (name, query, variables) => {
    const res = await gql(stack.gatewayUrl, query, variables(), stack.admin);
    if (name === 'retryNotification') {
      // Past the role check: the notification is not FAILED.
      expect(codes(res)).toEqual(['BAD_USER_INPUT']);
      return;
    }
    expect(res.errors).toBeUndefined();
    if (name === 'users')
      expect(res.data!.users.nodes).toEqual(
        expect.arrayContaining([
          { id: alice.id, email: alice.email },
          { id: bob.id, email: bob.email },
        ]),
      );
    if (name === 'Product.movements') expect(res.data!.product.movements.length).toBeGreaterThan(0);
  });

  it('an admin reads and acts on anyone’s data, and lists everyone’s', async () => {
    const data = await gqlData(
      stack.gatewayUrl,
      `query($o: ID!, $n: ID!, $u: ID!) {
        order(id: $o) { id }
        notification(id: $n) { id }
        user(id: $u) { email orders { id } notifications { id } enrichment { status } }
        theirs: orders(userId: $u) { nodes { id } }
        all: orders(first: 100) { totalCount }
        notifications(first: 100) { totalCount }
      }`,
      { o: alice.orderId, n: alice.notificationId, u: alice.id },
      stack.admin,
    );
    expect(data.order.id).toBe(alice.orderId);
    expect(data.notification.id).toBe(alice.notificationId);
    expect(data.user).toMatchObject({ email: alice.email, orders: [{ id: alice.orderId }], notifications: [{ id: alice.notificationId }] });
    expect(data.theirs.nodes).toEqual([{ id: alice.orderId }]);
    expect(data.all.totalCount).toBeGreaterThanOrEqual(2);
    expect(data.notifications.totalCount).toBeGreaterThanOrEqual(2);
    const placed = await gqlData(
      stack.gatewayUrl,
      'mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { id user { id } } }',
      { input: { userId: alice.id, productId: sku, quantity: 1 } },
      stack.admin,
    );
    expect(placed.placeOrder.user.id).toBe(alice.id);
    const cancelled = await gqlData(stack.gatewayUrl, 'mutation($id: ID!) { cancelOrder(id: $id) { status } }', { id: placed.placeOrder.id }, stack.admin);
    expect(cancelled.cancelOrder.status).toBe('CANCELLED');
  });
});
