import { randomUUID } from 'node:crypto';
import { UnrecoverableError, Worker } from 'bullmq';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../scripts/settings.ts';
import { createLogger } from '../../common/logger.ts';
import { addJob, type QueueSet } from '../../common/queues.ts';
import { orderProcessing, ordersQueue, processOrder, releaseJobId, releaseOrder } from '../../subgraphs/orders/module.ts';
import { ordersOutbox } from '../../subgraphs/orders/db.ts';
import { releaseJobMessage } from '../../subgraphs/orders/processing.ts';
import { closeRedis, createRedis } from '../../common/redis.ts';
import { OrdersRepository } from '../../subgraphs/orders/repository.ts';
import { createTestDatabase, type TestDatabase } from '../../test/support/db.ts';
import { orderRecovery, releaseRecovery, type OrderRecovery } from '../orders/recovery.ts';
import { addOutboxJob } from '../outbox-relay.ts';
import { closeTestQueues, openTestQueues } from '../../test/support/queues.ts';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `jt-recovery-${randomUUID().slice(0, 8)}`;
const config = parseConfig({ ORDER_RECOVERY_MS: '1000', ORDER_RETRY_DELAYS_MS: '10' });

let db: TestDatabase;
let producer: ReturnType<typeof createRedis>;
let queues: QueueSet;
let recovery: OrderRecovery;

beforeAll(async () => {
  db = await createTestDatabase('recovery');
  ({ producer, queues } = await openTestQueues(REDIS_URL, prefix));
  recovery = orderRecovery({
    processing: await orderProcessing(db.db),
    queue: queues.get(ordersQueue.name),
    redis: producer,
    config,
    logger: createLogger('recovery', 'silent'),
  });
});

afterAll(async () => {
  await recovery.close();
  await closeTestQueues(queues, producer);
  await db.drop();
});

async function openOrder(status: 'PENDING' | 'PROCESSING'): Promise<string> {
  const { order } = await new OrdersRepository(db.db).place(
    { userId: randomUUID(), productId: 'SKU-1', quantity: 1, idempotencyKey: null },
    { requestId: 'r', correlationId: 'c' },
  );
  // As if the relay published it long ago and the order has not moved since.
  await db.sql`update orders.outbox set published_at = now() where job_id = ${order.id}`;
  await db.sql`update orders.orders set status = ${status}, updated_at = now() - interval '1 hour' where id = ${order.id}`;
  return order.id;
}

/** Queues the order's job and has a worker give up on it without recording anything (as one that died while failing it would). */
async function giveUpJob(orderId: string): Promise<void> {
  const queue = queues.get(ordersQueue.name);
  await addJob(queue, processOrder, { orderId }, config);
  const connection = createRedis(REDIS_URL, { role: 'worker' });
  const worker = new Worker(
    ordersQueue.name,
    async () => {
      throw new UnrecoverableError('gone');
    },
    { connection, prefix },
  );
  await expect.poll(async () => (await queue.getJob(orderId))?.getState(), { timeout: 5000 }).toBe('failed');
  await worker.close();
  await closeRedis(connection);
}

describe('order recovery sweep', () => {
  it('fails an open order whose job ended in the failed set, queueing its release and ORDER_FAILED', async () => {
    const orderId = await openOrder('PROCESSING');
    await giveUpJob(orderId);

    expect(await recovery.sweep()).toEqual({ requeued: 0, failed: 1 });
    const [order] = await db.sql`select status, failure_reason from orders.orders where id = ${orderId}`;
    expect(order).toEqual({ status: 'FAILED', failure_reason: 'INVENTORY_UNAVAILABLE' });
    const outbox =
      await db.sql`select queue, name from orders.outbox where payload->>'orderId' = ${orderId} or payload->'payload'->>'orderId' = ${orderId} order by id`;
    expect(outbox.map((row) => `${row.queue}/${row.name}`)).toEqual(['orders/process', 'notification-events/ORDER_FAILED', 'orders/release']);
    expect(await recovery.sweep()).toEqual({ requeued: 0, failed: 0 });
  });

  it('is safe with two replicas sweeping at once: one job per lost order, one FAILED transition and one release per given-up order', async () => {
    const lost = await openOrder('PENDING');
    const givenUp = await openOrder('PROCESSING');
    await giveUpJob(givenUp);
    const queue = queues.get(ordersQueue.name);

    // A second workers process's sweep, on the same database and queue, at the same moment.
    const other = orderRecovery({ processing: await orderProcessing(db.db), queue, redis: producer, config, logger: createLogger('recovery', 'silent') });
    const results = await Promise.all([recovery.sweep(), other.sweep()]);
    await other.close();
    // Only one of them can move the given-up order out of PROCESSING; both may requeue the lost one, under its one job id.
    expect(results.reduce((n, r) => n + r.failed, 0)).toBe(1);
    expect(results.every((r) => r.requeued <= 1)).toBe(true);
    expect((await queue.getJobs(['waiting', 'delayed', 'active', 'prioritized'])).filter((job) => job.id === lost)).toHaveLength(1);
    const [order] = await db.sql`select status, failure_reason from orders.orders where id = ${givenUp}`;
    expect(order).toEqual({ status: 'FAILED', failure_reason: 'INVENTORY_UNAVAILABLE' });
    const history = await db.sql`select status from orders.order_status_changes where order_id = ${givenUp} and status = 'FAILED'`;
    expect(history).toHaveLength(1);
    const outbox =
      await db.sql`select queue, name from orders.outbox where payload->>'orderId' = ${givenUp} or payload->'payload'->>'orderId' = ${givenUp} order by id`;
    expect(outbox.map((row) => `${row.queue}/${row.name}`)).toEqual(['orders/process', 'notification-events/ORDER_FAILED', 'orders/release']);
    // Swept again by either: nothing left to do.
    expect(await Promise.all([recovery.sweep(), other.sweep()])).toEqual([
      { requeued: 0, failed: 0 },
      { requeued: 0, failed: 0 },
    ]);
  });

  it('queues again the job of an open order that Redis no longer has, once', async () => {
    const orderId = await openOrder('PENDING');
    expect(await recovery.sweep()).toEqual({ requeued: 1, failed: 0 });
    const job = await queues.get(ordersQueue.name).getJob(orderId);
    expect(job?.name).toBe(processOrder.name);
    expect(job?.data).toEqual({ orderId });
    expect(job?.opts.attempts).toBe(2);
    // Its job is waiting now: nothing more to do.
    expect(await recovery.sweep()).toEqual({ requeued: 0, failed: 0 });
  });

  it('looks past a full batch of orders whose jobs are only waiting (a paused queue) to the lost one behind them', async () => {
    const queue = queues.get(ordersQueue.name);
    for (let i = 0; i < 3; i += 1) {
      const waiting = await openOrder('PENDING');
      await addJob(queue, processOrder, { orderId: waiting }, config);
      // Older than the lost one: first in any oldest-first batch.
      await db.sql`update orders.orders set updated_at = now() - interval '2 hours' where id = ${waiting}`;
    }
    const lost = await openOrder('PENDING');
    const paged = orderRecovery({
      processing: await orderProcessing(db.db),
      queue,
      redis: producer,
      config,
      logger: createLogger('recovery', 'silent'),
      batchSize: 1,
    });
    expect(await paged.sweep()).toEqual({ requeued: 1, failed: 0 });
    expect(await queue.getJobState(lost)).toBe('waiting');
    await paged.close();
  });
});

describe('release recovery sweep', () => {
  /** A cancelled order's release, published by the relay `ago` (a PostgreSQL interval) ago; its job is not in Redis. */
  async function publishedRelease(ago: string) {
    const orderId = randomUUID();
    const [row] = await db.db
      .insert(ordersOutbox)
      .values({ ...releaseJobMessage(orderId), publishedAt: sql`now() - ${ago}::interval` })
      .returning();
    return { orderId, row: row! };
  }

  it('publishes again, once, a release whose job Redis lost after the order was cancelled; leaves recent, old and completed ones alone', async () => {
    const queue = queues.get(ordersQueue.name);
    const lost = await publishedRelease('10 minutes');
    const recent = await publishedRelease('0 seconds');
    const beyondHorizon = await publishedRelease('2 days');
    const done = await publishedRelease('10 minutes');
    // The release of `done` ran and completed.
    await addOutboxJob(queue, done.row, config);
    const connection = createRedis(REDIS_URL, { role: 'worker' });
    const worker = new Worker(ordersQueue.name, async () => 'released', { connection, prefix });
    await expect.poll(() => queue.getJobState(releaseJobId(done.orderId)), { timeout: 5000 }).toBe('completed');
    await worker.close();
    await closeRedis(connection);

    const releases = releaseRecovery({ db: db.db, queue, redis: producer, config, logger: createLogger('recovery', 'silent') });
    expect(await releases.sweep()).toEqual({ requeued: 1 });
    const job = await queue.getJob(releaseJobId(lost.orderId));
    expect(job?.name).toBe(releaseOrder.name);
    expect(job?.data).toMatchObject({ orderId: lost.orderId });
    expect(await job?.getState()).toBe('waiting');
    for (const untouched of [recent, beyondHorizon]) expect(await queue.getJobState(releaseJobId(untouched.orderId))).toBe('unknown');
    // Its job is waiting now: nothing more to do.
    expect(await releases.sweep()).toEqual({ requeued: 0 });
    await releases.close();
  });
});
