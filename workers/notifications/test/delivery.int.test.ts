import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthenticator } from '../../../common/auth.ts';
import { parseConfig } from '../../../common/config.ts';
import { listen, type Listening } from '../../../common/http.ts';
import { createLogger } from '../../../common/logger.ts';
import type { QueueSet } from '../../../common/queues.ts';
import { QUEUE_NAMES } from '../../../subgraphs/index.ts';
import { notificationEventsQueue, notificationsQueue } from '../../../subgraphs/notifications/module.ts';
import { userSignup } from '../../../subgraphs/users/module.ts';
import type { createRedis } from '../../../common/redis.ts';
import { createNotificationsSubgraph } from '../../../subgraphs/notifications/server.ts';
import { createTestDatabase, type TestDatabase } from '../../../test/support/db.ts';
import { signedIn } from '../../../test/support/graphql.ts';
import { startTestIdentity, type TestIdentity } from '../../../test/support/identity.ts';
import { accept, down, eventually, failFirst, startTestProvider, type TestProvider } from '../../../test/support/notify-provider.ts';
import { createWorkersApp, type WorkersApp } from '../../http.ts';
import { OutboxRelay } from '../../outbox-relay.ts';
import { startNotificationWorkers, type NotificationWorkers } from '../index.ts';
import { closeTestQueues, openTestQueues } from '../../../test/support/queues.ts';

const KEY = 'delivery-test-ingest-key';
const DELAYS = [200, 400, 600];
const logger = createLogger('notifications-delivery-test', 'silent');

let db: TestDatabase;
let provider: TestProvider;
let producer: ReturnType<typeof createRedis>;
let queues: QueueSet;
let relay: OutboxRelay;
let workers: NotificationWorkers;
let subgraph: Awaited<ReturnType<typeof createNotificationsSubgraph>>;
let subgraphHttp: Listening;
let board: WorkersApp;
let boardHttp: Listening;
let url: string;
let idp: TestIdentity;
// Signed in as an admin (retryNotification, everyone's notifications) unless a call sends its own Authorization.
let admin: Record<string, string> = {};
const { gql, gqlData } = signedIn(() => admin);

beforeAll(async () => {
  db = await createTestDatabase('notif_delivery');
  provider = await startTestProvider();
  idp = await startTestIdentity();
  admin = await idp.headers('delivery-admin', ['admin']);
  const config = parseConfig({
    ...idp.env,
    DATABASE_URL: db.url,
    QUEUE_PREFIX: `jt-notif-delivery-${randomUUID().slice(0, 8)}`,
    NOTIFY_URL: provider.url,
    NOTIFY_RETRY_DELAYS_MS: DELAYS.join(','),
    INGEST_API_KEY: KEY,
    OUTBOX_POLL_MS: '50',
    // Every attempt here must reach the provider: the breaker stays out of the way.
    BREAKER_VOLUME_THRESHOLD: '1000',
  });
  ({ producer, queues } = await openTestQueues(config.REDIS_URL, config.QUEUE_PREFIX));
  relay = new OutboxRelay({ db, queues, redis: producer, config, logger }).start();
  workers = await startNotificationWorkers({ db: db.db, config, logger });
  subgraph = await createNotificationsSubgraph({ db: db.db, config, logger });
  subgraphHttp = await listen(subgraph.app, 0);
  url = `${subgraphHttp.url}/graphql`;
  board = createWorkersApp({ queues: queues.only(QUEUE_NAMES), logger, auth: createAuthenticator(config) });
  boardHttp = await listen(board.app, 0);
});

afterAll(async () => {
  await workers?.close();
  await relay?.close();
  await subgraphHttp?.close();
  await subgraph?.close();
  await boardHttp?.close();
  board?.close();
  await closeTestQueues(queues, producer);
  await provider?.close();
  await idp?.close();
  await db?.drop();
});

const INGEST = `mutation($input: IngestEventInput!) { ingestEvent(input: $input) { eventId status } }`;
const ingest = (eventId: string, userId = randomUUID()) =>
  gqlData(url, INGEST, { input: { eventId, eventType: 'order_shipped', timestamp: new Date().toISOString(), payload: { userId, tracking: 'T-1' } } }, { 'x-api-key': KEY });

async function row(eventId: string) {
  const [found] = await db.sql`select id, status, attempts, last_error, sent_at from notifications.notifications where event_id = ${eventId}`;
  return found;
}

const settled = (eventId: string, status: 'SENT' | 'FAILED') =>
  eventually(async () => {
    const r = await row(eventId);
    return r?.status === status ? r : undefined;
  }, 15_000, `${eventId} ${status}`);

const gaps = (times: number[]) => times.slice(1).map((t, i) => t - times[i]!);

describe('notification delivery', () => {
  it('delivers an ingested event once, with its eventId as Idempotency-Key, also when it is ingested again and again', async () => {
    provider.behave(accept);
    const eventId = `evt-once-${randomUUID()}`;
    const results = await Promise.all(Array.from({ length: 5 }, () => ingest(eventId)));
    expect(new Set(results.map((r) => r.ingestEvent.eventId))).toEqual(new Set([eventId]));
    const sent = await settled(eventId, 'SENT');
    expect(sent).toMatchObject({ attempts: 1, last_error: null });
    expect(sent.sent_at).not.toBeNull();

    const again = await ingest(eventId);
    expect(again.ingestEvent).toEqual({ eventId, status: 'SENT' });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const requests = provider.requests.filter((r) => r.key === eventId);
    expect(requests).toHaveLength(1);
    expect(requests[0]!.body).toMatchObject({ eventId, type: 'order_shipped', payload: { tracking: 'T-1' } });
    expect(await db.sql`select 1 from notifications.outbox where job_id = ${eventId}`).toHaveLength(1);
  });

  it('retries after each configured delay: a provider failing twice gets it SENT on attempt 3', async () => {
    provider.behave(failFirst(2));
    const eventId = `evt-flaky-${randomUUID()}`;
    await ingest(eventId);
    const seen = new Set<string>();
    await eventually(async () => {
      const r = await row(eventId);
      if (r) seen.add(r.status);
      return r?.status === 'SENT';
    });
    const sent = await row(eventId);
    expect(sent).toMatchObject({ status: 'SENT', attempts: 3, last_error: null });
    expect(seen).toContain('RETRYING');
    const intervals = gaps(provider.timesOf(eventId));
    expect(intervals).toHaveLength(2);
    intervals.forEach((gap, i) => {
      expect(gap).toBeGreaterThanOrEqual(DELAYS[i]! - 10);
      expect(gap).toBeLessThan(DELAYS[i]! + 300);
    });
    expect(provider.requests.filter((r) => r.key === eventId).map((r) => r.status)).toEqual([503, 503, 202]);
  });

  it('takes a 4xx refusal as final at once, but retries 429 and 408', async () => {
    provider.behave((_key, nth) => ({ status: nth === 1 ? 422 : 202 }));
    const refused = `evt-refused-${randomUUID()}`;
    await ingest(refused);
    const failed = await settled(refused, 'FAILED');
    expect(failed).toMatchObject({ attempts: 1, last_error: expect.stringContaining('422') });
    expect(await (await queues.get(notificationsQueue.name).getJob(refused))?.getState()).toBe('failed');

    provider.behave((_key, nth) => ({ status: nth === 1 ? 429 : nth === 2 ? 408 : 202 }));
    const throttled = `evt-throttled-${randomUUID()}`;
    await ingest(throttled);
    expect(await settled(throttled, 'SENT')).toMatchObject({ attempts: 3 });
  });

  it('with the provider down: FAILED after 4 attempts, in the failed set, Bull Board and notifications(status: FAILED); retryNotification then delivers it once', async () => {
    provider.behave(down);
    const eventId = `evt-down-${randomUUID()}`;
    await ingest(eventId);
    const failed = await settled(eventId, 'FAILED');
    expect(failed).toMatchObject({ attempts: 4, last_error: 'provider answered 503' });
    const intervals = gaps(provider.timesOf(eventId));
    expect(intervals).toHaveLength(3);
    intervals.forEach((gap, i) => expect(gap).toBeGreaterThanOrEqual(DELAYS[i]! - 10));

    const job = await eventually(async () => {
      // Only a snapshot taken after the move to the failed set (finishedOn) has the final attemptsMade.
      const found = await queues.get(notificationsQueue.name).getJob(eventId);
      return found?.finishedOn && (await found.getState()) === 'failed' ? found : undefined;
    });
    expect(job!.attemptsMade).toBe(4);

    const boardRes = await fetch(`${boardHttp.url}/admin/queues/api/queues?activeQueue=notifications&status=failed&page=1`, {
      headers: admin,
    });
    expect(boardRes.status).toBe(200);
    const boardBody = (await boardRes.json()) as { queues: { name: string; counts: Record<string, number>; jobs: { id: string }[] }[] };
    const listed = boardBody.queues.find((q) => q.name === 'notifications')!;
    expect(listed.counts.failed).toBeGreaterThanOrEqual(1);
    expect(listed.jobs.map((j) => j.id)).toContain(eventId);
    expect(boardBody.queues.map((q) => q.name)).toEqual(expect.arrayContaining(['orders', 'notifications', 'notification-events']));

    const metrics = await (await fetch(`${boardHttp.url}/metrics`)).text();
    expect(metrics).toMatch(/notification_deliveries_total\{outcome="failed"\} [1-9]/);
    expect(metrics).toMatch(/notification_deliveries_total\{outcome="retried"\} [1-9]/);
    expect(metrics).toMatch(/notification_deliveries_total\{outcome="sent"\} [1-9]/);
    expect(metrics).toMatch(/junction_queue_jobs\{[^}]*queue="notifications",state="failed"\} [1-9]/);

    const listedFailed = await gqlData(url, `{ notifications(status: FAILED, first: 100) { nodes { id eventId attempts lastError } } }`);
    const node = listedFailed.notifications.nodes.find((n: { eventId: string }) => n.eventId === eventId);
    expect(node).toMatchObject({ id: failed.id, attempts: 4, lastError: 'provider answered 503' });

    provider.behave(accept);
    const retried = await gqlData(url, `mutation($id: ID!) { retryNotification(id: $id) { id status attempts } }`, { id: failed.id });
    expect(retried.retryNotification).toMatchObject({ id: failed.id, status: 'QUEUED' });
    expect(await settled(eventId, 'SENT')).toMatchObject({ attempts: 5, last_error: null });
    expect(await job!.getState()).toBe('completed');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(provider.requests.filter((r) => r.key === eventId).map((r) => r.status)).toEqual([503, 503, 503, 503, 202]);

    const twice = await gql(url, `mutation($id: ID!) { retryNotification(id: $id) { id } }`, { id: failed.id });
    expect(twice.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('records notification-events once per eventId, like ingestEvent, and fails a malformed event for good', async () => {
    provider.behave(accept);
    const events = queues.get(notificationEventsQueue.name);
    const options = userSignup.options({});
    const userId = randomUUID();
    const eventId = randomUUID();
    const event = { eventId, eventType: 'USER_SIGNUP', timestamp: '2026-11-21T10:00:00.000Z', payload: { userId, email: 'e@example.com' } };
    await events.add('USER_SIGNUP', event, { ...options, jobId: eventId });
    const sent = await settled(eventId, 'SENT');
    expect(sent.attempts).toBe(1);
    // The same event again, from an external producer this time: already known, nothing new is sent.
    const again = await ingest(eventId, userId);
    expect(again.ingestEvent).toEqual({ eventId, status: 'SENT' });
    const [recorded] = await db.sql`select type, user_id, occurred_at from notifications.notifications where event_id = ${eventId}`;
    expect(recorded).toMatchObject({ type: 'USER_SIGNUP', user_id: userId });
    expect(new Date(recorded!.occurred_at).toISOString()).toBe(event.timestamp);

    const malformed = randomUUID();
    await events.add('USER_SIGNUP', { eventId: malformed, eventType: 'USER_SIGNUP', payload: {} }, { ...options, jobId: malformed });
    const job = await eventually(async () => {
      // Only a snapshot taken after the move to the failed set (finishedOn) has failedReason.
      const found = await events.getJob(malformed);
      return found?.finishedOn && (await found.getState()) === 'failed' ? found : undefined;
    });
    expect(job!.failedReason).toContain('payload.userId');
    expect(job!.attemptsMade).toBe(1);
    expect(await row(malformed)).toBeUndefined();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(provider.requests.filter((r) => r.key === eventId)).toHaveLength(1);
  });
});
