import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../common/config.ts';
import { createLogger } from '../../../common/logger.ts';
import type { QueueSet } from '../../../common/queues.ts';
import { notificationsQueue } from '../../../subgraphs/notifications/module.ts';
import type { createRedis } from '../../../common/redis.ts';
import { NotificationsRepository } from '../../../subgraphs/notifications/repository.ts';
import { createTestDatabase, type TestDatabase } from '../../../test/support/db.ts';
import { eventually, startTestProvider, type TestProvider } from '../../../test/support/notify-provider.ts';
import { OutboxRelay } from '../../outbox-relay.ts';
import { closeTestQueues, openTestQueues } from '../../../test/support/queues.ts';

const MAIN = fileURLToPath(new URL('../main.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const logger = createLogger('notifications-crash-test', 'silent');

let db: TestDatabase;
let provider: TestProvider;
let producer: ReturnType<typeof createRedis>;
let queues: QueueSet;
let relay: OutboxRelay;
let env: Record<string, string>;
const children: ChildProcess[] = [];

/** The notification workers as a real process of their own, like `tsx workers/notifications/main.ts`. */
function startWorkerProcess(): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'inherit'] });
  children.push(child);
  return child;
}

const exited = (child: ChildProcess) =>
  child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise<void>((resolve) => child.once('exit', () => resolve()));

beforeAll(async () => {
  db = await createTestDatabase('notif_crash');
  // Every first request of a key is held, so the worker can be killed while it waits for the answer.
  provider = await startTestProvider((_key, nth) => (nth === 1 ? { status: 202, delayMs: 1500 } : { status: 202 }));
  env = {
    DATABASE_URL: db.url,
    QUEUE_PREFIX: `jt-notif-crash-${randomUUID().slice(0, 8)}`,
    NOTIFY_URL: provider.url,
    NOTIFY_RETRY_DELAYS_MS: '200,400,600',
    WORKER_LOCK_MS: '1000',
    LOG_LEVEL: 'silent',
  };
  const config = parseConfig(env);
  ({ producer, queues } = await openTestQueues(config.REDIS_URL, config.QUEUE_PREFIX));
  relay = new OutboxRelay({ db, queues, redis: producer, config: { ...config, OUTBOX_POLL_MS: 50 }, logger }).start();
});

afterAll(async () => {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited(child);
  }
  await relay?.close();
  await closeTestQueues(queues, producer);
  await provider?.close();
  await db?.drop();
});

describe('delivery worker killed mid-delivery', () => {
  it('loses nothing and delivers nothing twice: the restarted worker sends again with the same Idempotency-Key', async () => {
    const repo = new NotificationsRepository(db.db);
    const eventIds = Array.from({ length: 3 }, () => `evt-crash-${randomUUID()}`);
    for (const eventId of eventIds) {
      await repo.record({ eventId, type: 'ORDER_CONFIRMED', userId: randomUUID(), occurredAt: new Date(), payload: { orderId: randomUUID() } });
    }

    const first = startWorkerProcess();
    await eventually(() => provider.requests.length >= 1, 20_000, 'a delivery in flight');
    first.kill('SIGKILL');
    await exited(first);
    expect(first.signalCode).toBe('SIGKILL');
    const inFlight = new Set(provider.requests.map((r) => r.key));
    // The provider took those messages but the worker died before hearing so: nothing may be SENT yet.
    const before = await db.sql`select status from notifications.notifications where status = 'SENT'`;
    expect(before).toHaveLength(0);

    startWorkerProcess();
    await eventually(async () => {
      const rows = await db.sql`select 1 from notifications.notifications where status = 'SENT'`;
      return rows.length === eventIds.length;
    }, 30_000, 'every notification SENT');

    expect(provider.delivered).toEqual(new Set(eventIds));
    for (const key of inFlight) {
      // Sent again after the crash, under the same key: the provider answered it as a replay.
      expect(provider.requests.filter((r) => r.key === key).length).toBeGreaterThanOrEqual(2);
    }
    const rows = await db.sql`select event_id, attempts, sent_at from notifications.notifications order by event_id`;
    for (const row of rows) {
      expect(row.sent_at).not.toBeNull();
      // The killed attempt counts; a job may also have been started but not yet sent when the process died.
      expect(row.attempts).toBeGreaterThanOrEqual(inFlight.has(row.event_id) ? 2 : 1);
      expect(row.attempts).toBeLessThanOrEqual(2);
    }
    for (const eventId of eventIds) expect(await (await queues.get(notificationsQueue.name).getJob(eventId))?.getState()).toBe('completed');
  });
});
