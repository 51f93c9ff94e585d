import { randomUUID } from 'node:crypto';
import type { Job } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OutboxMessage } from '../../../common/jobs.ts';
import { createLogger } from '../../../common/logger.ts';
import { deliverNotification, deliveryJobData, notificationEventsQueue, notificationsQueue } from '../../../subgraphs/notifications/module.ts';
import { NotificationsRepository } from '../../../subgraphs/notifications/repository.ts';
import { orderConfirmed } from '../../../subgraphs/orders/module.ts';
import { startNotificationBase, type NotificationBase } from '../../../test/support/notifications.ts';
import { eventually } from '../../../test/support/wait.ts';
import { PrivateRedis } from '../../../test/support/orders.ts';
import { closeTestQueues, openTestQueues } from '../../../test/support/queues.ts';
import { addOutboxJob } from '../../outbox-relay.ts';
import { createDeliveryWorker } from '../delivery.ts';
import { createEventsWorker } from '../events.ts';

const logger = createLogger('notification-events-test', 'silent');

let base: NotificationBase;
let events: Awaited<ReturnType<typeof createEventsWorker>>;

beforeAll(async () => {
  // No outbox relay: whatever reaches the notifications queue here, the events worker added itself.
  base = await startNotificationBase('notif_events', { env: { NOTIFY_RETRY_DELAYS_MS: '200,400' } });
  events = await createEventsWorker({ db: base.db.db, config: base.config, logger, deliveries: deliveries() });
});

afterAll(async () => {
  await events?.close();
  await base?.close();
});

function deliveries() {
  return base.queues.get(notificationsQueue.name);
}
const announcements = () => base.queues.get(notificationEventsQueue.name);
const outboxRows = async (eventId: string) => (await base.db.sql`select 1 from notifications.outbox where payload->>'eventId' = ${eventId}`).length;
const deliveryJobs = async (eventId: string) =>
  (await deliveries().getJobs(['waiting', 'delayed', 'active', 'prioritized', 'completed', 'failed'])).filter((job) => job.id === eventId);
const sends = (eventId: string) => base.provider.requests.filter((request) => request.key === eventId).length;

/** An ORDER_CONFIRMED as the orders outbox writes it, published to notification-events as the relay does. */
async function announce(): Promise<{ message: OutboxMessage; userId: string }> {
  const userId = randomUUID();
  const message = orderConfirmed.announce({ userId, orderId: randomUUID(), productId: 'SKU-1', quantity: 1, status: 'CONFIRMED' }, new Date());
  await addOutboxJob(announcements(), message, base.config);
  return { message, userId };
}

/** Waits until the events job `jobId` is completed by a run that finished after `after` (finishedOn moves on each run), and returns it. */
async function completed(jobId: string, after = 0): Promise<Job> {
  return eventually(async () => {
    const job = await announcements().getJob(jobId);
    return job && (await job.getState()) === 'completed' && job.finishedOn! > after ? job : undefined;
  });
}

/** Runs the completed events job again, as BullMQ does with one whose worker died, and waits for it to complete. */
async function runAgain(job: Job): Promise<Job> {
  const before = job.finishedOn!;
  await job.retry('completed');
  return completed(job.id!, before);
}

describe('notification-events worker', () => {
  it('adds the delivery job itself (job id = eventId, the relay’s name, payload and options) and writes no notifications outbox row', async () => {
    const { message, userId } = await announce();
    const eventId = message.jobId;
    const job = await completed(eventId);
    expect(job.returnvalue).toEqual({ eventId, status: 'QUEUED', created: true });

    expect(await outboxRows(eventId)).toBe(0);
    const delivery = await deliveries().getJob(eventId);
    expect(delivery).toBeDefined();
    // What record()'s outbox row would have held, published by the relay.
    const expected = deliverNotification.message(
      deliveryJobData({ eventId, type: 'ORDER_CONFIRMED', userId }, message.payload as { requestId?: string; correlationId?: string; traceparent?: string }),
    );
    expect(delivery!.name).toBe(expected.name);
    expect(delivery!.data).toEqual(expected.payload);
    const options = deliverNotification.options(base.config);
    expect(delivery!.opts).toMatchObject({
      attempts: options.attempts,
      backoff: options.backoff,
      removeOnFail: false,
      removeOnComplete: options.removeOnComplete,
    });
    const [row] = await base.db.sql`select status, type, user_id from notifications.notifications where event_id = ${eventId}`;
    expect(row).toMatchObject({ status: 'QUEUED', type: 'ORDER_CONFIRMED', user_id: userId });
  });

  it('adds the job again when the event is already recorded but its job never was (worker died between commit and add): one job, one delivery', async () => {
    const { message } = await announce();
    const eventId = message.jobId;
    const first = await completed(eventId);
    // As if the worker had died after the commit, before its add: the notification is there, its job is not.
    await (await deliveries().getJob(eventId))!.remove();
    expect(await deliveryJobs(eventId)).toHaveLength(0);

    const again = await runAgain(first);
    expect(again.returnvalue).toEqual({ eventId, status: 'QUEUED', created: false });
    expect(await deliveryJobs(eventId)).toHaveLength(1);
    // A third run while that job waits adds nothing: the same job id.
    await runAgain(again);
    expect(await deliveryJobs(eventId)).toHaveLength(1);
    expect(await outboxRows(eventId)).toBe(0);

    const delivery = await createDeliveryWorker({ db: base.db.db, config: base.config, logger });
    try {
      await base.allSent([eventId]);
    } finally {
      await delivery.close();
    }
    expect(sends(eventId)).toBe(1);
    expect(await base.db.sql`select 1 from notifications.notifications where event_id = ${eventId}`).toHaveLength(1);
  });

  it('adds no job for an event whose notification is SENT or FAILED already', async () => {
    const repo = new NotificationsRepository(base.db.db);
    for (const status of ['SENT', 'FAILED'] as const) {
      const { message } = await announce();
      const eventId = message.jobId;
      const first = await completed(eventId);
      await (await deliveries().getJob(eventId))!.remove();
      await base.db.sql`update notifications.notifications set status = ${status} where event_id = ${eventId}`;

      const again = await runAgain(first);
      expect(again.returnvalue).toEqual({ eventId, status, created: false });
      expect(await deliveryJobs(eventId)).toHaveLength(0);
      expect((await repo.byEventId(eventId))?.status).toBe(status);
    }
  });

  it('fails the attempt when the add fails (the notification recorded, no job), and completes on the retry once the add succeeds', async () => {
    // The delivery queue on a redis-server of this test's own, stopped while the event is recorded; the shared one is never touched.
    await events.close();
    const redis = await PrivateRedis.start();
    const { producer, queues } = await openTestQueues(redis.url, base.config.QUEUE_PREFIX);
    try {
      const queue = queues.get(notificationsQueue.name);
      await queue.waitUntilReady();
      events = await createEventsWorker({ db: base.db.db, config: base.config, logger, deliveries: queue });
      await redis.stop();

      const { message } = await announce();
      const eventId = message.jobId;
      const failed = await eventually(async () => {
        const job = await announcements().getJob(eventId);
        return job && job.attemptsMade === 1 && (await job.getState()) === 'delayed' ? job : undefined;
      });
      expect(failed.failedReason).toBeTruthy();
      expect((await base.db.sql`select status from notifications.notifications where event_id = ${eventId}`)[0]?.status).toBe('QUEUED');

      // Back (empty: no persistence): the retry finds the notification recorded and adds its job.
      await redis.start();
      const job = await completed(eventId);
      // One failed attempt, then the one that completed (BullMQ counts both).
      expect(job.attemptsMade).toBe(2);
      expect(job.returnvalue).toEqual({ eventId, status: 'QUEUED', created: false });
      const jobs = (await queue.getJobs(['waiting', 'delayed', 'active', 'prioritized', 'completed', 'failed'])).filter((found) => found.id === eventId);
      expect(jobs).toHaveLength(1);
      expect(await outboxRows(eventId)).toBe(0);
    } finally {
      await events.close();
      await closeTestQueues(queues, producer).catch(() => {});
      await redis.stop();
    }
  });
});
