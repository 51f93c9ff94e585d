import DataLoader from 'dataloader';
import { isUuid } from '../../common/ids.ts';
import { groupByKey, loadersByArguments } from '../../common/loaders.ts';
import type { OrderRow, OrderStatus, OrdersRepository, StatusChangeRow } from './repository.ts';

export type Loaders = ReturnType<typeof createLoaders>;

/** Fresh DataLoaders for one request: every key asked for in one tick costs one statement. */
export function createLoaders(repo: OrdersRepository) {
  return {
    orderById: new DataLoader<string, OrderRow | null>(async (ids) => {
      const valid = ids.filter(isUuid).map((id) => id.toLowerCase());
      const rows = valid.length > 0 ? await repo.byIds(valid) : [];
      const byId = new Map(rows.map((row) => [row.id, row]));
      return ids.map((id) => (isUuid(id) ? (byId.get(id.toLowerCase()) ?? null) : null));
    }),

    /** Order.history, keyed by order id. */
    historyByOrder: new DataLoader<string, StatusChangeRow[]>(async (orderIds) => groupByKey(orderIds, await repo.historyOf(orderIds), (c) => c.orderId)),

    /** User.orders(status, first): one loader per argument set, keyed by user id. */
    ordersOfUser: loadersByArguments(
      ({ status, first }: { status: OrderStatus | null; first: number }) =>
        new DataLoader<string, OrderRow[]>(async (userIds) => {
          const valid = [...new Set(userIds.filter(isUuid).map((id) => id.toLowerCase()))];
          const rows = valid.length > 0 ? await repo.newestOfUsers(valid, status, first) : [];
          return groupByKey(
            userIds.map((id) => id.toLowerCase()),
            rows,
            (order) => order.userId,
          );
        }),
      ({ status, first }) => `${status ?? '*'}:${first}`,
    ),
  };
}
