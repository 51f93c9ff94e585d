import { requireSelf } from '../../../common/auth.ts';
import { pageSize } from '../../../common/pagination.ts';
import type { UserResolvers } from '../generated/resolvers.ts';

export const User: UserResolvers = {
  // The users subgraph owns the user; here a User is only its key.
  __resolveReference: (ref) => ({ id: ref.id }),

  // (self): someone else's orders are FORBIDDEN.
  orders: (user, args, ctx) => {
    requireSelf(ctx, user.id);
    return ctx.loaders.ordersOfUser({ status: args.status ?? null, first: pageSize(args.first, 50) }).load(user.id);
  },
};
