import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createLogger } from '../../../common/logger.ts';
import { notificationEventsQueue } from '../../../subgraphs/notifications/module.ts';
import { NotificationsRepository } from '../../../subgraphs/notifications/repository.ts';
import { usersOutbox } from '../../../subgraphs/users/db.ts';
import { userSignup } from '../../../subgraphs/users/module.ts';
import { startNotificationBase, type NotificationBase } from '../../../test/support/notifications.ts';
import { PrivateRedis } from '../../../test/support/orders.ts';
import { startNotificationWorkers, type NotificationWorkers } from '../index.ts';

// A redis-server of this file's own, without persistence (as compose's and CI's), killed and started again empty.
let redis: PrivateRedis;
let base: NotificationBase;
let workers: NotificationWorkers;
let repo: NotificationsRepository;

beforeAll(async () => {
  redis = await PrivateRedis.start();
  base = await startNotificationBase('notif_redis_restart', {
    // A retry 60 s away: only the recovery sweep (every second here) can bring a lost one back within the test.
    env: { REDIS_URL: redis.url, NOTIFY_RECOVERY_MS: '1000', NOTIFY_RETRY_DELAYS_MS: '60000', BREAKER_VOLUME_THRESHOLD: '1000' },
    relay: true,
  });
  workers = await startNotificationWorkers({
    db: base.db.db,
    config: base.config,
    queues: base.queues,
    logger: createLogger('redis-restart', process.env.LOG_LEVEL ?? 'silent'),
  });
  repo = new NotificationsRepository(base.db.db);
});

afterAll(async () => {
  await workers?.close();
  await base?.close();
  await redis?.stop();
});

const row = async (eventId: string) => (await base.db.sql`select status, attempts from notifications.notifications where event_id = ${eventId}`)[0];
const accepted = (eventId: string) => base.provider.requests.filter((request) => request.key === eventId && request.status < 300).length;
const event = (eventId: string) => ({ eventId, type: 'REDIS_RESTART_TEST', userId: randomUUID(), occurredAt: new Date(), payload: {} });

it('Redis restarted empty: a notification waiting for its retry and an announced event not yet recorded are each sent once; a SENT one is not sent again', async () => {
  const sent = `evt-sent-${randomUUID()}`;
  const retrying = `evt-retrying-${randomUUID()}`;
  base.provider.behave((key, nth) => ({ status: key === retrying && nth === 1 ? 503 : 202 }));
  await repo.record(event(sent));
  await repo.record(event(retrying));
  await expect.poll(async () => [(await row(sent))?.status, (await row(retrying))?.status], { timeout: 15_000 }).toEqual(['SENT', 'RETRYING']);

  // A signup announced while its queue waits (as it does while PostgreSQL is down): published, in Redis, not recorded.
  const queue = base.queues.get(notificationEventsQueue.name);
  await queue.pause();
  const userId = randomUUID();
  const signup = userSignup.announce({ userId, name: 'Ada', email: `${userId}@example.com` }, new Date());
  await base.db.db.insert(usersOutbox).values(signup);
  await expect.poll(() => queue.getJobState(signup.jobId), { timeout: 15_000 }).toBe('waiting');

  await redis.kill();
  await redis.start();

  await base.allSent([retrying, signup.jobId], 20_000);
  expect(await row(retrying)).toEqual({ status: 'SENT', attempts: 2 });
  expect([sent, retrying, signup.jobId].map(accepted)).toEqual([1, 1, 1]);
  // Settled: further sweeps find nothing to do and send nothing (time passes on purpose, so that nothing is merely too recent to sweep).
  await new Promise((resolve) => setTimeout(resolve, 2500));
  expect(await Promise.all([workers.recovery.sweep(), workers.announcements.sweep()])).toEqual([{ requeued: 0, failed: 0 }, { requeued: 0 }]);
  expect([sent, retrying, signup.jobId].map(accepted)).toEqual([1, 1, 1]);
});
