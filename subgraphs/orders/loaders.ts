import DataLoader from 'dataloader';
import { groupByKey, loaderById, loaderOfLists, loadersByArguments } from '../../common/loaders.ts';
import type { OrderStatus, OrdersRepository, StatusChangeRow } from './repository.ts';

export type Loaders = ReturnType<typeof createLoaders>;

/** Fresh DataLoaders for one request: every key asked for in one tick costs one statement. */
export function createLoaders(repo: OrdersRepository) {
  return {
    orderById: loaderById((ids) => repo.byIds(ids)),

    /** Order.history, keyed by order id. */
    historyByOrder: new DataLoader<string, StatusChangeRow[]>(async (orderIds) => groupByKey(orderIds, await repo.historyOf(orderIds), (c) => c.orderId)),

    /** User.orders(status, first): one loader per argument set, keyed by user id. */
    ordersOfUser: loadersByArguments(
      ({ status, first }: { status: OrderStatus | null; first: number }) =>
        loaderOfLists(
          (userIds) => repo.newestOfUsers(userIds, status, first),
          (order) => order.userId,
        ),
      ({ status, first }) => `${status ?? '*'}:${first}`,
    ),
  };
}
