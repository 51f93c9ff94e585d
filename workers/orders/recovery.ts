import { addJob } from '../../common/queues.ts';
import { processOrder, type OrderProcessing, type OrderRow } from '../../subgraphs/orders/module.ts';
import { batches, RecoverySweep, type FailRow, type SweepDependencies } from '../recovery-sweep.ts';

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
