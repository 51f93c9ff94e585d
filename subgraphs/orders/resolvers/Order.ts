import type { OrdersContext } from '../context.ts';
import type { OrderRow } from '../repository.ts';

export const Order = {
  __resolveReference: (ref: { id: string }, ctx: OrdersContext) => ctx.loaders.orderById.load(ref.id),

  // The users subgraph resolves Order.user from userId (@requires), null once the user is deleted.
  userId: (order: OrderRow) => order.userId,
  // A reference the gateway resolves in inventory (null when it knows no such product).
  product: (order: OrderRow) => ({ __typename: 'Product', id: order.productId }),

  history: (order: OrderRow, _args: unknown, ctx: OrdersContext) => ctx.loaders.historyByOrder.load(order.id),
};
