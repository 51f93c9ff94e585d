import { randomUUID } from 'node:crypto';
import { isNull } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../scripts/settings.ts';
import { createLogger } from '../../common/logger.ts';
import { UNTIL_IT_SUCCEEDS } from '../../common/jobs.ts';
import { QueueSet, retryDelays } from '../../common/queues.ts';
import { deliverNotification, notificationEventsQueue } from '../../subgraphs/notifications/module.ts';
import { ordersQueue, processOrder, releaseJobId, releaseOrder } from '../../subgraphs/orders/module.ts';
import { closeRedis, createRedis } from '../../common/redis.ts';
import { ordersOutbox } from '../../subgraphs/orders/db.ts';
import { usersOutbox } from '../../subgraphs/users/db.ts';
import { createTestDatabase, type TestDatabase } from '../../test/support/db.ts';
import { OutboxRelay } from '../outbox-relay.ts';
import { closeTestQueues, openTestQueues } from '../../test/support/queues.ts';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `jt-relay-${randomUUID().slice(0, 8)}`;
const config = parseConfig({ ORDER_RETRY_DELAYS_MS: '10,20,30', NOTIFY_RETRY_DELAYS_MS: '5,6', OUTBOX_POLL_MS: '20' });
const logger = createLogger('relay-test', 'silent');

let db: TestDatabase;
let producer: ReturnType<typeof createRedis>;
let queues: QueueSet;

beforeAll(async () => {
  db = await createTestDatabase('relay');
  ({ producer, queues } = await openTestQueues(REDIS_URL, prefix));
});

afterAll(async () => {
  await closeTestQueues(queues, producer);
  await db.drop();
});

function orderRow(orderId = randomUUID()) {
  return processOrder.message({ orderId });
}

describe('job options', () => {
  it('retries a process job once per configured delay, a release job until it succeeds, and waits each delay in turn', () => {
    expect(processOrder.options(config)).toMatchObject({ attempts: 4, backoff: { type: 'custom' }, removeOnFail: false });
    expect(releaseOrder.options(config).attempts).toBe(UNTIL_IT_SUCCEEDS);
    expect(deliverNotification.options(config).attempts).toBe(3);
    const backoff = retryDelays([10, 20, 30]);
    expect([1, 2, 3, 4, 9].map((n) => backoff(n))).toEqual([10, 20, 30, 30, 30]);
    expect(releaseJobId(randomUUID())).not.toContain(':');
  });
});

describe('outbox relay', () => {
  it('publishes rows of several outboxes as jobs with their job ids, once, and marks them published', async () => {
    const rows = Array.from({ length: 5 }, () => orderRow());
    const signup = { queue: notificationEventsQueue.name, name: 'USER_SIGNUP', jobId: randomUUID(), payload: { eventId: 'x' } };
    await db.db.insert(ordersOutbox).values(rows);
    await db.db.insert(usersOutbox).values(signup);
    const relay = new OutboxRelay({ db, queues, redis: producer, config, logger, batchSize: 2 });

    expect(await relay.publishPending()).toBe(6);
    expect(await relay.publishPending()).toBe(0);

    const job = await queues.get(ordersQueue.name).getJob(rows[0]!.jobId);
    expect(job?.name).toBe('process');
    expect(job?.data).toEqual(rows[0]!.payload);
    expect(job?.opts.attempts).toBe(4);
    expect((await queues.get(notificationEventsQueue.name).getJob(signup.jobId))?.name).toBe('USER_SIGNUP');
    expect(await db.db.select().from(ordersOutbox).where(isNull(ordersOutbox.publishedAt))).toEqual([]);

    // A row published again (a relay that died before marking it) adds no second job.
    await db.db.insert(ordersOutbox).values(rows[0]!);
    await relay.publishPending();
    expect(await queues.get(ordersQueue.name).getJobCountByTypes('waiting', 'prioritized')).toBe(5);
  });

  it('lets two relays share the rows without publishing one twice (FOR UPDATE SKIP LOCKED)', async () => {
    const rows = Array.from({ length: 60 }, () => orderRow());
    await db.db.insert(ordersOutbox).values(rows);
    const a = new OutboxRelay({ db, queues, redis: producer, config, logger, batchSize: 7, tables: [ordersOutbox] });
    const b = new OutboxRelay({ db, queues, redis: producer, config, logger, batchSize: 7, tables: [ordersOutbox] });
    const [byA, byB] = await Promise.all([a.publishPending(), b.publishPending()]);
    expect(byA + byB).toBe(60);
  });

  it('leaves rows unpublished while Redis is down, failing fast, and publishes them once it is back', async () => {
    // A producer connection to a port where no Redis listens.
    const down = createRedis('redis://127.0.0.1:1', { role: 'producer' });
    const offline = new QueueSet(down, prefix);
    const row = orderRow();
    await db.db.insert(ordersOutbox).values(row);
    const stuck = new OutboxRelay({ db, queues: offline, redis: down, config, logger });
    const started = Date.now();
    expect(await stuck.publishPending()).toBe(0);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(await db.db.select().from(ordersOutbox).where(isNull(ordersOutbox.publishedAt))).toHaveLength(1);
    await offline.close();
    await closeRedis(down);

    // The running relay (polling, woken by NOTIFY) picks it up.
    const relay = new OutboxRelay({ db, queues, redis: producer, config, logger }).start();
    try {
      await expect.poll(async () => (await queues.get(ordersQueue.name).getJob(row.jobId))?.id, { timeout: 5000 }).toBe(row.jobId);
      const late = orderRow();
      await db.db.insert(ordersOutbox).values(late);
      await db.sql`select pg_notify('junction_outbox', 'orders')`;
      await expect.poll(async () => (await queues.get(ordersQueue.name).getJob(late.jobId))?.id, { timeout: 5000 }).toBe(late.jobId);
    } finally {
      await relay.close();
      await relay.close();
    }
  });

  it('reads only the outboxes a NOTIFY names when it wakes, and every outbox when it polls or the name is unknown', async () => {
    const slowPoll = parseConfig({ ORDER_RETRY_DELAYS_MS: '10,20,30', NOTIFY_RETRY_DELAYS_MS: '5,6', OUTBOX_POLL_MS: '60000' });
    const read: string[] = [];
    const statements = db.statements.length;
    const relay = new OutboxRelay({ db, queues, redis: producer, config: slowPoll, logger }).start();
    const outboxesRead = () =>
      db.statements
        .slice(statements)
        .filter((text) => /^select .* from "(\w+)"\."outbox"/.test(text))
        .map((text) => /from "(\w+)"\."outbox"/.exec(text)![1]!);
    try {
      // The first pass reads every outbox.
      await expect.poll(() => new Set(outboxesRead()).size, { timeout: 5000 }).toBe(3);
      read.push(...outboxesRead());
      const row = orderRow();
      await db.db.insert(ordersOutbox).values(row);
      // Notified until published: the relay's LISTEN may not be in place yet.
      const notified = (payload: string, queue: string, jobId: string) => async () => {
        await db.sql`select pg_notify('junction_outbox', ${payload})`;
        return (await queues.get(queue).getJob(jobId))?.id;
      };
      await expect.poll(notified('orders', ordersQueue.name, row.jobId), { timeout: 5000, interval: 200 }).toBe(row.jobId);
      expect(outboxesRead().slice(read.length)).toEqual(['orders']);
      read.length = outboxesRead().length;

      // A name no outbox has (or none): every outbox, so nothing waits for the poll.
      const signup = { queue: notificationEventsQueue.name, name: 'USER_SIGNUP', jobId: randomUUID(), payload: { eventId: 'y' } };
      await db.db.insert(usersOutbox).values(signup);
      await expect.poll(notified('somewhere', notificationEventsQueue.name, signup.jobId), { timeout: 5000, interval: 200 }).toBe(signup.jobId);
      expect(new Set(outboxesRead().slice(read.length))).toEqual(new Set(['orders', 'users', 'notifications']));
    } finally {
      await relay.close();
    }
  });
});
