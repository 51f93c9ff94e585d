import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { notificationsQueue } from '../../../subgraphs/notifications/module.ts';
import { NotificationsRepository } from '../../../subgraphs/notifications/repository.ts';
import { startNotificationBase, type NotificationBase } from '../../../test/support/notifications.ts';

const MAIN = fileURLToPath(new URL('../../../test/support/notification-workers-process.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

let base: NotificationBase;
const children: ChildProcess[] = [];

/** The notification workers as a real process of their own (test/support/notification-workers-process.ts). */
function startWorkerProcess(): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN], { cwd: ROOT, env: { ...process.env, ...base.env }, stdio: ['ignore', 'ignore', 'inherit'] });
  children.push(child);
  return child;
}

const exited = (child: ChildProcess) =>
  child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise<void>((resolve) => child.once('exit', () => resolve()));

beforeAll(async () => {
  base = await startNotificationBase('notif_crash', {
    // Every first request of a key is held, so the worker can be killed while it waits for the answer.
    behaviour: (_key, nth) => (nth === 1 ? { status: 202, delayMs: 1500 } : { status: 202 }),
    env: { NOTIFY_RETRY_DELAYS_MS: '200,400,600', WORKER_LOCK_MS: '1000', LOG_LEVEL: 'silent' },
    relay: true,
  });
});

afterAll(async () => {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited(child);
  }
  await base?.close();
});

describe('delivery worker killed mid-delivery', () => {
  it('loses nothing and delivers nothing twice: the restarted worker sends again with the same Idempotency-Key', async () => {
    const repo = new NotificationsRepository(base.db.db);
    const eventIds = Array.from({ length: 3 }, () => `evt-crash-${randomUUID()}`);
    for (const eventId of eventIds) {
      await repo.record({ eventId, type: 'ORDER_CONFIRMED', userId: randomUUID(), occurredAt: new Date(), payload: { orderId: randomUUID() } });
    }

    const first = startWorkerProcess();
    await expect.poll(() => base.provider.requests.length, { timeout: 20_000, message: 'a delivery in flight' }).toBeGreaterThanOrEqual(1);
    first.kill('SIGKILL');
    await exited(first);
    expect(first.signalCode).toBe('SIGKILL');
    const inFlight = new Set(base.provider.requests.map((r) => r.key));
    // The provider took those messages but the worker died before hearing so: nothing may be SENT yet.
    const before = await base.db.sql`select status from notifications.notifications where status = 'SENT'`;
    expect(before).toHaveLength(0);

    startWorkerProcess();
    await expect
      .poll(async () => (await base.db.sql`select 1 from notifications.notifications where status = 'SENT'`).length, {
        timeout: 30_000,
        message: 'every notification SENT',
      })
      .toBe(eventIds.length);

    expect(base.provider.delivered).toEqual(new Set(eventIds));
    for (const key of inFlight) {
      // Sent again after the crash, under the same key: the provider answered it as a replay.
      expect(base.provider.requests.filter((r) => r.key === key).length).toBeGreaterThanOrEqual(2);
    }
    const rows = await base.db.sql`select event_id, attempts, sent_at from notifications.notifications order by event_id`;
    for (const row of rows) {
      expect(row.sent_at).not.toBeNull();
      // The killed attempt counts; a job may also have been started but not yet sent when the process died.
      expect(row.attempts).toBeGreaterThanOrEqual(inFlight.has(row.event_id) ? 2 : 1);
      expect(row.attempts).toBeLessThanOrEqual(2);
    }
    for (const eventId of eventIds) expect(await (await base.queues.get(notificationsQueue.name).getJob(eventId))?.getState()).toBe('completed');
  });
});
