import type { NotificationsContext } from '../context.ts';
import type { NotificationRow } from '../repository.ts';

export const Notification = {
  __resolveReference: (ref: { id: string }, ctx: NotificationsContext) => ctx.loaders.notificationById.load(ref.id),

  // The gateway resolves the user from the users subgraph; an unknown id becomes null there.
  recipient: (row: NotificationRow) => (row.userId ? { __typename: 'User', id: row.userId } : null),
};
