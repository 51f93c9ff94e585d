import { randomUUID } from 'node:crypto';
import { UnrecoverableError, Worker, type Processor } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../../common/logger.ts';
import { addJob } from '../../../common/queues.ts';
import { closeRedis, createRedis } from '../../../common/redis.ts';
import { requeueDelivery } from '../../../subgraphs/notifications/delivery-queue.ts';
import { deliverNotification, deliveryJobData, deliveryJobId, notificationsQueue } from '../../../subgraphs/notifications/module.ts';
import { NotificationsRepository } from '../../../subgraphs/notifications/repository.ts';
import { startNotificationBase, type NotificationBase } from '../../../test/support/notifications.ts';
import { createDeliveryWorker } from '../delivery.ts';
import { deliveryRecovery } from '../recovery.ts';

const logger = createLogger('notifications-recovery-test', 'silent');

let base: NotificationBase;
let repo: NotificationsRepository;

beforeAll(async () => {
  base = await startNotificationBase('notif_recovery', { env: { NOTIFY_RECOVERY_MS: '1000', NOTIFY_RETRY_DELAYS_MS: '100' } });
  repo = new NotificationsRepository(base.db.db);
});

afterAll(async () => {
  await base?.close();
});

const queue = () => base.queues.get(notificationsQueue.name);
const sweeper = (batchSize?: number) => deliveryRecovery({ repo, queue: queue(), redis: base.producer, config: base.config, logger, batchSize });
const row = async (eventId: string) =>
  (await base.db.sql`select id, status, attempts, last_error from notifications.notifications where event_id = ${eventId}`)[0];
const sends = (eventId: string) => base.provider.requests.filter((request) => request.key === eventId).length;
const openJobs = async (eventId: string) =>
  (await queue().getJobs(['waiting', 'delayed', 'active', 'prioritized'])).filter((job) => job.id === deliveryJobId(eventId));

/** A notification recorded, its outbox row published long ago (as the relay would), and then left `status` for an hour. */
async function recorded(status: 'QUEUED' | 'RETRYING' | 'SENT' = 'QUEUED', attempts = 0): Promise<string> {
  const eventId = `evt-${randomUUID()}`;
  await repo.record({ eventId, type: 'RECOVERY_TEST', userId: randomUUID(), occurredAt: new Date(), payload: {} });
  await base.db.sql`update notifications.outbox set published_at = now() where job_id = ${eventId}`;
  await age(eventId, status, attempts);
  return eventId;
}

async function age(eventId: string, status: string, attempts: number): Promise<void> {
  await base.db
    .sql`update notifications.notifications set status = ${status}, attempts = ${attempts}, updated_at = now() - interval '1 hour' where event_id = ${eventId}`;
  if (status === 'SENT') await base.db.sql`update notifications.notifications set sent_at = updated_at where event_id = ${eventId}`;
}

/** Its delivery job, queued as the relay does, then deleted from Redis (as a restart without persistence, a failover or a FLUSH would). */
async function loseJob(eventId: string): Promise<void> {
  const job = await addJob(queue(), deliverNotification, deliveryJobData({ eventId, type: 'RECOVERY_TEST', userId: null }), base.config);
  await job.remove();
  expect(await queue().getJob(deliveryJobId(eventId))).toBeUndefined();
}

/** Queues the job and has a bare worker finish it with `processor` without touching the row (as one that died recording it would). */
async function finishJob(eventId: string, processor: Processor, state: 'failed' | 'completed'): Promise<void> {
  await addJob(queue(), deliverNotification, deliveryJobData({ eventId, type: 'RECOVERY_TEST', userId: null }), base.config);
  const connection = createRedis(base.config.REDIS_URL, { role: 'worker' });
  const worker = new Worker(notificationsQueue.name, processor, { connection, prefix: base.config.QUEUE_PREFIX });
  await expect.poll(async () => await queue().getJobState(deliveryJobId(eventId)), { timeout: 15_000 }).toBe(state);
  await worker.close();
  await closeRedis(connection);
}

/** Runs the real delivery worker until every one of `eventIds` is SENT. */
async function deliver(...eventIds: string[]): Promise<void> {
  const delivery = await createDeliveryWorker({ db: base.db.db, config: base.config, logger });
  try {
    await base.allSent(eventIds);
  } finally {
    await delivery.close();
  }
}

describe('notification recovery sweep', () => {
  it('queues again the lost delivery job of a QUEUED, a RETRYING and a retried notification, each sent once; a SENT one is never sent again', async () => {
    const queued = await recorded('QUEUED');
    await loseJob(queued);
    const retrying = await recorded('RETRYING', 1);
    await loseJob(retrying);
    // FAILED, put back by retryNotification (its job queued again, the row QUEUED), and then that job lost.
    const retried = await recorded('QUEUED', 2);
    await base.db.sql`update notifications.notifications set status = 'FAILED' where event_id = ${retried}`;
    const { retried: ok } = (await repo.retry((await row(retried))!.id, (r) => requeueDelivery(queue(), r, base.config)))!;
    expect(ok).toBe(true);
    await queue().remove(deliveryJobId(retried));
    await age(retried, 'QUEUED', 2);
    const sent = await recorded('SENT', 1);
    await loseJob(sent);

    expect(await sweeper().sweep()).toEqual({ requeued: 3, failed: 0 });
    for (const eventId of [queued, retrying, retried]) {
      const job = await queue().getJob(deliveryJobId(eventId));
      expect(job?.name).toBe('RECOVERY_TEST');
      expect(job?.data).toMatchObject({ eventId, type: 'RECOVERY_TEST' });
      expect(job?.opts.attempts).toBe(2);
    }
    expect(await queue().getJob(deliveryJobId(sent))).toBeUndefined();
    // Their jobs are waiting now: nothing more to do.
    expect(await sweeper().sweep()).toEqual({ requeued: 0, failed: 0 });

    await deliver(queued, retrying, retried);
    expect([queued, retrying, retried, sent].map(sends)).toEqual([1, 1, 1, 0]);
    expect(await row(retrying)).toMatchObject({ status: 'SENT', attempts: 2 });
    // Sent and swept again (their completed jobs deleted too): nothing is sent twice.
    for (const eventId of [queued, retrying, retried]) {
      await age(eventId, 'SENT', 1);
      await queue().remove(deliveryJobId(eventId));
    }
    expect(await sweeper().sweep()).toEqual({ requeued: 0, failed: 0 });
    expect([queued, retrying, retried, sent].map(sends)).toEqual([1, 1, 1, 0]);
  });

  it('ends FAILED a notification whose delivery job failed for good without recording it, its job kept for retryNotification', async () => {
    const eventId = await recorded('RETRYING', 2);
    await finishJob(
      eventId,
      async () => {
        throw new UnrecoverableError('worker gave up');
      },
      'failed',
    );

    expect(await sweeper().sweep()).toEqual({ requeued: 0, failed: 1 });
    expect(await row(eventId)).toMatchObject({ status: 'FAILED', attempts: 2, last_error: 'worker gave up' });
    expect(await queue().getJobState(deliveryJobId(eventId))).toBe('failed');
    expect(await sweeper().sweep()).toEqual({ requeued: 0, failed: 0 });
    expect(sends(eventId)).toBe(0);
  });

  it('runs again a delivery job that completed while its notification is not SENT (a database restored from before the send)', async () => {
    const eventId = await recorded('QUEUED');
    await finishJob(eventId, async () => 'as if sent', 'completed');

    expect(await sweeper().sweep()).toEqual({ requeued: 1, failed: 0 });
    await deliver(eventId);
    expect(sends(eventId)).toBe(1);
  });

  it('is safe with two replicas sweeping at once: one job per lost notification, sent once, and one FAILED transition per given-up one', async () => {
    const lost = await recorded('QUEUED');
    await loseJob(lost);
    const givenUp = await recorded('QUEUED', 1);
    await finishJob(
      givenUp,
      async () => {
        throw new UnrecoverableError('gone');
      },
      'failed',
    );

    const [one, other] = [sweeper(), sweeper()];
    const results = await Promise.all([one.sweep(), other.sweep()]);
    // Both may add the lost one's job, under its one job id; only one can move the given-up one to FAILED.
    expect(results.reduce((n, r) => n + r.failed, 0)).toBe(1);
    expect(results.every((r) => r.requeued <= 1)).toBe(true);
    expect(await openJobs(lost)).toHaveLength(1);
    expect(await row(givenUp)).toMatchObject({ status: 'FAILED', last_error: 'gone' });
    await deliver(lost);
    expect(sends(lost)).toBe(1);
    expect(sends(givenUp)).toBe(0);
    expect(await Promise.all([one.sweep(), other.sweep()])).toEqual([
      { requeued: 0, failed: 0 },
      { requeued: 0, failed: 0 },
    ]);
  });

  it('queues the job of a notification the notification-events worker recorded (no outbox row) but never added a job for, and leaves alone one whose job waits', async () => {
    const event = (eventId: string) => ({ eventId, type: 'RECOVERY_TEST', userId: randomUUID(), occurredAt: new Date(), payload: {} });
    const [never, waiting] = [`evt-direct-${randomUUID()}`, `evt-direct-${randomUUID()}`];
    for (const eventId of [never, waiting]) {
      expect(await repo.recordWithoutOutbox(event(eventId))).toMatchObject({ created: true, status: 'QUEUED' });
      await age(eventId, 'QUEUED', 0);
    }
    expect(await base.db.sql`select 1 from notifications.outbox where job_id in ${base.db.sql([never, waiting])}`).toHaveLength(0);
    await addJob(queue(), deliverNotification, deliveryJobData({ eventId: waiting, type: 'RECOVERY_TEST', userId: null }), base.config);

    expect(await sweeper().sweep()).toEqual({ requeued: 1, failed: 0 });
    expect(await openJobs(never)).toHaveLength(1);
    expect(await openJobs(waiting)).toHaveLength(1);
    await deliver(never, waiting);
    expect([never, waiting].map(sends)).toEqual([1, 1]);
  });

  it('leaves alone notifications whose job still waits and those the relay has yet to publish, and looks past a full batch of them to a lost one', async () => {
    const waiting = [await recorded('QUEUED'), await recorded('RETRYING', 1)];
    for (const eventId of waiting) await addJob(queue(), deliverNotification, deliveryJobData({ eventId, type: 'RECOVERY_TEST', userId: null }), base.config);
    const unpublished = await recorded('QUEUED');
    await base.db.sql`update notifications.outbox set published_at = null where job_id = ${unpublished}`;
    const lost = await recorded('QUEUED');
    // Last by id: only a sweep that goes through every batch reaches it.
    await base.db.sql`update notifications.notifications set id = ${`ffffffff-ffff-4fff-bfff-${randomUUID().slice(-12)}`} where event_id = ${lost}`;

    expect(await sweeper(1).sweep()).toEqual({ requeued: 1, failed: 0 });
    expect(await openJobs(lost)).toHaveLength(1);
    expect(await queue().getJob(deliveryJobId(unpublished))).toBeUndefined();
    for (const eventId of waiting) expect(await openJobs(eventId)).toHaveLength(1);
    await deliver(...waiting, lost);
    expect([...waiting, lost].map(sends)).toEqual([1, 1, 1]);
    await base.db.sql`update notifications.outbox set published_at = now() where job_id = ${unpublished}`;
    await base.db.sql`update notifications.notifications set status = 'SENT' where event_id = ${unpublished}`;
  });
});
