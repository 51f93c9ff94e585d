import type { Queue } from 'bullmq';
import type { Logger } from '../../common/logger.ts';
import { addJob } from '../../common/queues.ts';
import { isRedisReady, type RedisConnection } from '../../common/redis.ts';
import { processOrder, type OrderProcessing } from '../../subgraphs/orders/module.ts';

export interface OrderRecoveryOptions {
  /** The order state transitions (orderProcessing(db) of the orders module). */
  processing: OrderProcessing;
  /** The `orders` queue (producer side). */
  queue: Queue;
  /** The producer connection behind `queue`; the sweep waits while it is not ready. */
  redis: RedisConnection;
  config: { ORDER_RECOVERY_MS: number; ORDER_RETRY_DELAYS_MS: number[] };
  logger: Logger;
  /** Orders looked at per sweep. Default 100. */
  batchSize?: number;
}

export interface SweepResult {
  /** Orders whose job Redis no longer had, queued again. */
  requeued: number;
  /** Orders whose job had failed for good without the order being finished: now FAILED(INVENTORY_UNAVAILABLE). */
  failed: number;
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
export class OrderRecovery {
  private readonly processing: OrderProcessing;
  private timer?: NodeJS.Timeout;
  private sweeping?: Promise<unknown>;

  constructor(private readonly options: OrderRecoveryOptions) {
    this.processing = options.processing;
  }

  start(): this {
    const every = this.options.config.ORDER_RECOVERY_MS;
    this.timer ??= setInterval(() => {
      this.sweeping ??= this.sweep()
        .catch((error) => this.options.logger.warn({ err: error }, 'order recovery sweep failed'))
        .finally(() => (this.sweeping = undefined));
    }, every);
    this.timer.unref();
    return this;
  }

  async sweep(): Promise<SweepResult> {
    const { queue, redis, config, logger } = this.options;
    const result: SweepResult = { requeued: 0, failed: 0 };
    if (!isRedisReady(redis)) return result;
    for (const order of await this.processing.stale(config.ORDER_RECOVERY_MS, this.options.batchSize ?? 100)) {
      const job = await queue.getJob(order.id);
      const state = job ? await job.getState() : 'missing';
      if (state === 'missing' || state === 'unknown') {
        // Harmless if the relay has yet to publish the order's outbox row: same job id, one job.
        await addJob(queue, processOrder, { orderId: order.id }, config);
        logger.warn({ orderId: order.id, status: order.status }, 'order job lost from Redis: queued again');
        result.requeued += 1;
      } else if (state === 'failed' || state === 'completed') {
        const failed = await this.processing.fail(order.id, 'INVENTORY_UNAVAILABLE', { release: true, detail: `job ${state} without finishing the order` });
        if (failed) {
          logger.warn({ orderId: order.id, state }, 'order left open by a finished job: FAILED, release queued');
          result.failed += 1;
        }
      }
    }
    return result;
  }

  /** Stops sweeping (after a sweep in progress); safe to call twice. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.sweeping;
  }
}
