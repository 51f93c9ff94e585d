import { ifVisible } from '../../../common/auth.ts';
import type { NotificationResolvers } from '../generated/resolvers.ts';

export const Notification: NotificationResolvers = {
  // (self, by recipient): someone else's notification resolves to null.
  async __resolveReference(ref, ctx) {
    return ifVisible(ctx, await ctx.loaders.notificationById.load(ref.id));
  },

  // The users subgraph resolves Notification.recipient from this (@requires), so a deleted user reads as null.
  recipientId: (row) => row.userId,
};
