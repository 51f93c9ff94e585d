import type { OrdersContext } from '../context.ts';
import type { OrderRow } from '../repository.ts';

export const Order = {
  __resolveReference: (ref: { id: string }, ctx: OrdersContext) => ctx.loaders.orderById.load(ref.id),

  // References the gateway resolves in the users and inventory subgraphs (null when they know no such entity).
  user: (order: OrderRow) => ({ __typename: 'User', id: order.userId }),
  product: (order: OrderRow) => ({ __typename: 'Product', id: order.productId }),

  history: (order: OrderRow, _args: unknown, ctx: OrdersContext) => ctx.loaders.historyByOrder.load(order.id),
};
