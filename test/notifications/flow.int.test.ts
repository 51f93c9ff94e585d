import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../common/logger.ts';
import { startWorkers, type RunningWorkers } from '../../workers/index.ts';
import { signedIn } from '../support/graphql.ts';
import { startStack, type Stack } from '../support/stack.ts';
import { accept, startTestProvider, type TestProvider } from '../support/notify-provider.ts';
import { eventually } from '../support/wait.ts';

const KEY = 'flow-test-ingest-key';
const NOTIFICATION_FIELDS = 'id eventId type status attempts lastError sentAt recipient { id name }';

let stack: Stack;
// Signed in as the stack's admin unless a call sends its own Authorization.
const { gql, gqlData } = signedIn(() => stack.admin);
let provider: TestProvider;
let workers: RunningWorkers;

beforeAll(async () => {
  provider = await startTestProvider(accept);
  stack = await startStack('notif_flow', {
    env: {
      QUEUE_PREFIX: `jt-notif-flow-${randomUUID().slice(0, 8)}`,
      NOTIFY_URL: provider.url,
      NOTIFY_RETRY_DELAYS_MS: '200,400,600',
      INGEST_API_KEY: KEY,
      OUTBOX_POLL_MS: '50',
      ORDER_RETRY_DELAYS_MS: '100,100,100',
    },
  });
  // The real worker assembly of `npm start`: outbox relay, order worker, notification workers.
  workers = await startWorkers(stack.config, createLogger('notifications-flow', 'silent'));
});

afterAll(async () => {
  if (workers) {
    for (const queue of workers.queues.all()) await queue.obliterate({ force: true }).catch(() => {});
    await workers.close();
  }
  await stack?.close();
  await provider?.close();
});

const userNotifications = (id: string) => gqlData(stack.gatewayUrl, `query($id: ID!) { user(id: $id) { notifications { ${NOTIFICATION_FIELDS} } } }`, { id });

interface NotificationView {
  id: string;
  eventId: string;
  type: string;
  status: string;
}

async function sentOf(userId: string, count: number): Promise<NotificationView[]> {
  return eventually(
    async () => {
      const { user } = await userNotifications(userId);
      const list = user.notifications as NotificationView[];
      return list.length >= count && list.every((n) => n.status === 'SENT') ? list : undefined;
    },
    20_000,
    `${count} SENT notifications for ${userId}`,
  );
}

const INGEST = `mutation($input: IngestEventInput!) { ingestEvent(input: $input) { eventId status } }`;

describe('notifications through the gateway', () => {
  let userId: string;

  it('a signup leads to exactly one SENT USER_SIGNUP, visible on User.notifications', async () => {
    const { createUser } = await gqlData(stack.gatewayUrl, `mutation { createUser(input: { name: "Ada", email: "ada-flow@example.com" }) { id } }`);
    userId = createUser.id;
    const [signup] = await sentOf(userId, 1);
    expect(signup).toMatchObject({ type: 'USER_SIGNUP', status: 'SENT', attempts: 1, lastError: null, recipient: { id: userId, name: 'Ada' } });

    const [outbox] = await stack.db.sql`select job_id from users.outbox where payload->'payload'->>'userId' = ${userId}`;
    expect(signup!.eventId).toBe(outbox!.job_id);
    // Time passes on purpose: a second delivery, were there one, would reach the provider within it.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(provider.requests.filter((r) => r.body.userId === userId)).toHaveLength(1);
    expect((await userNotifications(userId)).user.notifications).toHaveLength(1);
  });

  it('ingestEvent through the gateway: UNAUTHENTICATED without the right X-API-Key, BAD_USER_INPUT without payload.userId', async () => {
    const input = { eventId: `evt-gw-${randomUUID()}`, eventType: 'password_changed', timestamp: new Date().toISOString(), payload: { userId } };
    for (const headers of [{}, { 'x-api-key': 'not-the-key' }] as Record<string, string>[]) {
      const res = await gql(stack.gatewayUrl, INGEST, { input }, headers);
      expect(res.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    }
    const noUser = await gql(stack.gatewayUrl, INGEST, { input: { ...input, payload: { note: 'no recipient' } } }, { 'x-api-key': KEY });
    expect(noUser.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.payload.userId' });
    expect(await stack.db.sql`select 1 from notifications.notifications where event_id = ${input.eventId}`).toHaveLength(0);

    const first = await gqlData(stack.gatewayUrl, INGEST, { input }, { 'x-api-key': KEY });
    expect(first.ingestEvent).toEqual({ eventId: input.eventId, status: 'QUEUED' });
    await gqlData(stack.gatewayUrl, INGEST, { input }, { 'x-api-key': KEY });
    const list = await sentOf(userId, 2);
    // Newest first.
    expect(list.map((n) => n.type)).toEqual(['password_changed', 'USER_SIGNUP']);
    // Time passes on purpose: a second delivery of the repeated event, were there one, would arrive within it.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(provider.requests.filter((r) => r.key === input.eventId)).toHaveLength(1);
  });

  it('an order CONFIRMED and an order FAILED notify ORDER_CONFIRMED and ORDER_FAILED', async () => {
    const sku = `SKU-${randomUUID().slice(0, 8)}`;
    await gqlData(stack.gatewayUrl, `mutation($input: CreateProductInput!) { createProduct(input: $input) { id } }`, {
      input: { id: sku, name: 'Flow product', priceCents: 100, stock: 1 },
    });
    const place = (quantity: number) =>
      gqlData(stack.gatewayUrl, `mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { id } }`, { input: { userId, productId: sku, quantity } });
    const confirmed = (await place(1)).placeOrder.id;
    await expect
      .poll(async () => (await stack.db.sql`select status from orders.orders where id = ${confirmed}`)[0]?.status, {
        timeout: 20_000,
        message: 'order CONFIRMED',
      })
      .toBe('CONFIRMED');
    const failed = (await place(5)).placeOrder.id;
    await expect
      .poll(async () => (await stack.db.sql`select status from orders.orders where id = ${failed}`)[0]?.status, { timeout: 20_000, message: 'order FAILED' })
      .toBe('FAILED');

    const list = await sentOf(userId, 4);
    expect(list.map((n) => n.type)).toEqual(['ORDER_FAILED', 'ORDER_CONFIRMED', 'password_changed', 'USER_SIGNUP']);
    const bodies = Object.fromEntries(provider.requests.map((r) => [r.key, r.body as { payload: { orderId?: string } }]));
    expect(bodies[list[0]!.eventId]!.payload.orderId).toBe(failed);
    expect(bodies[list[1]!.eventId]!.payload.orderId).toBe(confirmed);
    // Each event happened when its order changed: its time is the history row's, to the millisecond.
    const times = await stack.db.sql`
      select n.event_id, n.occurred_at, h.at from notifications.notifications n
      join orders.order_status_changes h on h.order_id::text = n.payload->>'orderId' and h.status::text = n.payload->>'status'
      where n.event_id in ${stack.db.sql([list[0]!.eventId, list[1]!.eventId])}`;
    expect(times).toHaveLength(2);
    for (const row of times) expect(new Date(row.occurred_at).toISOString()).toBe(new Date(row.at).toISOString());
  });

  it('Notification.recipient is null for an unknown user and once the user is deleted, even when only its id is selected', async () => {
    const { createUser } = await gqlData(stack.gatewayUrl, `mutation { createUser(input: { name: "Gone", email: "gone-flow@example.com" }) { id } }`);
    const [signup] = await sentOf(createUser.id, 1);
    const stranger = `evt-stranger-${randomUUID()}`;
    await gqlData(
      stack.gatewayUrl,
      INGEST,
      { input: { eventId: stranger, eventType: 'x', timestamp: new Date().toISOString(), payload: { userId: 'ext-42' } } },
      { 'x-api-key': KEY },
    );
    const [row] = await stack.db.sql`select id from notifications.notifications where event_id = ${stranger}`;

    const query = `query($a: ID!, $b: ID!) { a: notification(id: $a) { recipient { id } } b: notification(id: $b) { recipient { id name } } }`;
    const before = await gqlData(stack.gatewayUrl, query, { a: signup!.id, b: row!.id });
    expect(before).toEqual({ a: { recipient: { id: createUser.id } }, b: { recipient: null } });

    await gqlData(stack.gatewayUrl, `mutation($id: ID!) { deleteUser(id: $id) }`, { id: createUser.id });
    const after = await gqlData(stack.gatewayUrl, query, { a: signup!.id, b: row!.id });
    expect(after).toEqual({ a: { recipient: null }, b: { recipient: null } });
  });
});
