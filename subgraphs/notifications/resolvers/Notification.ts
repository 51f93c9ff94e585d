import type { NotificationsContext } from '../context.ts';
import type { NotificationRow } from '../repository.ts';

export const Notification = {
  __resolveReference: (ref: { id: string }, ctx: NotificationsContext) => ctx.loaders.notificationById.load(ref.id),

  // The users subgraph resolves Notification.recipient from this (@requires), so a deleted user reads as null.
  recipientId: (row: NotificationRow) => row.userId,
};
