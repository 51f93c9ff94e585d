/**
 * Invariant 8 for deliveries (docs/architecture.md): a provider down for far
 * longer than every retry delay together uses up no retries. Retries after
 * 100, 100 and 100 ms (0.3 s in all); the breaker half-opens every second and
 * does not back off (BREAKER_MAX_RESET_TIMEOUT_MS = BREAKER_RESET_TIMEOUT_MS),
 * the most trial calls an outage can take: had each failed trial counted as
 * an attempt, every notification would have used up its 4 many times over.
 *
 * The outage lasts LONG_OUTAGE_MS (default 20 s, for the suite); the 5-minute
 * run is LONG_OUTAGE_MS=300000 npx vitest run workers/notifications/test/long-outage.int.test.ts
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { notificationsQueue } from '../../../subgraphs/notifications/module.ts';
import { readBreaker } from '../../../test/support/breaker.ts';
import { startNotificationRig, type NotificationRig } from '../../../test/support/notifications.ts';
import { accept, down } from '../../../test/support/notify-provider.ts';
import { metric } from '../../../test/support/metrics.ts';

const OUTAGE_MS = Number(process.env.LONG_OUTAGE_MS ?? 20_000);
const ATTEMPTS = 4;
let rig: NotificationRig;

beforeEach(async () => {
  rig = await startNotificationRig('notif_long_outage', {
    NOTIFY_RETRY_DELAYS_MS: '100,100,100',
    BREAKER_RESET_TIMEOUT_MS: '1000',
    BREAKER_MAX_RESET_TIMEOUT_MS: '1000',
  });
});

afterEach(async () => {
  await rig?.close();
});

const failedDeliveries = () => metric(rig.workersBase, 'notification_deliveries_total', { outcome: 'failed' });
const opened = () => metric(rig.workersBase, 'circuit_breaker_transitions_total', { breaker: 'notify', state: 'OPEN' });
const statuses = async (ids: string[]) =>
  (await rig.db.sql`select event_id, status, attempts from notifications.notifications where event_id = any(${ids})`) as unknown as {
    event_id: string;
    status: string;
    attempts: number;
  }[];

it(
  `a provider down for ${OUTAGE_MS / 1000} s (retries 0.3 s, a trial call every second): no notification FAILED, each SENT once after`,
  async () => {
    rig.provider.behave(down);
    const ids = Array.from({ length: 4 }, (_, i) => `evt-long-${i}-${randomUUID()}`);
    await Promise.all(ids.map((id) => rig.ingest(id)));
    const failedBefore = await failedDeliveries();

    // The outage: checked throughout, not only at its end (time passes on purpose: the outage lasts OUTAGE_MS).
    const started = Date.now();
    while (Date.now() - started < OUTAGE_MS) {
      const rows = await statuses(ids);
      expect(rows.filter((row) => row.status === 'FAILED')).toEqual([]);
      expect(rows.filter((row) => row.attempts >= ATTEMPTS)).toEqual([]);
      await sleep(500);
    }
    const refused = rig.provider.requests.filter((r) => ids.includes(r.key) && r.status === 503).length;
    // The provider saw more failing calls than all the attempts of all the notifications: trial calls, none counted.
    expect(refused).toBeGreaterThan(ATTEMPTS * ids.length);
    expect((await readBreaker(rig.workersBase, 'notify')).state).not.toBe(0);

    rig.provider.behave(accept);
    for (const id of ids) await rig.settled(id, 'SENT', 30_000);
    const queue = rig.queues.get(notificationsQueue.name);
    for (const id of ids) {
      const accepted = rig.provider.requests.filter((r) => r.key === id && r.status < 300);
      expect(accepted).toHaveLength(1);
      expect(accepted[0]!.replay).toBe(false);
      const job = await queue.getJob(id);
      expect(await job!.getState()).toBe('completed');
      // Only the tries made while the breaker was closed count (those before it opened, and the one that succeeded).
      expect(job!.attemptsMade).toBeLessThan(ATTEMPTS);
    }
    for (const row of await statuses(ids)) expect(row.attempts).toBeLessThanOrEqual(ATTEMPTS);
    expect(await failedDeliveries()).toBe(failedBefore);
  },
  OUTAGE_MS + 90_000,
);

it('a message the provider fails while it serves the others still ends FAILED after its 4 attempts, as before', async () => {
  const poison = `evt-poison-${randomUUID()}`;
  rig.provider.behave((key) => ({ status: key === poison ? 503 : 202 }));
  const openedBefore = await opened();
  const others = Array.from({ length: 10 }, (_, i) => `evt-fine-${i}-${randomUUID()}`);
  await Promise.all([poison, ...others].map((id) => rig.ingest(id)));

  const failed = await rig.settled(poison, 'FAILED', 30_000);
  expect(failed.attempts).toBe(ATTEMPTS);
  expect(rig.provider.requests.filter((r) => r.key === poison).map((r) => r.status)).toEqual(Array(ATTEMPTS).fill(503));
  const job = await rig.queues.get(notificationsQueue.name).getJob(poison);
  expect(await job!.getState()).toBe('failed');
  expect(job!.attemptsMade).toBe(ATTEMPTS);
  await rig.allSent(others, 30_000);
  // The provider served the others all along: its breaker never opened.
  expect(await opened()).toBe(openedBefore);
});
