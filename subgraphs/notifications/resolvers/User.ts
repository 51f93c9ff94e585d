import { pageSize } from '../../../common/pagination.ts';
import type { UserResolvers } from '../generated/resolvers.ts';

export const User: UserResolvers = {
  notifications: (user, args, ctx) =>
    ctx.loaders.notificationsByUserId(pageSize(args.first, 50)).load(user.id),
};
