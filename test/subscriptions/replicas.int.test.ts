/**
 * Subscriptions across replicas, with real processes: two orders subgraph
 * processes and two gateway processes on one database, each gateway in front
 * of its own orders replica. A change made through either replica reaches the
 * subscribers of both gateways (the orders subgraph learns of every change
 * from PostgreSQL, whichever process made it); a SIGKILLed orders replica or
 * gateway ends its streams, and a client that resumes with `after` through the
 * other gateway misses nothing and gets nothing twice.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { gqlData } from '../support/graphql.ts';
import { createProduct, createUser, placeOrder } from '../support/orders.ts';
import { startStack, type Stack } from '../support/stack.ts';
import { spawnGateway, spawnSubgraph, type ServiceProcess } from '../support/processes.ts';
import { SseSubscription, wsClient, WsSubscription, type Received } from '../support/subscriptions.ts';

let stack: Stack;
const processes: ServiceProcess[] = [];
/** The orders replicas, and the gateway processes, each in front of the orders replica of the same index. */
let orders: ServiceProcess[] = [];
let gateways: ServiceProcess[] = [];
let productId: string;

type Stream = Received & { close(): void };

const ORDER_UPDATES = 'subscription Mine($after: String) { orderUpdates(after: $after) { cursor change { status } order { id product { name } } } }';
const CANCEL = 'mutation($id: ID!) { cancelOrder(id: $id) { id status } }';

beforeAll(async () => {
  stack = await startStack('subs_replicas');
  // What every process of this test shares with the stack: its database, Redis prefix, keys and identity provider.
  const shared = {
    NODE_ENV: 'test',
    DATABASE_URL: stack.db.url,
    QUEUE_PREFIX: stack.config.QUEUE_PREFIX,
    INGEST_API_KEY: stack.config.INGEST_API_KEY,
    SERVICE_API_KEY: stack.config.SERVICE_API_KEY,
    RATE_LIMIT_PER_MINUTE: '0',
    SUBSCRIPTION_HEARTBEAT_MS: '1000',
    ...stack.identity.env,
  };
  // One after the other: each start gets the busy machine's whole budget to itself.
  for (let i = 0; i < 2; i++) {
    const replica = await spawnSubgraph('orders', shared);
    processes.push(replica);
    orders.push(replica);
  }
  for (const replica of orders) {
    const gateway = await spawnGateway({
      ...shared,
      USERS_URL: stack.urls.users!,
      EVENTS_URL: stack.urls.events!,
      INVENTORY_URL: stack.urls.inventory!,
      NOTIFICATIONS_URL: stack.urls.notifications!,
      ORDERS_URL: replica.url,
      SUBGRAPH_TIMEOUT_MS: '30000',
    });
    processes.push(gateway);
    gateways.push(gateway);
  }
  productId = await createProduct(stack.gatewayUrl, 1000, stack.admin);
}, 240_000);

afterAll(async () => {
  await Promise.all(processes.map((p) => p.stop()));
  orders = [];
  gateways = [];
  await stack?.close();
});

function subscribe(protocol: 'ws' | 'sse', url: string, after: string | null, me: Record<string, string>): Promise<Stream> | Stream {
  const operation = { query: ORDER_UPDATES, variables: { after } };
  if (protocol === 'ws') return new WsSubscription(wsClient(url, { authorization: me.authorization }), operation);
  return SseSubscription.open(url, operation, me);
}

/**
 * Waits until every stream is live: places probe orders (through the stack's own gateway and orders) until one
 * shows up in all of them (a subscription is registered on the orders subgraph a moment after the client asks).
 */
async function live(streams: Stream[], userId: string, me: Record<string, string>): Promise<string[]> {
  const probes: string[] = [];
  const seen = (stream: Stream) => stream.results.some((r) => probes.includes(r.data?.orderUpdates?.order.id));
  for (let attempt = 0; attempt < 10; attempt += 1) {
    probes.push((await placeOrder(stack.gatewayUrl, { userId, productId, quantity: 1 }, me)).id);
    try {
      for (const stream of streams) await stream.until(() => seen(stream), 3000, 'a probe order');
      return probes;
    } catch (error) {
      if (streams.some((stream) => stream.done)) throw error;
    }
  }
  throw new Error('the streams never showed a probe order');
}

const updatesOf = (stream: Stream) =>
  stream.results
    .filter((r) => r.data)
    .map((r) => r.data!.orderUpdates as { cursor: string; change: { status: string }; order: { id: string; product: { name: string } } });
const statusesOf = (stream: Stream, id: string) =>
  updatesOf(stream)
    .filter((u) => u.order.id === id)
    .map((u) => u.change.status);

it('a change made through either orders replica reaches the subscribers of both gateways, once each', async () => {
  const userId = await createUser(stack.gatewayUrl);
  const me = await stack.as(userId);
  const [viaA, viaB] = [await subscribe('ws', gateways[0]!.url, null, me), await subscribe('sse', gateways[1]!.url, null, me)];
  try {
    await live([viaA, viaB], userId, me);
    // Placed through gateway A (orders replica A), cancelled through gateway B (orders replica B).
    const order = await placeOrder(gateways[0]!.url, { userId, productId, quantity: 2 }, me);
    await gqlData(gateways[1]!.url, CANCEL, { id: order.id }, me);
    for (const stream of [viaA, viaB]) {
      await stream.until(() => statusesOf(stream, order.id).includes('CANCELLED'), 15_000, 'the cancel');
      expect(statusesOf(stream, order.id)).toEqual(['PENDING', 'CANCELLED']);
      expect(updatesOf(stream).find((u) => u.order.id === order.id)!.order.product.name).toBe(`Product ${productId}`);
      expect(stream.results.every((r) => r.errors === undefined)).toBe(true);
    }
  } finally {
    viaA.close();
    viaB.close();
  }
});

/** SIGKILL, and wait until the process is gone. */
async function kill(process: ServiceProcess): Promise<void> {
  const exited = new Promise<void>((resolve) => process.child.once('exit', () => resolve()));
  process.child.kill('SIGKILL');
  await exited;
}

/**
 * Resumes through `url` after the last cursor `first` saw, while `missed` orders changed; checks that every change
 * of theirs arrives once, in order, and nothing `first` had is sent again.
 */
async function resumeAndCheck(first: Stream, url: string, me: Record<string, string>, missed: string[], probes: string[]): Promise<void> {
  const last = updatesOf(first).at(-1)!;
  const resumed = await subscribe('sse', url, last.cursor, me);
  try {
    await resumed.until(() => missed.every((id) => statusesOf(resumed, id).length >= 2), 20_000, 'the missed changes replayed');
    for (const id of missed) expect(statusesOf(resumed, id)).toEqual(['PENDING', 'CANCELLED']);
    const before = new Set(updatesOf(first).map((u) => u.cursor));
    for (const update of updatesOf(resumed)) expect(before.has(update.cursor)).toBe(false);
    // A probe placed before the first stream was live is rightly in neither; none is in both.
    for (const id of probes) expect([...statusesOf(first, id), ...statusesOf(resumed, id)].filter((s) => s === 'PENDING').length).toBeLessThanOrEqual(1);
    expect(probes.some((id) => statusesOf(first, id).includes('PENDING'))).toBe(true);
    expect(new Set(updatesOf(resumed).map((u) => u.cursor)).size).toBe(resumed.results.length);
    expect(updatesOf(resumed)).toHaveLength(resumed.results.length);
    expect(resumed.results.every((r) => r.errors === undefined)).toBe(true);
  } finally {
    resumed.close();
  }
}

/** Three orders placed and cancelled through `url` (while some subscriber is away). */
async function changeWhileAway(url: string, userId: string, me: Record<string, string>): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < 3; i++) {
    const order = await placeOrder(url, { userId, productId, quantity: 1 }, me);
    await gqlData(url, CANCEL, { id: order.id }, me);
    ids.push(order.id);
  }
  return ids;
}

it('a SIGKILLed orders replica ends the streams it carried; the client resumes through the other gateway and misses nothing', async () => {
  const userId = await createUser(stack.gatewayUrl);
  const me = await stack.as(userId);
  const first = await subscribe('ws', gateways[0]!.url, null, me);
  const probes = await live([first], userId, me);
  await kill(orders[0]!);
  // Gateway A lost its upstream: the stream ends, with SERVICE_UNAVAILABLE saying to subscribe again, instead of going quiet.
  await first.ended;
  const last = first.results.at(-1)!;
  expect(last.data ?? null).toBeNull();
  expect(last.errors?.[0]?.extensions).toMatchObject({ code: 'SERVICE_UNAVAILABLE', serviceName: 'orders' });
  const missed = await changeWhileAway(gateways[1]!.url, userId, me);
  await resumeAndCheck(first, gateways[1]!.url, me, missed, probes);
}, 60_000);

it('a SIGKILLed gateway drops its clients; they resume through the other gateway and miss nothing', async () => {
  const userId = await createUser(stack.gatewayUrl);
  const me = await stack.as(userId);
  // Gateway B (in front of orders replica B, still up) carries this one.
  const first = await subscribe('sse', gateways[1]!.url, null, me);
  const probes = await live([first], userId, me);
  await kill(gateways[1]!);
  const how = await first.ended;
  expect('error' in how).toBe(true);
  // It resumes through another gateway: the stack's own (gateway A may have lost its orders replica above).
  const missed = await changeWhileAway(stack.gatewayUrl, userId, me);
  await resumeAndCheck(first, stack.gatewayUrl, me, missed, probes);
}, 60_000);
