import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SERVICE_KEY_HEADER } from '../../common/auth.ts';
import { gql, gqlData, type GraphQLResponse } from '../support/graphql.ts';
import { startStack, type Stack } from '../support/stack.ts';

/**
 * Invariant 7 for callers that skip the gateway: every subgraph verifies the
 * token itself and enforces the rules for what it owns, `_entities` included;
 * internal operations need the workers' service identity or an admin.
 */

let stack: Stack;
let alice: { id: string; email: string; headers: Record<string, string>; orderId: string; notificationId: string };
let bob: Record<string, string>;
let sku: string;

const codes = (res: GraphQLResponse) => (res.errors ?? []).map((e) => e.extensions?.code);
const url = (name: 'users' | 'orders' | 'notifications' | 'inventory' | 'events') => stack.urls[name]!;
const ENTITIES = (fragment: string) => `query($r: [_Any!]!) { _entities(representations: $r) { ${fragment} } }`;

beforeAll(async () => {
  stack = await startStack('subgraph_access', { env: { EVENT_REGISTRY_URL: '' } });
  sku = `SKU-${randomUUID().slice(0, 8)}`;
  await gqlData(
    stack.gatewayUrl,
    'mutation($input: CreateProductInput!) { createProduct(input: $input) { id } }',
    { input: { id: sku, name: 'Mug', priceCents: 100, stock: 50 } },
    stack.admin,
  );
  const email = `alice-${randomUUID().slice(0, 8)}@example.com`;
  const { createUser } = await gqlData(stack.gatewayUrl, 'mutation($input: CreateUserInput!) { createUser(input: $input) { id } }', {
    input: { name: 'alice', email },
  });
  const headers = await stack.as(createUser.id);
  const { placeOrder } = await gqlData(stack.gatewayUrl, 'mutation($s: ID!) { placeOrder(input: { productId: $s, quantity: 1 }) { id } }', { s: sku }, headers);
  const { ingestEvent } = await gqlData(
    stack.gatewayUrl,
    'mutation($input: IngestEventInput!) { ingestEvent(input: $input) { eventId } }',
    { input: { eventType: 'welcome', timestamp: new Date().toISOString(), payload: { userId: createUser.id } } },
    { 'x-api-key': 'test-stack-ingest-key' },
  );
  const [row] = await stack.db.sql`select id from notifications.notifications where event_id = ${ingestEvent.eventId}`;
  alice = { id: createUser.id, email, headers, orderId: placeOrder.id, notificationId: row!.id };
  bob = await stack.as(randomUUID());
});

afterAll(async () => {
  await stack?.close();
});

function expectNoneOfAlice(res: GraphQLResponse, named: string[] = []) {
  const body = JSON.stringify({ data: res.data, errors: res.errors });
  for (const secret of [alice.email, alice.orderId, alice.notificationId].filter((s) => !named.includes(s))) expect(body).not.toContain(secret);
}

describe('_entities straight to a subgraph', () => {
  it('orders: someone else’s Order resolves to null; User.orders is UNAUTHENTICATED or FORBIDDEN', async () => {
    const order = ENTITIES('... on Order { id status userId history { status } }');
    for (const headers of [{}, bob]) {
      const res = await gql(url('orders'), order, { r: [{ __typename: 'Order', id: alice.orderId }] }, headers);
      expect(res.errors).toBeUndefined();
      expect(res.data!._entities).toEqual([null]);
    }
    const own = await gqlData(url('orders'), order, { r: [{ __typename: 'Order', id: alice.orderId }] }, alice.headers);
    expect(own._entities[0]).toMatchObject({ id: alice.orderId, userId: alice.id });

    const userOrders = ENTITIES('... on User { id orders { id } }');
    const anonymous = await gql(url('orders'), userOrders, { r: [{ __typename: 'User', id: alice.id }] });
    expect(codes(anonymous)).toEqual(['UNAUTHENTICATED']);
    const other = await gql(url('orders'), userOrders, { r: [{ __typename: 'User', id: alice.id }] }, bob);
    expect(codes(other)).toEqual(['FORBIDDEN']);
    expectNoneOfAlice(anonymous);
    expectNoneOfAlice(other);
  });

  it('users: someone else’s email and enrichment are FORBIDDEN', async () => {
    for (const field of ['email', 'enrichment { status company }']) {
      const query = ENTITIES(`... on User { id ${field} }`);
      expect(codes(await gql(url('users'), query, { r: [{ __typename: 'User', id: alice.id }] })), field).toEqual(['UNAUTHENTICATED']);
      const res = await gql(url('users'), query, { r: [{ __typename: 'User', id: alice.id }] }, bob);
      expect(codes(res), field).toEqual(['FORBIDDEN']);
      expectNoneOfAlice(res);
    }
    const own = await gqlData(url('users'), ENTITIES('... on User { email }'), { r: [{ __typename: 'User', id: alice.id }] }, alice.headers);
    expect(own._entities).toEqual([{ email: alice.email }]);
  });

  it('notifications: someone else’s Notification resolves to null; User.notifications is FORBIDDEN', async () => {
    const query = ENTITIES('... on Notification { id type recipientId }');
    for (const headers of [{}, bob]) {
      const res = await gqlData(url('notifications'), query, { r: [{ __typename: 'Notification', id: alice.notificationId }] }, headers);
      expect(res._entities).toEqual([null]);
    }
    const res = await gql(url('notifications'), ENTITIES('... on User { notifications { id } }'), { r: [{ __typename: 'User', id: alice.id }] }, bob);
    expect(codes(res)).toEqual(['FORBIDDEN']);
    expectNoneOfAlice(res);
  });

  it('root fields straight to a subgraph follow the same rules as through the gateway', async () => {
    const order = await gqlData(url('orders'), 'query($id: ID!) { order(id: $id) { id } }', { id: alice.orderId }, bob);
    expect(order.order).toBeNull();
    expect(codes(await gql(url('orders'), '{ orders { nodes { id } } }'))).toEqual(['UNAUTHENTICATED']);
    expect(codes(await gql(url('orders'), 'query($u: ID!) { orders(userId: $u) { nodes { id } } }', { u: alice.id }, bob))).toEqual(['FORBIDDEN']);
    const notification = await gqlData(url('notifications'), 'query($id: ID!) { notification(id: $id) { id } }', { id: alice.notificationId }, bob);
    expect(notification.notification).toBeNull();
  });

  it('a bad token straight to a subgraph is HTTP 401, and made-up identity headers count for nothing', async () => {
    for (const name of ['users', 'orders', 'notifications', 'inventory', 'events'] as const) {
      const res = await gql(url(name), '{ __typename }', {}, { authorization: `Bearer ${(await stack.identity.badTokens(alice.id)).wrongKey}` });
      expect(res.status, name).toBe(401);
      expect(codes(res)).toEqual(['UNAUTHENTICATED']);
    }
    const spoofed = { 'x-user-id': alice.id, 'x-user-roles': 'admin', 'x-roles': 'admin', 'x-viewer-id': alice.id };
    expect(codes(await gql(url('orders'), '{ orders { nodes { id } } }', {}, spoofed))).toEqual(['UNAUTHENTICATED']);
    const asBob = await gqlData(url('orders'), 'query($id: ID!) { order(id: $id) { id } }', { id: alice.orderId }, { ...bob, ...spoofed });
    expect(asBob.order).toBeNull();
    expect(codes(await gql(url('orders'), '{ orderStats { total } }', {}, { ...bob, ...spoofed }))).toEqual(['FORBIDDEN']);
  });
});

describe('internal operations', () => {
  const RESERVE = 'mutation($o: ID!, $p: ID!) { reserveStock(orderId: $o, productId: $p, quantity: 2) { outcome applied } }';
  const RELEASE = 'mutation($o: ID!) { releaseStock(orderId: $o) { outcome } }';
  const stock = async () => (await stack.db.sql`select stock, reserved from inventory.products where id = ${sku}`)[0];

  it('reserveStock and releaseStock: UNAUTHENTICATED anonymous or with a wrong service key, FORBIDDEN for a user; nothing moves', async () => {
    const before = await stock();
    const orderId = randomUUID();
    for (const [who, headers, code] of [
      ['anonymous', {}, 'UNAUTHENTICATED'],
      ['wrong service key', { [SERVICE_KEY_HEADER]: 'not-the-service-key' }, 'UNAUTHENTICATED'],
      ['user', bob, 'FORBIDDEN'],
      ['the order’s owner', alice.headers, 'FORBIDDEN'],
    ] as const) {
      expect(codes(await gql(url('inventory'), RESERVE, { o: orderId, p: sku }, headers)), who).toEqual([code]);
      expect(codes(await gql(url('inventory'), RELEASE, { o: orderId }, headers)), who).toEqual([code]);
    }
    expect(await stock()).toEqual(before);
    expect(await stack.db.sql`select count(*)::int as n from inventory.stock_movements where order_id = ${orderId}`).toEqual([{ n: 0 }]);
  });

  it('reserveStock and releaseStock work for the workers’ service key and for an admin', async () => {
    const before = await stock();
    const viaService = randomUUID();
    expect((await gqlData(url('inventory'), RESERVE, { o: viaService, p: sku }, stack.service)).reserveStock).toEqual({ outcome: 'RESERVED', applied: true });
    const viaAdmin = randomUUID();
    expect((await gqlData(url('inventory'), RESERVE, { o: viaAdmin, p: sku }, stack.admin)).reserveStock).toEqual({ outcome: 'RESERVED', applied: true });
    expect((await gqlData(url('inventory'), RELEASE, { o: viaService }, stack.service)).releaseStock.outcome).toBe('RELEASED');
    expect((await gqlData(url('inventory'), RELEASE, { o: viaAdmin }, stack.admin)).releaseStock.outcome).toBe('RELEASED');
    expect(await stock()).toEqual(before);
  });

  it('/internal/gremlin: 401 anonymous, 403 for a user, allowed for the service key and an admin', async () => {
    const gremlin = url('inventory').replace(/\/graphql$/, '/internal/gremlin');
    const set = (headers: Record<string, string>) =>
      fetch(gremlin, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ every: 1000, latencyMs: 1 }) });
    expect((await set({})).status).toBe(401);
    expect((await set({ [SERVICE_KEY_HEADER]: 'not-the-service-key' })).status).toBe(401);
    expect((await set({ authorization: 'Bearer forged' })).status).toBe(401);
    expect((await set(bob)).status).toBe(403);
    expect((await fetch(gremlin)).status).toBe(401);
    expect(await (await fetch(gremlin, { headers: stack.service })).json()).toEqual({ gremlin: null });
    expect((await set(stack.service)).status).toBe(200);
    expect((await fetch(gremlin, { method: 'DELETE', headers: stack.admin })).status).toBe(200);
  });

  it('_service (the subgraph SDL) is refused to anonymous callers and users, served to the service key and an admin', async () => {
    for (const name of ['users', 'orders', 'notifications', 'inventory', 'events'] as const) {
      expect(codes(await gql(url(name), '{ _service { sdl } }')), name).toEqual(['UNAUTHENTICATED']);
      expect(codes(await gql(url(name), '{ _service { sdl } }', {}, bob)), name).toEqual(['FORBIDDEN']);
      expect((await gqlData(url(name), '{ _service { sdl } }', {}, stack.service))._service.sdl, name).toContain('type Query');
    }
    expect((await gqlData(url('inventory'), '{ _service { sdl } }', {}, stack.admin))._service.sdl).toContain('reserveStock');
  });
});
