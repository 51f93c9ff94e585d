import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gql, gqlData } from '../../../test/support/graphql.ts';
import { createTestDatabase, type TestDatabase } from '../../../test/support/db.ts';
import { startTestIdentity, type TestIdentity } from '../../../test/support/identity.ts';
import { CANCEL_ORDER, placeFor, startOrders, workerTransitions, type OrdersServer } from '../../../test/support/orders-subscriptions.ts';
import { SseSubscription, wsClient, WsSubscription, type Received } from '../../../test/support/subscriptions.ts';
import { metric as readMetric } from '../../../test/support/metrics.ts';

/**
 * The orders subgraph's own subscriptions over real HTTP and WebSockets, with
 * real tokens and a real database; the transitions are made as the workers
 * make them (OrderProcessing) and through the subgraph's mutations.
 */
let idp: TestIdentity;
let database: TestDatabase;
let orders: OrdersServer;
let transitions: ReturnType<typeof workerTransitions>;
const alice = randomUUID();
const bob = randomUUID();
const auth = (userId: string, roles: string[] = []) => idp.headers(userId, roles);

const ORDER_UPDATED = `subscription($id: ID!) { orderUpdated(id: $id) { __typename id status failureReason history { status } } }`;
const ORDER_UPDATES = `subscription($userId: ID, $after: String) { orderUpdates(userId: $userId, after: $after) { cursor change { status at reason } order { id status } } }`;

beforeAll(async () => {
  idp = await startTestIdentity();
  database = await createTestDatabase('subscriptions');
  orders = await startOrders(database.db, idp, { SUBSCRIPTION_HEARTBEAT_MS: '300' });
  transitions = workerTransitions(database.db);
});

afterAll(async () => {
  await orders?.close();
  await idp?.close();
  await database?.drop();
});

/** A subscription over GraphQL over SSE (headers: the Authorization), or graphql-ws (connectionParams.authorization). */
async function subscribe(
  protocol: 'sse' | 'ws',
  query: string,
  variables: Record<string, unknown>,
  headers: Record<string, string>,
): Promise<Received & { close(): void }> {
  const started = orders.subgraph.streams!.started(protocol);
  let stream: Received & { close(): void };
  if (protocol === 'sse') {
    const sse = await SseSubscription.open(orders.url, { query, variables }, headers);
    expect(sse.contentType).toContain('text/event-stream');
    stream = sse;
  } else {
    stream = new WsSubscription(wsClient(orders.url, headers.authorization ? { authorization: headers.authorization } : {}), { query, variables });
  }
  // Neither protocol acknowledges a subscription: wait until the server has registered it (or answered it, if it
  // refused), so a change the test makes next is in it (under load the change could otherwise commit first, and
  // rightly not be sent).
  await expect
    .poll(() => orders.subgraph.streams!.started(protocol) > started || stream.results.length > 0 || stream.done, {
      timeout: 10_000,
      interval: 20,
      message: 'the subscription to be registered',
    })
    .toBe(true);
  return stream;
}

describe.each(['sse', 'ws'] as const)('orderUpdated over %s', (protocol) => {
  it('sends the order as it is now, then the order as each change left it, PENDING → PROCESSING → CONFIRMED → CANCELLED, and completes', async () => {
    const id = await placeFor(orders.url, idp, alice);
    const stream = await subscribe(protocol, ORDER_UPDATED, { id }, await auth(alice));
    expect(await stream.next()).toEqual({
      data: { orderUpdated: { __typename: 'Order', id, status: 'PENDING', failureReason: null, history: [{ status: 'PENDING' }] } },
    });
    // A worker's attempt, then its result; then the client cancels through the subgraph.
    const processing = await transitions.begin(id);
    await transitions.processing.confirm(processing);
    const cancelled = await gqlData(orders.url, CANCEL_ORDER, { id }, await auth(alice));
    expect(cancelled.cancelOrder.status).toBe('CANCELLED');

    const statuses = ['PROCESSING', 'CONFIRMED', 'CANCELLED'];
    for (const [i, status] of statuses.entries()) {
      const event = await stream.next();
      expect(event.errors).toBeUndefined();
      // As of that change: its status, and the history up to it.
      expect(event.data!.orderUpdated).toEqual({
        __typename: 'Order',
        id,
        status,
        failureReason: null,
        history: ['PENDING', ...statuses.slice(0, i + 1)].map((s) => ({ status: s })),
      });
    }
    expect(await stream.ended).toEqual({ complete: true });
    expect(stream.results).toHaveLength(4);
  });

  it("answers NOT_FOUND for someone else's order and for an unknown id, sends nothing of the order, and ends", async () => {
    const id = await placeFor(orders.url, idp, alice);
    for (const target of [id, randomUUID(), 'not-an-id']) {
      const stream = await subscribe(protocol, ORDER_UPDATED, { id: target }, await auth(bob));
      const event = await stream.next();
      expect(event.data ?? null).toBeNull();
      expect(event.errors).toHaveLength(1);
      expect(event.errors![0]!.extensions?.code).toBe('NOT_FOUND');
      expect(await stream.ended).toEqual({ complete: true });
      expect(stream.results).toHaveLength(1);
    }
    // Changes to Alice's order reach no stream of Bob's: he has none open, and an admin's still works.
    const admin = await subscribe(protocol, ORDER_UPDATED, { id }, await auth(randomUUID(), ['admin']));
    expect((await admin.next()).data!.orderUpdated).toMatchObject({ id, status: 'PENDING' });
    admin.close();
  });

  it('answers UNAUTHENTICATED to an anonymous subscriber', async () => {
    const id = await placeFor(orders.url, idp, alice);
    for (const [query, variables] of [
      [ORDER_UPDATED, { id }],
      [ORDER_UPDATES, {}],
    ] as const) {
      const stream = await subscribe(protocol, query, variables, {});
      const event = await stream.next();
      expect(event.data ?? null).toBeNull();
      expect(event.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      expect(await stream.ended).toEqual({ complete: true });
    }
  });

  it("ends the stream with UNAUTHENTICATED when the subscriber's token expires, after the events before it", async () => {
    const id = await placeFor(orders.url, idp, alice);
    const token = await idp.token(alice, { expiresIn: 3 });
    const expiresAt = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()).exp * 1000;
    const stream = await subscribe(protocol, ORDER_UPDATED, { id }, { authorization: `Bearer ${token}` });
    expect((await stream.next()).data!.orderUpdated.status).toBe('PENDING');
    await transitions.begin(id);
    expect((await stream.next()).data!.orderUpdated.status).toBe('PROCESSING');
    const last = await stream.next(10_000);
    expect(Date.now()).toBeGreaterThanOrEqual(expiresAt);
    expect(last.data ?? null).toBeNull();
    expect(last.errors?.[0]).toMatchObject({ path: ['orderUpdated'], extensions: { code: 'UNAUTHENTICATED' } });
    expect(last.errors?.[0]?.message).toMatch(/expired/);
    expect(await stream.ended).toEqual({ complete: true });
  });
});

describe.each(['sse', 'ws'] as const)('orderUpdates over %s', (protocol) => {
  it("sends each change of the viewer's own orders with a cursor, and none of anyone else's", async () => {
    const stream = await subscribe(protocol, ORDER_UPDATES, {}, await auth(alice));
    // Subscribed before these changes: a marker change shows the stream is live.
    const mine = await placeFor(orders.url, idp, alice);
    const theirs = await placeFor(orders.url, idp, bob);
    await transitions.confirm(theirs);
    await transitions.confirm(mine);
    const events = [await stream.next(), await stream.next(), await stream.next()];
    expect(events.map((e) => [e.data!.orderUpdates.order.id, e.data!.orderUpdates.change.status])).toEqual([
      [mine, 'PENDING'],
      [mine, 'PROCESSING'],
      [mine, 'CONFIRMED'],
    ]);
    for (const e of events) expect(e.data!.orderUpdates.cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(new Set(events.map((e) => e.data!.orderUpdates.cursor)).size).toBe(3);
    expect(JSON.stringify(stream.results)).not.toContain(theirs);
    stream.close();
  });

  it('resumes exactly after a cursor: every later change once, in commit order, then live', async () => {
    const first = await subscribe(protocol, ORDER_UPDATES, { after: null }, await auth(alice));
    const id = await placeFor(orders.url, idp, alice);
    await first.next();
    const order = await transitions.begin(id);
    const processing = await first.next();
    first.close();
    // While nobody listens: the order is confirmed and cancelled.
    await transitions.processing.confirm(order);
    await gqlData(orders.url, CANCEL_ORDER, { id }, await auth(alice));
    const resumed = await subscribe(protocol, ORDER_UPDATES, { after: processing.data!.orderUpdates.cursor }, await auth(alice));
    const replayed = [await resumed.next(), await resumed.next()];
    expect(replayed.map((e) => e.data!.orderUpdates.change.status)).toEqual(['CONFIRMED', 'CANCELLED']);
    // Then live, with nothing repeated at the seam.
    const next = await placeFor(orders.url, idp, alice);
    const live = await resumed.next();
    expect(live.data!.orderUpdates).toMatchObject({ change: { status: 'PENDING' }, order: { id: next } });
    expect(resumed.results).toHaveLength(3);
    resumed.close();
  });

  it('refuses a cursor that is not one, or is older than SUBSCRIPTION_REPLAY_HOURS, with BAD_USER_INPUT naming after', async () => {
    const id = await placeFor(orders.url, idp, alice);
    const [old] =
      await database.sql`update orders.order_status_changes set at = now() - interval '25 hours' where order_id = ${id} returning id, position::text`;
    const oldCursor = Buffer.from(`c1:${old!.position}:${old!.id}`).toString('base64url');
    const forged = Buffer.from(`c1:${old!.position}:${Number(old!.id) + 10_000_000}`).toString('base64url');
    for (const after of ['nope', '', 'YWJj', forged, oldCursor]) {
      const stream = await subscribe(protocol, ORDER_UPDATES, { after }, await auth(alice));
      const event = await stream.next();
      expect(event.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'after' });
      expect(await stream.ended).toEqual({ complete: true });
    }
  });

  it("lets an admin follow one user's or every order, and no one else name another user (FORBIDDEN)", async () => {
    const forbidden = await subscribe(protocol, ORDER_UPDATES, { userId: alice }, await auth(bob));
    expect((await forbidden.next()).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const admin = await auth(randomUUID(), ['admin']);
    const ofAlice = await subscribe(protocol, ORDER_UPDATES, { userId: alice }, admin);
    const everyone = await subscribe(protocol, ORDER_UPDATES, {}, admin);
    const hers = await placeFor(orders.url, idp, alice);
    const his = await placeFor(orders.url, idp, bob);
    expect((await ofAlice.next()).data!.orderUpdates.order.id).toBe(hers);
    const all = [await everyone.next(), await everyone.next()].map((e) => e.data!.orderUpdates.order.id);
    expect(all).toEqual([hers, his]);
    ofAlice.close();
    everyone.close();
  });
});

describe('transports', () => {
  it('serves GraphQL over SSE by GET too (as Hive Gateway subscribes), with heartbeat comments', async () => {
    const id = await placeFor(orders.url, idp, alice);
    const stream = await SseSubscription.open(orders.url, { query: ORDER_UPDATED, variables: { id } }, await auth(alice), 'GET');
    expect((await stream.next()).data!.orderUpdated.status).toBe('PENDING');
    // SUBSCRIPTION_HEARTBEAT_MS is 300 here.
    const comments = stream.comments;
    await stream.until(() => stream.comments >= comments + 3, 5000, 'three heartbeats');
    stream.close();
  });

  it('answers a bad token with HTTP 401 over SSE and closes a WebSocket with 4401', async () => {
    const bad = (await idp.badTokens(alice)).expired;
    const stream = await SseSubscription.open(orders.url, { query: ORDER_UPDATES }, { authorization: `Bearer ${bad}` });
    expect(stream.status).toBe(401);
    expect(stream.body.errors[0].extensions.code).toBe('UNAUTHENTICATED');

    const closed = new Promise<{ code: number; reason: string }>((resolve) => {
      const socket = new WebSocket(orders.url.replace(/^http/, 'ws'), 'graphql-transport-ws');
      socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${bad}` } })));
      socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() }));
    });
    expect(await closed).toEqual({ code: 4401, reason: 'invalid bearer token: expired' });
  });

  it("runs a graphql-ws operation as the token in its extensions.authorization, whatever the connection's", async () => {
    const id = await placeFor(orders.url, idp, alice);
    // One socket signed in as nobody, as a gateway multiplexing its subscribers.
    const client = wsClient(orders.url);
    const asAlice = new WsSubscription(client, { query: ORDER_UPDATED, variables: { id }, extensions: { authorization: (await auth(alice)).authorization } });
    const asBob = new WsSubscription(client, { query: ORDER_UPDATED, variables: { id }, extensions: { authorization: (await auth(bob)).authorization } });
    const anonymous = new WsSubscription(client, { query: ORDER_UPDATED, variables: { id } });
    const forged = new WsSubscription(client, { query: ORDER_UPDATED, variables: { id }, extensions: { authorization: 'Bearer forged' } });
    expect((await asAlice.next()).data!.orderUpdated.id).toBe(id);
    expect((await asBob.next()).errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect((await anonymous.next()).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    // A bad per-operation token: an error message for that operation alone.
    expect(await forged.ended).toMatchObject({ error: [expect.objectContaining({ extensions: expect.objectContaining({ code: 'UNAUTHENTICATED' }) })] });
    asAlice.close();
    await client.dispose();
  });

  it('pings graphql-ws connections every SUBSCRIPTION_HEARTBEAT_MS', async () => {
    const pings = await new Promise<number>((resolve) => {
      const socket = new WebSocket(orders.url.replace(/^http/, 'ws'), 'graphql-transport-ws');
      let count = 0;
      socket.on('ping', () => {
        count += 1;
        if (count === 3) {
          socket.close();
          resolve(count);
        }
      });
      socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: {} })));
    });
    expect(pings).toBe(3);
  });

  it('answers a subscription sent as a plain POST with 400, saying where subscriptions are served', async () => {
    const res = await gql(orders.url, ORDER_UPDATES, {}, await auth(alice));
    expect(res.status).toBe(400);
    expect(res.errors?.[0]?.extensions?.code).toBe('BAD_REQUEST');
    expect(res.errors?.[0]?.message).toMatch(/text\/event-stream/);
  });

  it('counts open subscriptions by protocol and events delivered on /metrics', async () => {
    const metric = (name: string, labels: Record<string, string>) => readMetric(orders.base, name, labels);
    // The streams of earlier tests are gone (their clients left) before counting: only this test's count changes.
    await expect.poll(() => orders.subgraph.streams!.count(), { timeout: 10_000, interval: 20, message: 'earlier streams to close' }).toBe(0);
    const before = {
      sse: await metric('junction_subgraph_subscriptions_open', { protocol: 'sse' }),
      ws: await metric('junction_subgraph_subscriptions_open', { protocol: 'ws' }),
    };
    const events = await metric('junction_subgraph_subscription_events_total', { field: 'orderUpdates' });
    const sse = await subscribe('sse', ORDER_UPDATES, {}, await auth(alice));
    const ws = await subscribe('ws', ORDER_UPDATES, {}, await auth(alice));
    await placeFor(orders.url, idp, alice);
    await sse.next();
    await ws.next();
    expect(await metric('junction_subgraph_subscriptions_open', { protocol: 'sse' })).toBe(before.sse + 1);
    expect(await metric('junction_subgraph_subscriptions_open', { protocol: 'ws' })).toBe(before.ws + 1);
    expect(await metric('junction_subgraph_subscription_events_total', { field: 'orderUpdates' })).toBe(events + 2);
    sse.close();
    ws.close();
  });
});

describe('resuming while orders change concurrently', () => {
  it('a client that disconnects and resumes with after while 200 orders change at once gets every change exactly once, in order', async () => {
    const carol = randomUUID();
    const ORDERS = 200;
    const STATUSES = ['PENDING', 'PROCESSING', 'CONFIRMED'];
    const seen: { order: string; status: string; cursor: string }[] = [];
    const take = (stream: Received) =>
      stream.results.map((r) => {
        expect(r.errors).toBeUndefined();
        const update = r.data!.orderUpdates;
        return { order: update.order.id as string, status: update.change.status as string, cursor: update.cursor as string };
      });

    const first = await subscribe('ws', ORDER_UPDATES, { after: null }, await auth(carol));
    // 200 orders placed and carried to CONFIRMED by 16 concurrent hands, so transactions commit out of id order.
    let next = 0;
    const placed: string[] = [];
    const work = Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < ORDERS) {
          next += 1;
          const id = await placeFor(orders.url, idp, carol);
          placed.push(id);
          await transitions.confirm(id);
        }
      }),
    );
    // Leave in the middle of it, and come back after the last change seen, while the work goes on.
    await first.until(() => first.results.length >= 150, 60_000, '150 changes');
    first.close();
    seen.push(...take(first));
    const resumed = await subscribe('ws', ORDER_UPDATES, { after: seen.at(-1)!.cursor }, await auth(carol));
    await work;
    await resumed.until(() => seen.length + resumed.results.length >= ORDERS * STATUSES.length, 60_000, 'every change');
    seen.push(...take(resumed));

    // Every change of every order, once: none skipped at the seam, none repeated.
    expect(placed).toHaveLength(ORDERS);
    expect(seen).toHaveLength(ORDERS * STATUSES.length);
    const keys = seen.map((e) => `${e.order} ${e.status}`);
    expect(new Set(keys).size).toBe(keys.length);
    for (const id of placed) for (const status of STATUSES) expect(keys).toContain(`${id} ${status}`);
    // Each order's changes in the order they were made, and each cursor once.
    for (const id of placed) expect(seen.filter((e) => e.order === id).map((e) => e.status)).toEqual(STATUSES);
    expect(new Set(seen.map((e) => e.cursor)).size).toBe(seen.length);
    resumed.close();
  }, 120_000);
});
