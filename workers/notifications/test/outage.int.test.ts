import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { gqlData } from '../../../test/support/graphql.ts';
import { startNotificationRig, type NotificationRig } from '../../../test/support/notifications.ts';
import { accept, down } from '../../../test/support/notify-provider.ts';
import { metric, scrape } from '../../../test/support/metrics.ts';

// Retries 100 + 200 + 300 ms: 0.6 s in all. The breaker opens after 3 failed calls and half-opens after 2 s.
const DELAYS = [100, 200, 300];
const RESET_MS = 2000;
let rig: NotificationRig;

// A rig per test: each has a breaker of its own, its window free of the other test's calls.
beforeEach(async () => {
  rig = await startNotificationRig('notif_outage', {
    NOTIFY_RETRY_DELAYS_MS: DELAYS.join(','),
    BREAKER_VOLUME_THRESHOLD: '3',
    BREAKER_RESET_TIMEOUT_MS: String(RESET_MS),
  });
});

afterEach(async () => {
  await rig?.close();
});

const metrics = () => scrape(rig.workersBase);
const breakerState = () => metric(rig.workersBase, 'circuit_breaker_state', { breaker: 'notify' });
const pausedSeconds = () => metric(rig.workersBase, 'junction_queue_paused_seconds_total', { queue: 'notifications', reason: 'notify_unavailable' });
const accepted = (key: string) => rig.provider.requests.filter((r) => r.key === key && r.status < 300).length;

it('pauses delivery while the provider is down for longer than every retry delay together: none FAILED, each SENT once after, at most 2 attempts', async () => {
  const pausedBefore = await pausedSeconds();
  rig.provider.behave(down);
  const ids = Array.from({ length: 20 }, (_, i) => `evt-outage-${i}-${randomUUID()}`);
  await Promise.all(ids.map((id) => rig.ingest(id)));
  // Down for 1.5 s: more than the 0.6 s of retries, less than the breaker's 2 s reset.
  await expect.poll(breakerState, { timeout: 5000, message: 'the notify breaker to open' }).toBe(2);
  await new Promise((resolve) => setTimeout(resolve, 1500)); // time passes on purpose: the outage
  const rows = await rig.db.sql`select status from notifications.notifications where event_id = any(${ids})`;
  expect(rows.filter((r) => r.status === 'FAILED')).toHaveLength(0);
  rig.provider.behave(accept);

  for (const id of ids) {
    const sent = await rig.settled(id, 'SENT', 10_000);
    expect(sent.attempts).toBeGreaterThanOrEqual(1);
    expect(sent.attempts).toBeLessThanOrEqual(2);
  }
  for (const id of ids) {
    expect(accepted(id)).toBe(1);
    expect(rig.provider.requests.filter((r) => r.key === id).length).toBeLessThanOrEqual(2);
    const job = await rig.queues.get('notifications').getJob(id);
    expect(job!.attemptsMade).toBeLessThanOrEqual(2);
  }
  // Most never reached the provider while it was down: they waited instead.
  expect(rig.provider.requests.filter((r) => ids.includes(r.key) && r.status === 503).length).toBeLessThan(10);
  expect((await pausedSeconds()) - pausedBefore).toBeGreaterThan(1);
  expect(await metrics()).toMatch(/^junction_queue_paused\{queue="notifications",reason="notify_unavailable"\} 0$/m);
});

it('retryNotification right after the provider recovers, with its breaker still open, delivers once', async () => {
  // A notification FAILED for real: the provider refused it (a 4xx does not count against the breaker).
  const refused = `evt-refused-${randomUUID()}`;
  rig.provider.behave((key) => ({ status: key === refused ? 422 : 503 }));
  await rig.ingest(refused);
  const failed = await rig.settled(refused, 'FAILED');

  // The provider goes down and the breaker opens on other deliveries.
  const others = Array.from({ length: 3 }, () => `evt-other-${randomUUID()}`);
  await Promise.all(others.map((id) => rig.ingest(id)));
  await expect.poll(breakerState, { timeout: 5000, message: 'the notify breaker to open' }).toBe(2);

  // Back again; the operator replays at once, while the breaker is still open.
  rig.provider.behave(accept);
  const retried = await gqlData(rig.url, `mutation($id: ID!) { retryNotification(id: $id) { id status } }`, { id: failed.id }, rig.admin);
  expect(retried.retryNotification).toEqual({ id: failed.id, status: 'QUEUED' });
  expect(await breakerState()).toBe(2);

  const sent = await rig.settled(refused, 'SENT', RESET_MS + 5000);
  expect(sent.last_error).toBeNull();
  for (const id of others) await rig.settled(id, 'SENT', 5000);
  // Time passes on purpose: a third request for the refused key, were there one, would arrive within it.
  await new Promise((resolve) => setTimeout(resolve, 300));
  expect(rig.provider.requests.filter((r) => r.key === refused).map((r) => r.status)).toEqual([422, 202]);
});
