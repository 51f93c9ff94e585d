import { randomUUID } from 'node:crypto';
import { Worker } from 'bullmq';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { parseConfig, type Config } from '../../../common/config.ts';
import { createLogger } from '../../../common/logger.ts';
import { addJob, type QueueSet } from '../../../common/queues.ts';
import { closeRedis, createRedis } from '../../../common/redis.ts';
import { deliverNotification, deliveryJobData, deliveryJobId, notificationsQueue } from '../../../subgraphs/notifications/module.ts';
import { NotificationsRepository } from '../../../subgraphs/notifications/repository.ts';
import { createTestDatabase, type TestDatabase } from '../../../test/support/db.ts';
import { eventually, startTestProvider, type TestProvider } from '../../../test/support/notify-provider.ts';
import { createDeliveryWorker, type DeliveryWorker } from '../delivery.ts';
import { closeTestQueues, openTestQueues } from '../../../test/support/queues.ts';

const logger = createLogger('notifications-stalled-test', 'silent');

let db: TestDatabase;
let provider: TestProvider;
let config: Config;
let producer: ReturnType<typeof createRedis>;
let queues: QueueSet;
let delivery: DeliveryWorker | undefined;

beforeAll(async () => {
  db = await createTestDatabase('notif_stalled');
  provider = await startTestProvider();
  config = parseConfig({ DATABASE_URL: db.url, QUEUE_PREFIX: `jt-notif-stalled-${randomUUID().slice(0, 8)}`, NOTIFY_URL: provider.url, NOTIFY_RETRY_DELAYS_MS: '200,400,600' });
  ({ producer, queues } = await openTestQueues(config.REDIS_URL, config.QUEUE_PREFIX));
});

afterAll(async () => {
  await delivery?.close();
  await closeTestQueues(queues, producer);
  await provider?.close();
  await db?.drop();
});

it('ends the notification FAILED when BullMQ gives up on a delivery job that stalled too often', async () => {
  const repo = new NotificationsRepository(db.db);
  const event = { eventId: randomUUID(), type: 'STALL_TEST', userId: randomUUID(), occurredAt: new Date(), payload: {} };
  await repo.record(event);
  const queue = queues.get(notificationsQueue.name);
  await addJob(queue, deliverNotification, deliveryJobData(event), config);

  // A worker takes the job and dies with it: the job never finishes and its lock is never renewed.
  const connection = createRedis(config.REDIS_URL, { role: 'worker' });
  // Same stalledInterval as the delivery worker below: the first checker's interval holds off every other checker.
  const dying = new Worker(notificationsQueue.name, () => new Promise(() => {}), { connection, prefix: config.QUEUE_PREFIX, lockDuration: 300, stalledInterval: 200 });
  await eventually(async () => ((await queue.getJob(deliveryJobId(event.eventId)))?.processedOn ? true : undefined));
  await dying.close(true);
  await closeRedis(connection);

  // With no stall allowed, the real delivery worker finds the stalled job and BullMQ fails it without running it.
  delivery = await createDeliveryWorker({ db: db.db, config, logger, lockDurationMs: 300, stalledIntervalMs: 200, maxStalledCount: 0 });
  const job = await eventually(async () => {
    const found = await queue.getJob(deliveryJobId(event.eventId));
    return found?.finishedOn && (await found.getState()) === 'failed' ? found : undefined;
  });
  expect(job.failedReason).toContain('stalled');
  const row = await eventually(async () => {
    const [found] = await db.sql`select status, last_error from notifications.notifications where event_id = ${event.eventId}`;
    return found?.status === 'FAILED' ? found : undefined;
  });
  expect(row.last_error).toContain('stalled');
  expect(provider.requests).toHaveLength(0);
});
