import { pageSize } from '../../../common/pagination.ts';
import type { OrdersContext } from '../context.ts';
import type { OrderStatus } from '../repository.ts';

export const User = {
  // The users subgraph owns the user; here a User is only its key.
  __resolveReference: (ref: { id: string }) => ({ id: ref.id }),

  orders: (user: { id: string }, args: { status?: OrderStatus | null; first?: number | null }, ctx: OrdersContext) =>
    ctx.loaders.ordersOfUser({ status: args.status ?? null, first: pageSize(args.first, 50) }).load(user.id),
};
