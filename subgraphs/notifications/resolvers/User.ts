import { requireSelf } from '../../../common/auth.ts';
import { pageSize } from '../../../common/pagination.ts';
import type { UserResolvers } from '../generated/resolvers.ts';

export const User: UserResolvers = {
  // (self): someone else's notifications are FORBIDDEN.
  notifications: (user, args, ctx) => {
    requireSelf(ctx, user.id);
    return ctx.loaders.notificationsByUserId(pageSize(args.first, 50)).load(user.id);
  },
};
