import { Worker } from 'bullmq';
import type { WorkersConfig as Config } from '../settings.ts';
import type { Database } from '../../common/db.ts';
import type { Logger } from '../../common/logger.ts';
import { closeWorker, workerSettings, type QueueSet } from '../../common/queues.ts';
import { orderProcessing, ordersQueue, processOrder, type OrderJobData } from '../../subgraphs/orders/module.ts';
import { breakerReason, DATABASE_UNAVAILABLE, PAUSABLE, QueuePause } from '../pause.ts';
import { InventoryClient } from './inventory-client.ts';
import { createOrderProcessor, type OrderJobResult } from './processor.ts';
import { orderRecovery, releaseRecovery } from './recovery.ts';
import type { RedisConnection } from '../../common/redis.ts';

export interface OrderWorkerDeps {
  config: Config;
  db: Database;
  /** A `worker` connection from common/redis.ts (maxRetriesPerRequest: null). */
  connection: RedisConnection;
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
export async function startOrderWorker({ config, db, connection, queues, logger }: OrderWorkerDeps) {
  const log = logger.child({ worker: ordersQueue.name });
  const processing = await orderProcessing(db);
  const inventory = new InventoryClient({
    url: config.INVENTORY_URL,
    timeoutMs: config.INVENTORY_TIMEOUT_MS,
    batchWindowMs: config.INVENTORY_BATCH_WINDOW_MS,
    batchMax: config.INVENTORY_BATCH_MAX,
    serviceKey: config.SERVICE_API_KEY,
    config,
    logger: log,
  });
  const pause = new QueuePause(ordersQueue.name, logger, [breakerReason(inventory.breaker.name), DATABASE_UNAVAILABLE]);
  const processor = createOrderProcessor({ processing, inventory, pause, logger: log });
  const worker = new Worker<OrderJobData, OrderJobResult>(ordersQueue.name, processor, {
    ...PAUSABLE,
    connection,
    prefix: config.QUEUE_PREFIX,
    concurrency: config.ORDER_CONCURRENCY,
    settings: workerSettings(ordersQueue, config),
    lockDuration: config.WORKER_LOCK_MS,
    stalledInterval: config.WORKER_LOCK_MS,
    maxStalledCount: 3,
  });
  pause.attach(worker);
  worker.on('error', (error) => log.warn({ err: error }, 'orders worker error'));
  // Backstop for a `process` job that ends in the failed set some other way (e.g. stalled too often):
  // its order must not stay PROCESSING. A no-op when the processor already finished it.
  worker.on('failed', (job, error) => {
    if (!job || !processOrder.accepts(job.name)) return;
    void job
      .getState()
      .then(async (state) => {
        if (state !== 'failed') return;
        const failed = await processing.fail(job.data.orderId, 'INVENTORY_UNAVAILABLE', { release: true, detail: error.message });
        if (failed) log.warn({ orderId: job.data.orderId, err: error }, 'order job failed for good: order FAILED, release queued');
      })
      .catch((cause) => log.error({ err: cause, orderId: job.data.orderId }, 'could not record a failed order job'));
  });
  const queue = queues.get(ordersQueue.name);
  const recovery = orderRecovery({ processing, queue, redis: queues.connection, config, logger: log }).start();
  const releases = releaseRecovery({ db, queue, redis: queues.connection, config, logger: log }).start();
  return {
    worker,
    recovery,
    /** Stops taking jobs and waits for the active ones to finish; safe to call twice. */
    close: async () => {
      await recovery.close();
      await releases.close();
      await closeWorker(worker, connection);
      pause.close();
      await inventory.close();
    },
  };
}
