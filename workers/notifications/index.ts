import type { Config } from '../../common/config.ts';
import type { Database } from '../../common/db.ts';
import type { Logger } from '../../common/logger.ts';
import { createDeliveryWorker, type DeliveryWorkerOptions } from './delivery.ts';
import { createEventsWorker } from './events.ts';

export interface NotificationWorkersOptions {
  db: Database;
  config: Config;
  logger: Logger;
  /** Tuning of the delivery worker (lock duration, concurrency, timeout). */
  delivery?: Omit<DeliveryWorkerOptions, 'db' | 'config' | 'logger'>;
}

/** The notifications capability's workers: recording `notification-events`, delivering `notifications`. */
export async function startNotificationWorkers(options: NotificationWorkersOptions) {
  const { db, config, logger } = options;
  const events = await createEventsWorker({ db, config, logger });
  const delivery = await createDeliveryWorker({ db, config, logger, ...options.delivery });
  let closing: Promise<void> | undefined;
  return {
    events,
    delivery,
    /** Stops both after their jobs in flight; safe to call twice. */
    close(): Promise<void> {
      closing ??= Promise.all([events.close(), delivery.close()]).then(() => {});
      return closing;
    },
  };
}

export type NotificationWorkers = Awaited<ReturnType<typeof startNotificationWorkers>>;
