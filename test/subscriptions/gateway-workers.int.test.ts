import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../common/logger.ts';
import { startWorkers, type RunningWorkers } from '../../workers/index.ts';
import { gqlData } from '../support/graphql.ts';
import { createProduct, createUser, fastOrderEnv, placeOrder, waitForTerminal } from '../support/orders.ts';
import { startStack, type Stack } from '../support/stack.ts';
import { MultipartSubscription, SseSubscription, wsClient, WsSubscription, type Operation, type Received } from '../support/subscriptions.ts';

/**
 * orderUpdates through the gateway while the real order workers process
 * orders (BullMQ on Redis, inventory reserving stock): each protocol sees
 * PENDING → PROCESSING → CONFIRMED → CANCELLED with inventory's product name
 * per event, and a client that disconnects resumes with `after` and gets
 * exactly the changes it missed.
 */
const env = { ...fastOrderEnv('subs_workers'), BREAKER_VOLUME_THRESHOLD: '1000', SUBSCRIPTION_HEARTBEAT_MS: '1000' };
let stack: Stack;
let workers: RunningWorkers;
let productId: string;

beforeAll(async () => {
  stack = await startStack('subs_workers', { env });
  workers = await startWorkers(stack.config, createLogger('workers', process.env.LOG_LEVEL ?? 'silent'));
  productId = await createProduct(stack.gatewayUrl, 100, stack.admin);
});

afterAll(async () => {
  await workers?.close();
  await stack?.close();
});

type Stream = Received & { close(): void };

async function subscribe(protocol: 'ws' | 'sse' | 'multipart', operation: Operation, headers: Record<string, string>): Promise<Stream> {
  if (protocol === 'ws') return new WsSubscription(wsClient(stack.gatewayUrl, { authorization: headers.authorization }), operation);
  if (protocol === 'sse') return SseSubscription.open(stack.gatewayUrl, operation, headers);
  return MultipartSubscription.open(stack.gatewayUrl, operation, headers);
}

/**
 * Waits until `stream` is live: places probe orders until one of them shows up
 * in it (a subscription is registered on the orders subgraph a moment after
 * the client's request; a change before that is, rightly, not in the stream).
 * Returns the probes' ids.
 */
async function live(stream: Stream, userId: string, me: Record<string, string>): Promise<string[]> {
  const probes: string[] = [];
  for (let attempt = 0; attempt < 10; attempt += 1) {
    const probe = await placeOrder(stack.gatewayUrl, { userId, productId, quantity: 1 }, me);
    probes.push(probe.id);
    try {
      await stream.until(() => stream.results.some((r) => probes.includes(r.data?.orderUpdates?.order.id)), 3000, 'a probe order');
      return probes;
    } catch (error) {
      if (stream.done) throw error;
    }
  }
  throw new Error('the stream never showed a probe order');
}

const ORDER_UPDATES = 'subscription Mine($after: String) { orderUpdates(after: $after) { cursor change { status } order { id product { name } } } }';

describe.each(['ws', 'sse', 'multipart'] as const)('orderUpdates through the gateway over %s, with the workers processing', (protocol) => {
  it('sends PENDING, PROCESSING, CONFIRMED and CANCELLED of a new order, with its product name per event', async () => {
    const userId = await createUser(stack.gatewayUrl);
    const me = await stack.as(userId);
    const stream = await subscribe(protocol, { query: ORDER_UPDATES }, me);
    // Live before the order exists: every change of it is in the stream.
    await live(stream, userId, me);
    const order = await placeOrder(stack.gatewayUrl, { userId, productId, quantity: 1 }, me);
    await waitForTerminal(stack.db.sql, [order.id]);
    const cancelled = await gqlData(stack.gatewayUrl, 'mutation($id: ID!) { cancelOrder(id: $id) { status } }', { id: order.id }, me);
    expect(cancelled.cancelOrder.status).toBe('CANCELLED');
    const mine = () => stream.results.filter((r) => r.errors || r.data?.orderUpdates.order.id === order.id);
    await stream.until(() => mine().length >= 4, 20_000, 'four updates');
    expect(mine().map((r) => [r.errors, r.data.orderUpdates.change.status, r.data.orderUpdates.order])).toEqual(
      ['PENDING', 'PROCESSING', 'CONFIRMED', 'CANCELLED'].map((status) => [undefined, status, { id: order.id, product: { name: `Product ${productId}` } }]),
    );
    stream.close();
  });
});

it('a client that disconnects resumes through the gateway with after: every change it missed, once, in order', async () => {
  const userId = await createUser(stack.gatewayUrl);
  const me = await stack.as(userId);
  const first = await subscribe('ws', { query: ORDER_UPDATES }, me);
  const probes = await live(first, userId, me);
  first.close();
  const seen = first.results.map((r) => r.data.orderUpdates);
  const last = seen.at(-1)!;
  // While it is away: three more orders go all the way, concurrently.
  const missed = await Promise.all([1, 2, 3].map(async () => (await placeOrder(stack.gatewayUrl, { userId, productId, quantity: 1 }, me)).id));
  await waitForTerminal(stack.db.sql, [...probes, ...missed]);

  const resumed = await subscribe('sse', { query: ORDER_UPDATES, variables: { after: last.cursor } }, me);
  // Each missed order's three changes, once, in order; of the probes only what the first stream had not delivered (no repeat at the seam).
  const all = ['PENDING', 'PROCESSING', 'CONFIRMED'];
  const statusesOf = (updates: { order: { id: string }; change: { status: string } }[], id: string) =>
    updates.filter((u) => u.order.id === id).map((u) => u.change.status);
  await resumed.until(
    () =>
      missed.every(
        (id) =>
          statusesOf(
            resumed.results.map((r) => r.data.orderUpdates),
            id,
          ).length >= 3,
      ),
    20_000,
    'the missed orders replayed',
  );
  const updates = resumed.results.map((r) => r.data.orderUpdates);
  for (const id of missed) expect(statusesOf(updates, id)).toEqual(all);
  for (const id of probes) {
    const before = statusesOf(seen, id);
    const after = statusesOf(updates, id);
    expect(after.filter((status) => before.includes(status))).toEqual([]);
    expect(all.slice(all.length - after.length)).toEqual(after);
  }
  expect(new Set(updates.map((u) => u.cursor)).size).toBe(updates.length);
  expect(resumed.results.every((r) => r.errors === undefined)).toBe(true);
  resumed.close();
});
