import { canSee } from '../../../common/auth.ts';
import type { NotificationResolvers } from '../generated/resolvers.ts';

export const Notification: NotificationResolvers = {
  // (self, by recipient): someone else's notification resolves to null.
  async __resolveReference(ref, ctx) {
    const row = await ctx.loaders.notificationById.load(ref.id);
    return row && canSee(ctx, row.userId) ? row : null;
  },

  // The users subgraph resolves Notification.recipient from this (@requires), so a deleted user reads as null.
  recipientId: (row) => row.userId,
};
