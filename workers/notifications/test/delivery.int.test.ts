import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { notificationEventsQueue, notificationsQueue } from '../../../subgraphs/notifications/module.ts';
import { userSignup } from '../../../subgraphs/users/module.ts';
import { signedIn } from '../../../test/support/graphql.ts';
import { startNotificationRig, type NotificationRig } from '../../../test/support/notifications.ts';
import { accept, down, failFirst } from '../../../test/support/notify-provider.ts';
import { eventually } from '../../../test/support/wait.ts';

const DELAYS = [200, 400, 600];

let rig: NotificationRig;
// Signed in as an admin (retryNotification, everyone's notifications) unless a call sends its own Authorization.
const { gql, gqlData } = signedIn(() => rig.admin);

beforeAll(async () => {
  rig = await startNotificationRig('notif_delivery', {
    NOTIFY_RETRY_DELAYS_MS: DELAYS.join(','),
    // Every attempt here must reach the provider: the breaker stays out of the way.
    BREAKER_VOLUME_THRESHOLD: '1000',
  });
});

afterAll(async () => {
  await rig?.close();
});

const ingest = (eventId: string, userId?: string) => rig.ingest(eventId, userId, { tracking: 'T-1' });
const row = (eventId: string) => rig.row(eventId);
const settled = (eventId: string, status: 'SENT' | 'FAILED') => rig.settled(eventId, status);

const gaps = (times: number[]) => times.slice(1).map((t, i) => t - times[i]!);

describe('notification delivery', () => {
  it('delivers an ingested event once, with its eventId as Idempotency-Key, also when it is ingested again and again', async () => {
    rig.provider.behave(accept);
    const eventId = `evt-once-${randomUUID()}`;
    const results = await Promise.all(Array.from({ length: 5 }, () => ingest(eventId)));
    expect(new Set(results.map((r) => r.ingestEvent.eventId))).toEqual(new Set([eventId]));
    const sent = await settled(eventId, 'SENT');
    expect(sent).toMatchObject({ attempts: 1, last_error: null });
    expect(sent.sent_at).not.toBeNull();

    const again = await ingest(eventId);
    expect(again.ingestEvent).toEqual({ eventId, status: 'SENT' });
    // Time passes on purpose: a second request, were there one, would arrive within it.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const requests = rig.provider.requests.filter((r) => r.key === eventId);
    expect(requests).toHaveLength(1);
    expect(requests[0]!.body).toMatchObject({ eventId, type: 'order_shipped', payload: { tracking: 'T-1' } });
    expect(await rig.db.sql`select 1 from notifications.outbox where job_id = ${eventId}`).toHaveLength(1);
  });

  it('retries after each configured delay: a provider failing twice gets it SENT on attempt 3', async () => {
    rig.provider.behave(failFirst(2));
    const eventId = `evt-flaky-${randomUUID()}`;
    await ingest(eventId);
    const seen = new Set<string>();
    await expect
      .poll(
        async () => {
          const r = await row(eventId);
          if (r) seen.add(r.status);
          return r?.status;
        },
        { timeout: 15_000 },
      )
      .toBe('SENT');
    const sent = await row(eventId);
    expect(sent).toMatchObject({ status: 'SENT', attempts: 3, last_error: null });
    expect(seen).toContain('RETRYING');
    const intervals = gaps(rig.provider.timesOf(eventId));
    expect(intervals).toHaveLength(2);
    intervals.forEach((gap, i) => {
      expect(gap).toBeGreaterThanOrEqual(DELAYS[i]! - 10);
      expect(gap).toBeLessThan(DELAYS[i]! + 300);
    });
    expect(rig.provider.requests.filter((r) => r.key === eventId).map((r) => r.status)).toEqual([503, 503, 202]);
  });

  it('takes a 4xx refusal as final at once, but retries 429 and 408', async () => {
    rig.provider.behave((_key, nth) => ({ status: nth === 1 ? 422 : 202 }));
    const refused = `evt-refused-${randomUUID()}`;
    await ingest(refused);
    const failed = await settled(refused, 'FAILED');
    expect(failed).toMatchObject({ attempts: 1, last_error: expect.stringContaining('422') });
    expect(await (await rig.queues.get(notificationsQueue.name).getJob(refused))?.getState()).toBe('failed');

    rig.provider.behave((_key, nth) => ({ status: nth === 1 ? 429 : nth === 2 ? 408 : 202 }));
    const throttled = `evt-throttled-${randomUUID()}`;
    await ingest(throttled);
    expect(await settled(throttled, 'SENT')).toMatchObject({ attempts: 3 });
  });

  it('with the provider down: FAILED after 4 attempts, in the failed set, Bull Board and notifications(status: FAILED); retryNotification then delivers it once', async () => {
    rig.provider.behave(down);
    const eventId = `evt-down-${randomUUID()}`;
    await ingest(eventId);
    const failed = await settled(eventId, 'FAILED');
    expect(failed).toMatchObject({ attempts: 4, last_error: 'provider answered 503' });
    const intervals = gaps(rig.provider.timesOf(eventId));
    expect(intervals).toHaveLength(3);
    intervals.forEach((gap, i) => expect(gap).toBeGreaterThanOrEqual(DELAYS[i]! - 10));

    const job = await eventually(async () => {
      // Only a snapshot taken after the move to the failed set (finishedOn) has the final attemptsMade.
      const found = await rig.queues.get(notificationsQueue.name).getJob(eventId);
      return found?.finishedOn && (await found.getState()) === 'failed' ? found : undefined;
    });
    expect(job!.attemptsMade).toBe(4);

    const boardRes = await fetch(`${rig.workersBase}/admin/queues/api/queues?activeQueue=notifications&status=failed&page=1`, {
      headers: rig.admin,
    });
    expect(boardRes.status).toBe(200);
    const boardBody = (await boardRes.json()) as { queues: { name: string; counts: Record<string, number>; jobs: { id: string }[] }[] };
    const listed = boardBody.queues.find((q) => q.name === 'notifications')!;
    expect(listed.counts.failed).toBeGreaterThanOrEqual(1);
    expect(listed.jobs.map((j) => j.id)).toContain(eventId);
    expect(boardBody.queues.map((q) => q.name)).toEqual(expect.arrayContaining(['orders', 'notifications', 'notification-events']));

    const metrics = await (await fetch(`${rig.workersBase}/metrics`)).text();
    expect(metrics).toMatch(/notification_deliveries_total\{outcome="failed"\} [1-9]/);
    expect(metrics).toMatch(/notification_deliveries_total\{outcome="retried"\} [1-9]/);
    expect(metrics).toMatch(/notification_deliveries_total\{outcome="sent"\} [1-9]/);
    expect(metrics).toMatch(/junction_queue_jobs\{[^}]*queue="notifications",state="failed"\} [1-9]/);

    const listedFailed = await gqlData(rig.url, `{ notifications(status: FAILED, first: 100) { nodes { id eventId attempts lastError } } }`);
    const node = listedFailed.notifications.nodes.find((n: { eventId: string }) => n.eventId === eventId);
    expect(node).toMatchObject({ id: failed.id, attempts: 4, lastError: 'provider answered 503' });

    rig.provider.behave(accept);
    const retried = await gqlData(rig.url, `mutation($id: ID!) { retryNotification(id: $id) { id status attempts } }`, { id: failed.id });
    expect(retried.retryNotification).toMatchObject({ id: failed.id, status: 'QUEUED' });
    expect(await settled(eventId, 'SENT')).toMatchObject({ attempts: 5, last_error: null });
    expect(await job!.getState()).toBe('completed');
    // Time passes on purpose: a sixth request, were there one, would arrive within it.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(rig.provider.requests.filter((r) => r.key === eventId).map((r) => r.status)).toEqual([503, 503, 503, 503, 202]);

    const twice = await gql(rig.url, `mutation($id: ID!) { retryNotification(id: $id) { id } }`, { id: failed.id });
    expect(twice.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('records notification-events once per eventId, like ingestEvent, and fails a malformed event for good', async () => {
    rig.provider.behave(accept);
    const events = rig.queues.get(notificationEventsQueue.name);
    const options = userSignup.options({});
    const userId = randomUUID();
    const eventId = randomUUID();
    const event = { eventId, eventType: 'USER_SIGNUP', timestamp: '2026-11-21T10:00:00.000Z', payload: { userId, email: 'e@example.com' } };
    await events.add('USER_SIGNUP', event, { ...options, jobId: eventId });
    const sent = await settled(eventId, 'SENT');
    expect(sent.attempts).toBe(1);
    // The same event again, from an external producer this time: already known, nothing new is sent.
    const again = await ingest(eventId, userId);
    expect(again.ingestEvent).toEqual({ eventId, status: 'SENT' });
    const [recorded] = await rig.db.sql`select type, user_id, occurred_at from notifications.notifications where event_id = ${eventId}`;
    expect(recorded).toMatchObject({ type: 'USER_SIGNUP', user_id: userId });
    expect(new Date(recorded!.occurred_at).toISOString()).toBe(event.timestamp);

    const malformed = randomUUID();
    await events.add('USER_SIGNUP', { eventId: malformed, eventType: 'USER_SIGNUP', payload: {} }, { ...options, jobId: malformed });
    const job = await eventually(async () => {
      // Only a snapshot taken after the move to the failed set (finishedOn) has failedReason.
      const found = await events.getJob(malformed);
      return found?.finishedOn && (await found.getState()) === 'failed' ? found : undefined;
    });
    expect(job!.failedReason).toContain('payload.userId');
    expect(job!.attemptsMade).toBe(1);
    expect(await row(malformed)).toBeUndefined();
    // Time passes on purpose: a request for the malformed event, were there one, would arrive within it.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(rig.provider.requests.filter((r) => r.key === eventId)).toHaveLength(1);
  });
});
