import type { Database } from '../../common/db.ts';
import { defineSubgraph } from '../../common/subgraph-module.ts';
import { notificationsSettings } from './settings.ts';
import { deliverNotification } from './jobs.ts';
import type { NotificationsRepository } from './repository.ts';

// What the notification workers use of notifications: the queues they consume, and the repository (loaded on demand).
export { deliverNotification, deliveryJobData, deliveryJobId, deliveryPayload, notificationsQueue, type DeliveryJobData } from './jobs.ts';
export { notificationEvent, notificationEventsQueue, type NotificationEvent } from '../shared/notification-events.ts';
export type { NotificationRow, NotificationsRepository, NotificationStatus, Recorded, SourceEvent } from './repository.ts';

/** The notifications repository on `db`, imported on first use: drizzle and the tables stay out of processes that only need the facts. */
export async function notificationsRepository(db: Database): Promise<NotificationsRepository> {
  return new (await import('./repository.js')).NotificationsRepository(db);
}

/** The notifications subgraph, described once (listed in subgraphs/index.ts). */
export default defineSubgraph(
  import.meta.url,
  { name: 'notifications', defaultPort: 4005, settings: notificationsSettings, jobs: [deliverNotification] },
  {
    server: () => import('./server.js'),
    outbox: () => import('./db.js'),
  },
);
