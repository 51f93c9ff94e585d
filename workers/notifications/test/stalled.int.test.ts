import { randomUUID } from 'node:crypto';
import { Worker } from 'bullmq';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createLogger } from '../../../common/logger.ts';
import { addJob } from '../../../common/queues.ts';
import { closeRedis, createRedis } from '../../../common/redis.ts';
import { deliverNotification, deliveryJobData, deliveryJobId, notificationsQueue } from '../../../subgraphs/notifications/module.ts';
import { NotificationsRepository } from '../../../subgraphs/notifications/repository.ts';
import { startNotificationBase, type NotificationBase } from '../../../test/support/notifications.ts';
import { eventually } from '../../../test/support/wait.ts';
import { createDeliveryWorker, type DeliveryWorker } from '../delivery.ts';

const logger = createLogger('notifications-stalled-test', 'silent');

let base: NotificationBase;
let delivery: DeliveryWorker | undefined;

beforeAll(async () => {
  base = await startNotificationBase('notif_stalled', { env: { NOTIFY_RETRY_DELAYS_MS: '200,400,600' } });
});

afterAll(async () => {
  await delivery?.close();
  await base?.close();
});

it('ends the notification FAILED when BullMQ gives up on a delivery job that stalled too often', async () => {
  const repo = new NotificationsRepository(base.db.db);
  const event = { eventId: randomUUID(), type: 'STALL_TEST', userId: randomUUID(), occurredAt: new Date(), payload: {} };
  await repo.record(event);
  const queue = base.queues.get(notificationsQueue.name);
  await addJob(queue, deliverNotification, deliveryJobData(event), base.config);

  // A worker takes the job and dies with it: the job never finishes and its lock is never renewed.
  const connection = createRedis(base.config.REDIS_URL, { role: 'worker' });
  // Same stalledInterval as the delivery worker below: the first checker's interval holds off every other checker.
  const dying = new Worker(notificationsQueue.name, () => new Promise(() => {}), {
    connection,
    prefix: base.config.QUEUE_PREFIX,
    lockDuration: 300,
    stalledInterval: 200,
  });
  await expect.poll(async () => (await queue.getJob(deliveryJobId(event.eventId)))?.processedOn, { timeout: 15_000 }).toBeTruthy();
  await dying.close(true);
  await closeRedis(connection);

  // With no stall allowed, the real delivery worker finds the stalled job and BullMQ fails it without running it.
  delivery = await createDeliveryWorker({ db: base.db.db, config: base.config, logger, lockDurationMs: 300, stalledIntervalMs: 200, maxStalledCount: 0 });
  const job = await eventually(async () => {
    const found = await queue.getJob(deliveryJobId(event.eventId));
    return found?.finishedOn && (await found.getState()) === 'failed' ? found : undefined;
  });
  expect(job.failedReason).toContain('stalled');
  const row = await eventually(async () => {
    const [found] = await base.db.sql`select status, last_error from notifications.notifications where event_id = ${event.eventId}`;
    return found?.status === 'FAILED' ? found : undefined;
  });
  expect(row.last_error).toContain('stalled');
  expect(base.provider.requests).toHaveLength(0);
});
