import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startNotificationRig, type NotificationRig } from '../../../test/support/notifications.ts';
import { PrivatePostgres } from '../../../test/support/postgres.ts';
import { eventually } from '../../../test/support/wait.ts';

// A PostgreSQL cluster of this file's own, stopped and started again; the shared one is never touched.
// Every send reaches the provider (the breaker stays out of the way), so a second send would be seen and counted.
const DELAYS = [200, 400, 600];
// The provider holds its 2xx this long, time enough for PostgreSQL to stop before the worker hears it.
const ANSWER_DELAY_MS = 4000;
// PostgreSQL stays down this long after the answer: several DATABASE_WAIT_MS holds of the queue.
const DOWN_AFTER_ANSWER_MS = 3000;

let pg: PrivatePostgres;
let rig: NotificationRig;

beforeAll(async () => {
  pg = await PrivatePostgres.start();
  rig = await startNotificationRig('notif_sent_write', { NOTIFY_RETRY_DELAYS_MS: DELAYS.join(','), BREAKER_VOLUME_THRESHOLD: '1000' }, pg.adminUrl);
});

afterAll(async () => {
  await pg?.start().catch(() => {});
  await rig?.close();
  await pg?.destroy();
});

it('a notification the provider accepted while PostgreSQL stopped ends SENT once it is back: sent once, its attempts unchanged by the outage', async () => {
  const eventId = `evt-sent-write-${randomUUID()}`;
  let stopping: Promise<number> | undefined;
  // The first request is accepted, and PostgreSQL stops before its answer arrives, so the SENT write meets it
  // stopped. Any later request with the key is answered 503, as the chaos provider fails a replay like any request.
  rig.provider.behave((key, nth) => {
    if (key !== eventId) return { status: 202 };
    if (nth > 1) return { status: 503 };
    stopping = pg.stop().then(() => Date.now());
    return { status: 202, delayMs: ANSWER_DELAY_MS };
  });
  await rig.ingest(eventId);
  await expect.poll(() => stopping, { timeout: 15_000, message: 'the provider to receive the notification' }).toBeDefined();
  const stoppedAt = await stopping!;
  const [first] = rig.provider.requests.filter((r) => r.key === eventId);
  expect(stoppedAt, 'PostgreSQL stopped before the provider answered').toBeLessThan(first!.at + ANSWER_DELAY_MS);

  await new Promise((resolve) => setTimeout(resolve, ANSWER_DELAY_MS - (Date.now() - first!.at) + DOWN_AFTER_ANSWER_MS)); // the outage, on purpose
  const job = await rig.queues.get('notifications').getJob(eventId);
  expect(job!.attemptsMade, 'the failed write spent no attempt of the job').toBe(0);
  await pg.start();

  // Settled either way, so a failure shows the row: SENT with the one attempt the provider accepted.
  const settled = await eventually(
    async () => {
      const row = await rig.row(eventId);
      return row?.status === 'SENT' || row?.status === 'FAILED' ? row : undefined;
    },
    15_000,
    `${eventId} SENT or FAILED`,
  );
  expect(settled).toMatchObject({ status: 'SENT', attempts: 1, last_error: null });
  // Time passes on purpose: a second send, were there one, would arrive within it.
  await new Promise((resolve) => setTimeout(resolve, 500));
  expect(rig.provider.requests.filter((r) => r.key === eventId)).toHaveLength(1);
  expect(rig.provider.delivered.has(eventId)).toBe(true);
  const done = await rig.queues.get('notifications').getJob(eventId);
  expect(await done!.getState()).toBe('completed');
  // One run counted, the one that completed: the runs held by the outage counted none.
  expect(done!.attemptsMade).toBe(1);
  expect(done!.returnvalue).toEqual({ eventId, result: 'sent' });
});
