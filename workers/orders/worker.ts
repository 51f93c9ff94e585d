import { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Config } from '../../common/config.ts';
import type { Database } from '../../common/db.ts';
import type { Logger } from '../../common/logger.ts';
import { ORDER_JOBS, QUEUES, retryDelays, type OrderJobData, type QueueSet } from '../../common/queues.ts';
import { OrderProcessing } from '../../subgraphs/orders/processing.ts';
import { breakerReason, DATABASE_UNAVAILABLE, PAUSABLE, QueuePause } from '../pause.ts';
import { InventoryClient } from './inventory-client.ts';
import { createOrderProcessor, type OrderJobResult } from './processor.ts';
import { OrderRecovery } from './recovery.ts';

export interface OrderWorkerDeps {
  config: Config;
  db: Database;
  /** A `worker` connection from common/redis.ts (maxRetriesPerRequest: null). */
  connection: Redis;
  /** The producer side of the queues (the recovery sweep queues lost jobs again). */
  queues: QueueSet;
  logger: Logger;
}

/**
 * The BullMQ worker of the `orders` queue. A job whose worker died mid-way is
 * found by the stalled-job check once its lock (WORKER_LOCK_MS) lapses and
 * runs again; up to 3 stalls are forgiven before the job fails. The recovery
 * sweep (every ORDER_RECOVERY_MS) catches what slips past that.
 */
export function startOrderWorker({ config, db, connection, queues, logger }: OrderWorkerDeps) {
  const log = logger.child({ worker: QUEUES.orders });
  const processing = new OrderProcessing(db);
  const inventory = new InventoryClient({ url: config.INVENTORY_URL, timeoutMs: config.INVENTORY_TIMEOUT_MS, config, logger: log });
  const pause = new QueuePause(QUEUES.orders, logger, [breakerReason(inventory.breaker.name), DATABASE_UNAVAILABLE]);
  const processor = createOrderProcessor({ processing, inventory, pause, logger: log });
  const worker = new Worker<OrderJobData, OrderJobResult>(QUEUES.orders, processor, {
    ...PAUSABLE,
    connection,
    prefix: config.QUEUE_PREFIX,
    concurrency: config.ORDER_CONCURRENCY,
    settings: { backoffStrategy: retryDelays(config.ORDER_RETRY_DELAYS_MS) },
    lockDuration: config.WORKER_LOCK_MS,
    stalledInterval: config.WORKER_LOCK_MS,
    maxStalledCount: 3,
  });
  pause.attach(worker);
  worker.on('error', (error) => log.warn({ err: error }, 'orders worker error'));
  // Backstop for a `process` job that ends in the failed set some other way (e.g. stalled too often):
  // its order must not stay PROCESSING. A no-op when the processor already finished it.
  worker.on('failed', (job, error) => {
    if (!job || job.name !== ORDER_JOBS.process) return;
    void job
      .getState()
      .then(async (state) => {
        if (state !== 'failed') return;
        const failed = await processing.fail(job.data.orderId, 'INVENTORY_UNAVAILABLE', { release: true, detail: error.message });
        if (failed) log.warn({ orderId: job.data.orderId, err: error }, 'order job failed for good: order FAILED, release queued');
      })
      .catch((cause) => log.error({ err: cause, orderId: job.data.orderId }, 'could not record a failed order job'));
  });
  const queue = queues.get(QUEUES.orders);
  const recovery = new OrderRecovery({ db, queue, redis: queues.connection, config, logger: log }).start();
  return {
    worker,
    recovery,
    /** Stops taking jobs and waits for the active ones to finish; safe to call twice. */
    close: async () => {
      await recovery.close();
      await worker.close();
      pause.close();
      inventory.close();
    },
  };
}
