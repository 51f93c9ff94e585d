import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createLogger } from '../../common/logger.ts';
import { startWorkers, type RunningWorkers } from '../../workers/index.ts';
import { signedIn } from '../support/graphql.ts';
import { startTestProvider, type TestProvider } from '../support/notify-provider.ts';
import { eventually } from '../support/wait.ts';
import { dropQueues, PrivateRedis } from '../support/orders.ts';
import { startStack, type Stack } from '../support/stack.ts';

// A redis-server of this file's own, stopped and started again; the shared one is never touched.
const KEY = 'redis-down-ingest-key';
const PREFIX = `jt-notif-redis-down-${randomUUID().slice(0, 8)}`;
let redis: PrivateRedis;
let provider: TestProvider;
let stack: Stack;
// Signed in as the stack's admin unless a call sends its own Authorization.
const { gql, gqlData } = signedIn(() => stack.admin);
let workers: RunningWorkers;

beforeAll(async () => {
  redis = await PrivateRedis.start();
  provider = await startTestProvider();
  stack = await startStack('notif_redis_down', {
    env: {
      REDIS_URL: redis.url,
      QUEUE_PREFIX: PREFIX,
      NOTIFY_URL: provider.url,
      INGEST_API_KEY: KEY,
      OUTBOX_POLL_MS: '100',
      NOTIFY_RETRY_DELAYS_MS: '100,100,100',
    },
  });
  workers = await startWorkers(stack.config, createLogger('workers', process.env.LOG_LEVEL ?? 'silent'));
});

afterAll(async () => {
  await workers?.close();
  await stack?.close();
  await dropQueues(redis.url, PREFIX).catch(() => {});
  await provider?.close();
  await redis?.stop();
});

const INGEST = `mutation($input: IngestEventInput!) { ingestEvent(input: $input) { eventId status } }`;
const RETRY = `mutation($id: ID!) { retryNotification(id: $id) { id status } }`;
const ingest = (eventId: string) =>
  gql(
    stack.gatewayUrl,
    INGEST,
    { input: { eventId, eventType: 'order_shipped', timestamp: new Date().toISOString(), payload: { userId: randomUUID() } } },
    { 'x-api-key': KEY },
  );
const statusOf = async (eventId: string) =>
  (await stack.db.sql`select id, status from notifications.notifications where event_id = ${eventId}`)[0] as { id: string; status: string } | undefined;
const until = (eventId: string, status: string) => eventually(async () => (await statusOf(eventId))?.status === status, 20_000, `${eventId} ${status}`);
const accepted = (key: string) => provider.requests.filter((r) => r.key === key && r.status < 300).length;

it('while Redis is down: ingestEvent is accepted into the outbox and delivered once Redis is back; retryNotification answers SERVICE_UNAVAILABLE at once and changes nothing', async () => {
  // Two notifications the provider refuses (FAILED for good); the first is replayed while Redis is up.
  const refused = [`evt-refused-1-${randomUUID()}`, `evt-refused-2-${randomUUID()}`];
  provider.behave((key) => ({ status: refused.includes(key) ? 422 : 202 }));
  for (const id of refused) {
    expect((await ingest(id)).errors).toBeUndefined();
    await until(id, 'FAILED');
  }
  provider.behave(() => ({ status: 202 }));
  const first = await gqlData(stack.gatewayUrl, RETRY, { id: (await statusOf(refused[0]!))!.id });
  expect(first.retryNotification.status).toBe('QUEUED');
  await until(refused[0]!, 'SENT');

  await redis.stop();
  const during = `evt-during-${randomUUID()}`;
  let started = Date.now();
  const ingested = await ingest(during);
  const ingestMs = Date.now() - started;
  expect(ingestMs).toBeLessThan(3000);
  expect(ingested.errors).toBeUndefined();
  expect(ingested.data?.ingestEvent).toEqual({ eventId: during, status: 'QUEUED' });
  const [waiting] = await stack.db.sql`select count(*)::int as n from notifications.outbox where job_id = ${during} and published_at is null`;
  expect(waiting!.n).toBe(1);

  const failed = (await statusOf(refused[1]!))!;
  started = Date.now();
  const retried = await gql(stack.gatewayUrl, RETRY, { id: failed.id });
  const retryMs = Date.now() - started;
  console.info(`Redis down: ingestEvent answered in ${ingestMs} ms, retryNotification in ${retryMs} ms`);
  expect(retryMs).toBeLessThan(5000);
  expect(retried.errors?.[0]?.extensions).toMatchObject({ code: 'SERVICE_UNAVAILABLE', retryAfter: expect.any(Number) });
  expect((await statusOf(refused[1]!))!.status).toBe('FAILED');

  await redis.start();
  await until(during, 'SENT');
  // The replay works again once Redis is back (the subgraph's connection reconnects by itself).
  const again = await eventually(
    async () => {
      const res = await gql(stack.gatewayUrl, RETRY, { id: failed.id });
      return res.errors ? undefined : res.data;
    },
    10_000,
    'retryNotification to be accepted again',
  );
  expect(again.retryNotification.status).toBe('QUEUED');
  await until(refused[1]!, 'SENT');
  // Time passes on purpose: a repeated delivery, were there one, would arrive within it.
  await new Promise((resolve) => setTimeout(resolve, 300));
  for (const key of [...refused, during]) expect(accepted(key), key).toBe(1);
});
