import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { subgraphTest } from '../../../test/support/subgraph.ts';
import { createOrdersSubgraph } from '../server.ts';

// Signed in as an admin unless a call sends its own Authorization (a test identity provider's key, over HTTP).
const setup = subgraphTest('orders', createOrdersSubgraph);
const { gql, gqlData } = setup;

const ORDER_FIELDS = `id userId product { id } quantity status failureReason attempts idempotencyKey history { status at reason } createdAt updatedAt`;
const PLACE = `mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { ${ORDER_FIELDS} } }`;
const CANCEL = `mutation($id: ID!) { cancelOrder(id: $id) { ${ORDER_FIELDS} } }`;
const STATS = `{ orderStats { total byStatus { status count } } }`;

const place = async (input: Record<string, unknown>) => (await gqlData(setup.url, PLACE, { input })).placeOrder;
const rows = async (table: 'orders' | 'order_status_changes' | 'outbox') =>
  (await setup.database.sql.unsafe(`select count(*)::int as n from orders.${table}`))[0]!.n as number;
const setStatus = (id: string, status: string) => setup.database.sql`update orders.orders set status = ${status} where id = ${id}`;

describe('orderStats', () => {
  it('lists every status with zeros before any order, in one statement', async () => {
    setup.database.statements.length = 0;
    const { orderStats } = await gqlData(setup.url, STATS);
    expect(orderStats).toEqual({
      total: 0,
      byStatus: ['PENDING', 'PROCESSING', 'CONFIRMED', 'FAILED', 'CANCELLED'].map((status) => ({ status, count: 0 })),
    });
    expect(setup.database.statements).toHaveLength(1);
  });
});

describe('placeOrder', () => {
  it('accepts an order as PENDING with its first history row and an orders outbox row carrying the request ids', async () => {
    const userId = randomUUID();
    const res = await gql(
      setup.url,
      PLACE,
      { input: { userId, productId: 'MUG-1', quantity: 2 } },
      { 'x-request-id': 'req-place-1', 'x-correlation-id': 'corr-place-1' },
    );
    const order = res.data!.placeOrder;
    expect(order).toMatchObject({ userId, product: { id: 'MUG-1' }, quantity: 2, status: 'PENDING', failureReason: null, attempts: 0, idempotencyKey: null });
    expect(order.history).toEqual([{ status: 'PENDING', at: order.createdAt, reason: null }]);
    const outbox = await setup.database.sql`select queue, name, job_id, payload, published_at from orders.outbox where job_id = ${order.id}`;
    expect(outbox).toEqual([
      {
        queue: 'orders',
        name: 'process',
        job_id: order.id,
        payload: { orderId: order.id, requestId: 'req-place-1', correlationId: 'corr-place-1' },
        published_at: null,
      },
    ]);
  });

  it.each([
    [{ userId: 'not-a-uuid' }, 'input.userId'],
    [{ productId: '' }, 'input.productId'],
    [{ productId: 'bad sku!' }, 'input.productId'],
    [{ productId: 'x'.repeat(65) }, 'input.productId'],
    [{ quantity: 0 }, 'input.quantity'],
    [{ quantity: -1 }, 'input.quantity'],
    [{ quantity: 1001 }, 'input.quantity'],
    [{ idempotencyKey: '' }, 'input.idempotencyKey'],
    [{ idempotencyKey: 'k'.repeat(201) }, 'input.idempotencyKey'],
    [{ idempotencyKey: 'nul\u0000key' }, 'input.idempotencyKey'],
  ])('rejects %j with BAD_USER_INPUT on %s and writes nothing', async (change, field) => {
    const before = [await rows('orders'), await rows('order_status_changes'), await rows('outbox')];
    const res = await gql(setup.url, PLACE, { input: { userId: randomUUID(), productId: 'MUG-1', quantity: 1, ...change } });
    expect(res.status).toBe(200);
    expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
    expect([await rows('orders'), await rows('order_status_changes'), await rows('outbox')]).toEqual(before);
  });

  it('accepts the boundaries: quantity 1000, a 200-character key, a 64-character SKU', async () => {
    const order = await place({ userId: randomUUID(), productId: 'S'.repeat(64), quantity: 1000, idempotencyKey: 'k'.repeat(200) });
    expect(order).toMatchObject({ quantity: 1000, idempotencyKey: 'k'.repeat(200), status: 'PENDING' });
  });
});

describe('idempotency', () => {
  it('returns the first order for a repeat with the same key and input, and changes nothing', async () => {
    const userId = randomUUID();
    const input = { userId, productId: 'IDEM-1', quantity: 3, idempotencyKey: `key-${randomUUID()}` };
    const first = await place(input);
    const before = [await rows('orders'), await rows('order_status_changes'), await rows('outbox')];
    const again = await place(input);
    // The same user id in capitals is the same input.
    const upper = await place({ ...input, userId: userId.toUpperCase() });
    expect(again).toEqual(first);
    expect(upper).toEqual(first);
    expect([await rows('orders'), await rows('order_status_changes'), await rows('outbox')]).toEqual(before);
  });

  it.each([{ quantity: 4 }, { productId: 'IDEM-2' }, { userId: randomUUID() }])(
    'fails with CONFLICT when the key is reused with other input %j',
    async (change) => {
      const input = { userId: randomUUID(), productId: 'IDEM-1', quantity: 3, idempotencyKey: `key-${randomUUID()}` };
      const first = await place(input);
      const res = await gql(setup.url, PLACE, { input: { ...input, ...change } });
      expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'CONFLICT', field: 'input.idempotencyKey' });
      const [row] = await setup.database.sql`select count(*)::int as n from orders.orders where idempotency_key = ${input.idempotencyKey}`;
      expect(row!.n).toBe(1);
      expect((await gqlData(setup.url, `query($id: ID!) { order(id: $id) { quantity productId: product { id } } }`, { id: first.id })).order.quantity).toBe(3);
    },
  );

  it('makes exactly one order (and one outbox row) from 20 simultaneous identical requests', async () => {
    const key = `burst-${randomUUID()}`;
    const input = { userId: randomUUID(), productId: 'BURST', quantity: 1, idempotencyKey: key };
    const responses = await Promise.all(Array.from({ length: 20 }, () => gql(setup.url, PLACE, { input })));
    for (const res of responses) expect(res.errors).toBeUndefined();
    const ids = new Set(responses.map((res) => res.data.placeOrder.id));
    expect(ids.size).toBe(1);
    const [id] = [...ids];
    const [counts] = await setup.database.sql`
      select (select count(*)::int from orders.orders where idempotency_key = ${key}) as orders,
             (select count(*)::int from orders.order_status_changes where order_id = ${id!}) as history,
             (select count(*)::int from orders.outbox where job_id = ${id!}) as outbox`;
    expect(counts).toEqual({ orders: 1, history: 1, outbox: 1 });
  });

  it('lets orders without a key repeat freely', async () => {
    const input = { userId: randomUUID(), productId: 'NOKEY', quantity: 1 };
    const [a, b] = [await place(input), await place(input)];
    expect(a.id).not.toBe(b.id);
  });
});

describe('order lookups', () => {
  it('returns null for unknown and malformed ids', async () => {
    const data = await gqlData(setup.url, `{ a: order(id: "00000000-0000-0000-0000-000000000000") { id } b: order(id: "nope") { id } }`);
    expect(data).toEqual({ a: null, b: null });
  });

  it('finds an order by its id in any case', async () => {
    const order = await place({ userId: randomUUID(), productId: 'CASE', quantity: 1 });
    const { order: found } = await gqlData(setup.url, `query($id: ID!) { order(id: $id) { id } }`, { id: order.id.toUpperCase() });
    expect(found).toEqual({ id: order.id });
  });
});

describe('orders', () => {
  const userId = randomUUID();
  const placed: { id: string; createdAt: string }[] = [];
  const newestFirst = (a: { id: string; createdAt: string }, b: { id: string; createdAt: string }) =>
    a.createdAt === b.createdAt ? (a.id < b.id ? 1 : -1) : a.createdAt < b.createdAt ? 1 : -1;

  beforeAll(async () => {
    for (let i = 0; i < 5; i++) placed.push(await place({ userId, productId: `LIST-${i}`, quantity: i + 1 }));
    await setStatus(placed[1]!.id, 'CONFIRMED');
    await setStatus(placed[3]!.id, 'CONFIRMED');
  });

  it('pages one user’s orders newest first with a totalCount and an opaque cursor', async () => {
    const expected = [...placed].sort(newestFirst).map((o) => o.id);
    const seen: string[] = [];
    let after: string | null = null;
    for (;;) {
      const { orders }: any = await gqlData(
        setup.url,
        `query($userId: ID, $after: String) { orders(userId: $userId, first: 2, after: $after) { nodes { id } pageInfo { hasNextPage endCursor } totalCount } }`,
        { userId, after },
      );
      expect(orders.totalCount).toBe(5);
      seen.push(...orders.nodes.map((n: { id: string }) => n.id));
      if (!orders.pageInfo.hasNextPage) break;
      after = orders.pageInfo.endCursor;
    }
    expect(seen).toEqual(expected);
  });

  it('filters by status, alone and with a user', async () => {
    const both = await gqlData(setup.url, `query($userId: ID) { orders(userId: $userId, status: CONFIRMED) { nodes { id status } totalCount } }`, { userId });
    expect(both.orders.totalCount).toBe(2);
    expect(both.orders.nodes.map((n: { id: string }) => n.id).sort()).toEqual([placed[1]!.id, placed[3]!.id].sort());
    const all = await gqlData(setup.url, `{ orders(status: CONFIRMED, first: 100) { nodes { status } totalCount } }`);
    expect(all.orders.totalCount).toBe(2);
    expect(all.orders.nodes.every((n: { status: string }) => n.status === 'CONFIRMED')).toBe(true);
  });

  it('lists every order newest first without filters', async () => {
    const { orders } = await gqlData(setup.url, `{ orders(first: 100) { nodes { id createdAt } totalCount } }`);
    expect(orders.totalCount).toBe(await rows('orders'));
    expect(orders.nodes).toEqual([...orders.nodes].sort(newestFirst));
  });

  it('gives an empty page for a userId that is not a user id', async () => {
    const { orders } = await gqlData(setup.url, `{ orders(userId: "nope") { nodes { id } totalCount pageInfo { hasNextPage endCursor } } }`);
    expect(orders).toEqual({ nodes: [], totalCount: 0, pageInfo: { hasNextPage: false, endCursor: null } });
  });

  it('loads the history of a whole page with one statement', async () => {
    setup.database.statements.length = 0;
    const { orders } = await gqlData(setup.url, `query($userId: ID) { orders(userId: $userId) { nodes { history { status } } } }`, { userId });
    expect(orders.nodes).toHaveLength(5);
    expect(setup.database.statements).toHaveLength(2);
  });

  it.each([
    `orders(first: 0)`,
    `orders(first: 101)`,
    `orders(after: "garbage")`,
    `orders(after: "${Buffer.from(JSON.stringify(['2026-01-01T00:00:00.000Z', 'not-a-uuid'])).toString('base64url')}")`,
    `orders(after: "${Buffer.from(JSON.stringify(['yesterday', randomUUID()])).toString('base64url')}")`,
  ])('rejects %s with BAD_USER_INPUT', async (field) => {
    const res = await gql(setup.url, `{ ${field} { totalCount } }`);
    expect(res.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });
});

describe('cancelOrder', () => {
  it('moves a PENDING order to CANCELLED with a history row, and returns a CANCELLED one unchanged', async () => {
    const order = await place({ userId: randomUUID(), productId: 'CANCEL-1', quantity: 1 });
    const { cancelOrder } = await gqlData(setup.url, CANCEL, { id: order.id });
    expect(cancelOrder.status).toBe('CANCELLED');
    expect(cancelOrder.history.map((h: { status: string }) => h.status)).toEqual(['PENDING', 'CANCELLED']);
    const again = await gqlData(setup.url, CANCEL, { id: order.id });
    expect(again.cancelOrder).toEqual(cancelOrder);
  });

  it('cancels once when many cancellations race', async () => {
    const order = await place({ userId: randomUUID(), productId: 'CANCEL-RACE', quantity: 1 });
    const responses = await Promise.all(Array.from({ length: 10 }, () => gql(setup.url, CANCEL, { id: order.id })));
    for (const res of responses) expect(res.data?.cancelOrder?.status).toBe('CANCELLED');
    const [row] = await setup.database.sql`select count(*)::int as n from orders.order_status_changes where order_id = ${order.id} and status = 'CANCELLED'`;
    expect(row!.n).toBe(1);
  });

  it.each(['PROCESSING', 'CONFIRMED'])('cancels a %s order and queues the release of its stock in the same transaction', async (status) => {
    const order = await place({ userId: randomUUID(), productId: 'CANCEL-3', quantity: 1 });
    await setStatus(order.id, status);
    const { cancelOrder } = await gqlData(setup.url, CANCEL, { id: order.id });
    expect(cancelOrder.status).toBe('CANCELLED');
    const releases = await setup.database.sql`select queue, name, job_id from orders.outbox where payload->>'orderId' = ${order.id} and name = 'release'`;
    expect(releases).toEqual([{ queue: 'orders', name: 'release', job_id: `release-${order.id}` }]);
  });

  it.each(['FAILED'])('refuses to cancel a %s order with BAD_USER_INPUT on id', async (status) => {
    const order = await place({ userId: randomUUID(), productId: 'CANCEL-2', quantity: 1 });
    await setStatus(order.id, status);
    const res = await gql(setup.url, CANCEL, { id: order.id });
    expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'id' });
    const [row] = await setup.database.sql`select status from orders.orders where id = ${order.id}`;
    expect(row!.status).toBe(status);
  });

  it('fails with NOT_FOUND for an unknown or malformed id', async () => {
    for (const id of [randomUUID(), 'nope']) {
      const res = await gql(setup.url, CANCEL, { id });
      expect(res.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    }
  });

  it('counts orders per status in orderStats', async () => {
    const [expected] = await setup.database
      .sql`select count(*)::int as total, count(*) filter (where status = 'CANCELLED')::int as cancelled from orders.orders`;
    const { orderStats } = await gqlData(setup.url, STATS);
    expect(orderStats.total).toBe(expected!.total);
    expect(orderStats.byStatus).toHaveLength(5);
    expect(orderStats.byStatus.find((s: { status: string }) => s.status === 'CANCELLED').count).toBe(expected!.cancelled);
    expect(orderStats.byStatus.reduce((sum: number, s: { count: number }) => sum + s.count, 0)).toBe(expected!.total);
  });
});

describe('federation', () => {
  const alice = randomUUID();
  const bob = randomUUID();
  const USER_ORDERS = `query($representations: [_Any!]!) {
    _entities(representations: $representations) {
      ... on User { id all: orders { id status createdAt } newest: orders(first: 2) { id } confirmed: orders(status: CONFIRMED) { id } }
    }
  }`;

  beforeAll(async () => {
    for (let i = 0; i < 4; i++) await place({ userId: alice, productId: `FED-${i}`, quantity: 1 });
    await place({ userId: bob, productId: 'FED-B', quantity: 1 });
    await setup.database
      .sql`update orders.orders set status = 'CONFIRMED' where id = (select id from orders.orders where user_id = ${alice} order by created_at, id limit 1)`;
  });

  it('resolves User.orders for User representations, newest first, with one statement per argument set', async () => {
    const representations = [alice, bob, randomUUID(), 'not-a-uuid'].map((id) => ({ __typename: 'User', id }));
    setup.database.statements.length = 0;
    const { _entities } = await gqlData(setup.url, USER_ORDERS, { representations });
    const [a, b, nobody, malformed] = _entities;
    expect(a.all).toHaveLength(4);
    expect(a.all.map((o: { createdAt: string }) => o.createdAt)).toEqual(
      a.all
        .map((o: { createdAt: string }) => o.createdAt)
        .sort()
        .reverse(),
    );
    expect(a.newest).toEqual(a.all.slice(0, 2).map((o: { id: string }) => ({ id: o.id })));
    expect(a.confirmed).toEqual([{ id: a.all.find((o: { status: string }) => o.status === 'CONFIRMED').id }]);
    expect(b.all).toHaveLength(1);
    expect(b.confirmed).toEqual([]);
    expect(nobody).toMatchObject({ all: [], newest: [], confirmed: [] });
    expect(malformed).toMatchObject({ all: [], newest: [], confirmed: [] });
    expect(setup.database.statements).toHaveLength(3);
  });

  it('rejects User.orders(first: 101) with BAD_USER_INPUT', async () => {
    const res = await gql(setup.url, `query($r: [_Any!]!) { _entities(representations: $r) { ... on User { orders(first: 101) { id } } } }`, {
      r: [{ __typename: 'User', id: alice }],
    });
    expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'first' });
  });

  it('resolves Order representations with one statement, null for unknown or malformed ids', async () => {
    const { orders } = await gqlData(setup.url, `{ orders(first: 50) { nodes { id } } }`);
    const ids = orders.nodes.map((n: { id: string }) => n.id);
    const representations = [...ids, randomUUID(), 'nope'].map((id) => ({ __typename: 'Order', id }));
    setup.database.statements.length = 0;
    const { _entities } = await gqlData(setup.url, `query($r: [_Any!]!) { _entities(representations: $r) { ... on Order { id product { id } userId } } }`, {
      r: representations,
    });
    expect(_entities.slice(0, ids.length).map((o: { id: string }) => o.id)).toEqual(ids);
    expect(_entities.slice(ids.length)).toEqual([null, null]);
    expect(setup.database.statements).toHaveLength(1);
  });
});
