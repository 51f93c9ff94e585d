import { addJob } from '../../common/queues.ts';
import { processOrder, type OrderProcessing, type OrderRow } from '../../subgraphs/orders/module.ts';
import { batches, RecoverySweep, type SweepDependencies, type SweptState } from '../recovery-sweep.ts';

export interface OrderRecoveryOptions extends SweepDependencies {
  /** The order state transitions (orderProcessing(db) of the orders module). */
  processing: OrderProcessing;
  config: { ORDER_RECOVERY_MS: number; ORDER_RETRY_DELAYS_MS: number[] };
}

/**
 * The last line of "never lost": every ORDER_RECOVERY_MS it looks at orders
 * still PENDING or PROCESSING after that long and at their `process` job. A
 * job Redis lost (a restart without persistence after the relay published it)
 * is queued again; a job that ended in the failed set while its order stayed
 * open (its worker died before recording the failure) fails the order and
 * queues a release. Orders whose job is waiting, delayed or active are left
 * alone. Processing is idempotent, so a job queued twice does no harm.
 */
export class OrderRecovery extends RecoverySweep<OrderRow, 'requeued' | 'failed'> {
  constructor(private readonly options: OrderRecoveryOptions) {
    // requeued: orders whose job Redis no longer had, queued again; failed: orders whose job failed for good, now FAILED(INVENTORY_UNAVAILABLE).
    super({ ...options, name: 'order recovery', everyMs: options.config.ORDER_RECOVERY_MS }, ['requeued', 'failed']);
  }

  protected rows(batchSize: number): AsyncIterable<OrderRow[]> {
    const { processing, config } = this.options;
    return batches<OrderRow, string>((after, limit) => processing.stale(config.ORDER_RECOVERY_MS, limit, after), (order) => order.id, batchSize);
  }

  protected jobIdOf(order: OrderRow): string {
    return order.id;
  }

  protected async recover(order: OrderRow, state: SweptState): Promise<'requeued' | 'failed' | undefined> {
    const { processing, config } = this.options;
    if (state === 'missing') {
      // Harmless if the relay has yet to publish the order's outbox row: same job id, one job.
      await addJob(this.queue, processOrder, { orderId: order.id }, config);
      this.logger.warn({ orderId: order.id, status: order.status }, 'order job lost from Redis: queued again');
      return 'requeued';
    }
    if (state === 'failed' || state === 'completed') {
      const failed = await processing.fail(order.id, 'INVENTORY_UNAVAILABLE', { release: true, detail: `job ${state} without finishing the order` });
      if (!failed) return undefined;
      this.logger.warn({ orderId: order.id, state }, 'order left open by a finished job: FAILED, release queued');
      return 'failed';
    }
    return undefined;
  }
}
