import { pageSize } from '../../../common/pagination.ts';
import type { UserResolvers } from '../generated/resolvers.ts';

export const User: UserResolvers = {
  events: (user, args, ctx) => ctx.loaders.eventsByUserId(pageSize(args.first, 50)).load(user.id),
};
