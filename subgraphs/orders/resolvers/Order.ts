import { ifVisible } from '../../../common/auth.ts';
import type { OrderResolvers } from '../generated/resolvers.ts';

export const Order: OrderResolvers = {
  // (self): someone else's order resolves to null, as if it did not exist.
  async __resolveReference(ref, ctx) {
    return ifVisible(ctx, await ctx.loaders.orderById.load(ref.id));
  },

  // The users subgraph resolves Order.user from userId (@requires), null once the user is deleted.
  userId: (order) => order.userId,
  // A reference the gateway resolves in inventory (null when it knows no such product).
  product: (order) => ({ __typename: 'Product', id: order.productId }),

  // As of a change (orderUpdated's events): the history up to that change.
  history: async (order, _args, ctx) => {
    const history = await ctx.loaders.historyByOrder.load(order.id);
    const upTo = order.historyUpTo;
    return upTo === undefined ? history : history.filter((change) => change.id <= upTo);
  },
};
