import type { NotificationResolvers } from '../generated/resolvers.ts';

export const Notification: NotificationResolvers = {
  __resolveReference: (ref, ctx) => ctx.loaders.notificationById.load(ref.id),

  // The users subgraph resolves Notification.recipient from this (@requires), so a deleted user reads as null.
  recipientId: (row) => row.userId,
};
