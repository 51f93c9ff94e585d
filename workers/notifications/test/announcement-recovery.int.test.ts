import { randomUUID } from 'node:crypto';
import { UnrecoverableError, Worker } from 'bullmq';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OutboxMessage } from '../../../common/jobs.ts';
import { createLogger } from '../../../common/logger.ts';
import { closeRedis, createRedis } from '../../../common/redis.ts';
import { notificationEventsQueue, notificationsQueue } from '../../../subgraphs/notifications/module.ts';
import { NotificationsRepository } from '../../../subgraphs/notifications/repository.ts';
import { ordersOutbox } from '../../../subgraphs/orders/db.ts';
import { orderConfirmed } from '../../../subgraphs/orders/module.ts';
import { usersOutbox } from '../../../subgraphs/users/db.ts';
import { userSignup } from '../../../subgraphs/users/module.ts';
import { startNotificationBase, type NotificationBase } from '../../../test/support/notifications.ts';
import { addOutboxJob } from '../../outbox-relay.ts';
import { announcementRecovery } from '../announcement-recovery.ts';
import { createDeliveryWorker } from '../delivery.ts';
import { createEventsWorker } from '../events.ts';

const logger = createLogger('announcement-recovery-test', 'silent');

let base: NotificationBase;
let repo: NotificationsRepository;

beforeAll(async () => {
  // No outbox relay: the announcements below are published already, and the events worker adds each delivery job itself.
  base = await startNotificationBase('notif_announce', { env: { NOTIFY_RECOVERY_MS: '1000' } });
  repo = new NotificationsRepository(base.db.db);
});

afterAll(async () => {
  await base?.close();
});

const queue = () => base.queues.get(notificationEventsQueue.name);
const sweeper = () => announcementRecovery({ db: base.db.db, repo, queue: queue(), redis: base.producer, config: base.config, logger });
const sends = (eventId: string) => base.provider.requests.filter((request) => request.key === eventId).length;
const openJobs = async (eventId: string) => (await queue().getJobs(['waiting', 'delayed', 'active', 'prioritized'])).filter((job) => job.id === eventId);

/** An announcement written by `schema`'s outbox and published by the relay `ago` (a PostgreSQL interval) ago; its job is not in Redis. */
async function announced(schema: 'users' | 'orders', ago = '10 minutes'): Promise<OutboxMessage> {
  const userId = randomUUID();
  const message =
    schema === 'users'
      ? userSignup.announce({ userId, name: 'Ada', email: `${userId}@example.com` }, new Date())
      : orderConfirmed.announce({ userId, orderId: randomUUID(), productId: 'SKU-1', quantity: 1, status: 'CONFIRMED' }, new Date());
  await base.db.db.insert(schema === 'users' ? usersOutbox : ordersOutbox).values({ ...message, publishedAt: sql`now() - ${ago}::interval` });
  return message;
}

/** Runs the real notification-events and delivery workers until every one of `eventIds` is a SENT notification. */
async function recordAndDeliver(...eventIds: string[]): Promise<void> {
  const events = await createEventsWorker({ db: base.db.db, config: base.config, logger, deliveries: base.queues.get(notificationsQueue.name) });
  const delivery = await createDeliveryWorker({ db: base.db.db, config: base.config, logger });
  try {
    await base.allSent(eventIds);
  } finally {
    await events.close();
    await delivery.close();
  }
}

describe('announcement recovery sweep', () => {
  it('publishes again a USER_SIGNUP and an ORDER_CONFIRMED whose job Redis lost before they were recorded: each recorded and sent once', async () => {
    const signup = await announced('users');
    const confirmed = await announced('orders');

    expect(await sweeper().sweep()).toEqual({ requeued: 2 });
    for (const message of [signup, confirmed]) {
      const job = await queue().getJob(message.jobId);
      expect(job?.name).toBe(message.name);
      expect(job?.data).toEqual(message.payload);
    }
    // Their jobs wait now: nothing more to do.
    expect(await sweeper().sweep()).toEqual({ requeued: 0 });

    await recordAndDeliver(signup.jobId, confirmed.jobId);
    expect([signup.jobId, confirmed.jobId].map(sends)).toEqual([1, 1]);
    // Recorded: not looked at again, even with its job gone from Redis.
    await queue().remove(signup.jobId);
    expect(await sweeper().sweep()).toEqual({ requeued: 0 });
  });

  it('leaves alone an announcement recorded, one whose job waits, one failed for good, one published too recently and one beyond the horizon', async () => {
    const recorded = await announced('users');
    await repo.record({ eventId: recorded.jobId, type: recorded.name, userId: randomUUID(), occurredAt: new Date(), payload: {} });
    const failed = await announced('users');
    await addOutboxJob(queue(), failed, base.config);
    const connection = createRedis(base.config.REDIS_URL, { role: 'worker' });
    const worker = new Worker(
      notificationEventsQueue.name,
      async () => {
        throw new UnrecoverableError('malformed');
      },
      { connection, prefix: base.config.QUEUE_PREFIX },
    );
    await expect.poll(async () => await queue().getJobState(failed.jobId), { timeout: 15_000 }).toBe('failed');
    await worker.close();
    await closeRedis(connection);
    const waiting = await announced('orders');
    await addOutboxJob(queue(), waiting, base.config);
    const recent = await announced('users', '0 seconds');
    const old = await announced('orders', '25 hours');
    const lost = await announced('orders');

    expect(await sweeper().sweep()).toEqual({ requeued: 1 });
    expect(await openJobs(lost.jobId)).toHaveLength(1);
    expect(await openJobs(waiting.jobId)).toHaveLength(1);
    expect(await queue().getJobState(failed.jobId)).toBe('failed');
    for (const message of [recorded, recent, old]) expect(await queue().getJob(message.jobId)).toBeUndefined();
    // Beyond the horizon from now on: NOTIFY_RECOVERY_MS later it would be due, and the sweeps below count only their own announcements.
    await base.db.sql`update users.outbox set published_at = now() - interval '25 hours' where job_id = ${recent.jobId}`;
  });

  it('is safe with two replicas sweeping at once: one job per lost announcement, one notification, sent once', async () => {
    const lost = await announced('users');
    const results = await Promise.all([sweeper().sweep(), sweeper().sweep()]);
    expect(results.every((r) => r.requeued <= 1)).toBe(true);
    expect(await openJobs(lost.jobId)).toHaveLength(1);
    await recordAndDeliver(lost.jobId);
    expect(await base.db.sql`select 1 from notifications.notifications where event_id = ${lost.jobId}`).toHaveLength(1);
    expect(sends(lost.jobId)).toBe(1);
  });

  it('runs again an announcement whose job completed but which no notification records (a database restored from before it)', async () => {
    const restored = await announced('orders');
    await addOutboxJob(queue(), restored, base.config);
    const connection = createRedis(base.config.REDIS_URL, { role: 'worker' });
    const worker = new Worker(notificationEventsQueue.name, async () => 'recorded before the restore', { connection, prefix: base.config.QUEUE_PREFIX });
    await expect.poll(async () => await queue().getJobState(restored.jobId), { timeout: 15_000 }).toBe('completed');
    await worker.close();
    await closeRedis(connection);

    expect(await sweeper().sweep()).toEqual({ requeued: 1 });
    await recordAndDeliver(restored.jobId);
    expect(sends(restored.jobId)).toBe(1);
  });
});
