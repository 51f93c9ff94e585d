import type { Database } from '../../common/db.ts';
import type { OutboxTable } from '../../common/outbox-table.ts';
import { defineSubgraph, type SubgraphFactory } from '../../common/subgraph-module.ts';
import { deliverNotification } from './jobs.ts';
import type { NotificationsRepository } from './repository.ts';

// What the notification workers use of notifications: the queues they consume, and the repository (loaded on demand).
export { deliverNotification, deliveryJobData, deliveryJobId, deliveryPayload, notificationsQueue, type DeliveryJobData } from './jobs.ts';
export { notificationEvent, notificationEventsQueue, type NotificationEvent } from '../shared/notification-events.ts';
export type { NotificationRow, NotificationsRepository, Recorded, SourceEvent } from './repository.ts';

/** The notifications repository on `db`, imported on first use: drizzle and the tables stay out of processes that only need the facts. */
export async function notificationsRepository(db: Database): Promise<NotificationsRepository> {
  const { NotificationsRepository } = await import('./repository.js');
  return new NotificationsRepository(db);
}

/** The notifications subgraph, described once (listed in subgraphs/index.ts). */
export default defineSubgraph(import.meta.url, {
  name: 'notifications',
  defaultPort: 4005,
  // Imported on first use, as '.js': tsx runs server.ts for it, and tsc does not rewrite dynamic imports for dist/.
  load: async (): Promise<SubgraphFactory> => (await import('./server.js')).createNotificationsSubgraph,
  outbox: async (): Promise<OutboxTable> => (await import('./db.js')).notificationsOutbox,
  jobs: [deliverNotification],
});
