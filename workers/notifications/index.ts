import type { WorkersConfig as Config } from '../settings.ts';
import type { Database } from '../../common/db.ts';
import type { Logger } from '../../common/logger.ts';
import type { OutboxTable } from '../../common/outbox-table.ts';
import type { QueueSet } from '../../common/queues.ts';
import { notificationEventsQueue, notificationsQueue, notificationsRepository } from '../../subgraphs/notifications/module.ts';
import { announcementRecovery } from './announcement-recovery.ts';
import { createDeliveryWorker, type DeliveryWorkerOptions } from './delivery.ts';
import { createEventsWorker } from './events.ts';
import { deliveryRecovery } from './recovery.ts';

export interface NotificationWorkersOptions {
  /** The notifications subgraph's database. */
  db: Database;
  /** Each outbox's database, for the announcement sweep (users' and orders' may be apart). Default `db` for all. */
  outboxDb?: (table: OutboxTable) => Database;
  config: Config;
  /** The producer side of the queues (the events worker adds delivery jobs; the recovery sweeps queue lost jobs again). */
  queues: QueueSet;
  logger: Logger;
  /** Tuning of the delivery worker (lock duration, concurrency, timeout). */
  delivery?: Omit<DeliveryWorkerOptions, 'db' | 'config' | 'logger'>;
}

/**
 * The notifications capability's workers: recording `notification-events`,
 * delivering `notifications`, and the recovery sweeps (every
 * NOTIFY_RECOVERY_MS) for notifications whose delivery job Redis lost and for
 * announced events whose job Redis lost before they were recorded.
 */
export async function startNotificationWorkers(options: NotificationWorkersOptions) {
  const { db, config, queues, logger } = options;
  const events = await createEventsWorker({ db, config, logger, deliveries: queues.get(notificationsQueue.name) });
  const delivery = await createDeliveryWorker({ db, config, logger, ...options.delivery });
  const repo = await notificationsRepository(db);
  const redis = queues.connection;
  const recovery = deliveryRecovery({ repo, queue: queues.get(notificationsQueue.name), redis, config, logger }).start();
  const announcements = announcementRecovery({
    db,
    dbOf: options.outboxDb,
    repo,
    queue: queues.get(notificationEventsQueue.name),
    redis,
    config,
    logger,
  }).start();
  let closing: Promise<void> | undefined;
  return {
    events,
    delivery,
    recovery,
    announcements,
    /** Stops the sweeps, then both workers after their jobs in flight; safe to call twice. */
    close(): Promise<void> {
      closing ??= Promise.all([recovery.close(), announcements.close()])
        .then(() => Promise.all([events.close(), delivery.close()]))
        .then(() => {});
      return closing;
    },
  };
}

export type NotificationWorkers = Awaited<ReturnType<typeof startNotificationWorkers>>;
