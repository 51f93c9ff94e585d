import { and, eq, not } from 'drizzle-orm';
import type { Database } from '../../common/db.ts';
import { addJob } from '../../common/queues.ts';
import { byKey, olderThan, pageAfter } from '../../common/sql.ts';
import { ordersQueue, processOrder, releaseOrder, type OrderProcessing, type OrderRow } from '../../subgraphs/orders/module.ts';
import { addOutboxJob, loadOutboxes, outboxOwner, type OutboxRow, type OutboxTable } from '../outbox-relay.ts';
import { batches, RecoverySweep, type FailRow, type SweepDependencies } from '../recovery-sweep.ts';
import type { WorkersConfig } from '../settings.ts';

export interface OrderRecoveryOptions extends SweepDependencies {
  /** The order state transitions (orderProcessing(db) of the orders module). */
  processing: OrderProcessing;
  config: { ORDER_RECOVERY_MS: number; ORDER_RETRY_DELAYS_MS: number[] };
}

/** requeued: orders whose job Redis no longer had, queued again; failed: orders whose job failed for good, now FAILED(INVENTORY_UNAVAILABLE). */
export type OrderRecovery = RecoverySweep<OrderRow, 'requeued' | 'failed'>;

/**
 * The last line of "never lost": every ORDER_RECOVERY_MS it looks at orders
 * still PENDING or PROCESSING after that long and at their `process` job. A
 * job Redis lost (a restart without persistence after the relay published it)
 * is queued again; a job that ended in the failed set while its order stayed
 * open (its worker died before recording the failure) fails the order and
 * queues a release. Orders whose job is waiting, delayed or active are left
 * alone. Processing is idempotent, so a job queued twice does no harm.
 */
export function orderRecovery(options: OrderRecoveryOptions): OrderRecovery {
  const { processing, config } = options;
  // A job that ended either way without finishing its order: the order fails as the worker fails it.
  const failOrder: FailRow<OrderRow> = {
    fail: async (order, job) =>
      Boolean(await processing.fail(order, 'INVENTORY_UNAVAILABLE', { release: true, detail: `job ${job.state} without finishing the order` })),
    warning: 'order left open by a finished job: FAILED, release queued',
  };
  return new RecoverySweep<OrderRow, 'requeued' | 'failed'>({
    ...options,
    name: 'order recovery',
    everyMs: config.ORDER_RECOVERY_MS,
    rows: (batchSize) =>
      batches<OrderRow, string>(
        (after, limit) => processing.stale(config.ORDER_RECOVERY_MS, limit, after),
        (order) => order.id,
        batchSize,
      ),
    jobIdOf: (order) => order.id,
    logFields: (order) => ({ orderId: order.id, status: order.status }),
    // Harmless if the relay has yet to publish the order's outbox row: same job id, one job.
    requeue: (order) => addJob(options.queue, processOrder, { orderId: order.id }, config),
    lost: 'order job lost from Redis: queued again',
    failed: failOrder,
    completed: failOrder,
  });
}

/** How far back the release sweep looks at published releases: a day (or two sweep intervals, if ORDER_RECOVERY_MS is longer). */
export const RELEASE_HORIZON_MS = 24 * 3600 * 1000;

export interface ReleaseRecoveryOptions extends SweepDependencies {
  /** The orders' database, which holds their outbox. */
  db: Database;
  /** ORDER_RECOVERY_MS, and the settings the release job's options are drawn from. */
  config: WorkersConfig;
  /** The orders outbox. Default: the one of the orders module (loadOutboxes()). */
  table?: OutboxTable;
  /** Default RELEASE_HORIZON_MS (at least twice ORDER_RECOVERY_MS). */
  horizonMs?: number;
}

/** requeued: releases whose job Redis no longer had, published again. */
export type ReleaseRecovery = RecoverySweep<OutboxRow, 'requeued'>;

/**
 * The releases (of a cancelled order, or of one that failed after an
 * ambiguous attempt) that the relay published but whose job Redis lost before
 * it ran: the order is terminal, so the order sweep never looks at it, and
 * without this its reservation would be held for ever (found by `npm run
 * chaos`: Redis killed and started empty right after a cancel). Every
 * ORDER_RECOVERY_MS it reads the orders outbox rows of `release` jobs
 * published between ORDER_RECOVERY_MS and the horizon ago and looks at their
 * jobs: a missing one is published again from its row, under the same job id.
 * Releasing is idempotent per order (inventory's unique movement per order and
 * kind), so a job trimmed from Redis after it completed (completed jobs are
 * kept a day, at most 10,000 a queue) and published again gives nothing back
 * twice: it costs one call to inventory. Waiting, delayed, active and
 * completed jobs are left alone; a release is retried until it succeeds, so
 * none ends in the failed set.
 */
export function releaseRecovery(options: ReleaseRecoveryOptions): ReleaseRecovery {
  const { db, config } = options;
  const horizonMs = options.horizonMs ?? Math.max(RELEASE_HORIZON_MS, 2 * config.ORDER_RECOVERY_MS);
  const outbox = async () => options.table ?? (await loadOutboxes()).find((table) => outboxOwner(table) === 'orders')!;
  return new RecoverySweep<OutboxRow, 'requeued'>({
    ...options,
    name: 'release recovery',
    everyMs: config.ORDER_RECOVERY_MS,
    async *rows(batchSize) {
      const table = await outbox();
      const where = and(
        eq(table.queue, ordersQueue.name),
        eq(table.name, releaseOrder.name!),
        olderThan(table.publishedAt, config.ORDER_RECOVERY_MS),
        not(olderThan(table.publishedAt, horizonMs)),
      );
      yield* batches<OutboxRow, number>(
        (after, limit) => pageAfter(db, table, { ordering: byKey(table.id), after: after === undefined ? null : [after], limit, where }),
        (row) => row.id,
        batchSize,
      );
    },
    jobIdOf: (row) => row.jobId,
    logFields: (row) => ({ orderId: row.payload.orderId }),
    requeue: (row) => addOutboxJob(options.queue, row, config),
    lost: 'release job lost from Redis: published again',
  });
}
