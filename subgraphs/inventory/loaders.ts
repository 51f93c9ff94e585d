import DataLoader from 'dataloader';
import { isSku } from '../../common/ids.ts';
import { groupByKey, loadersByArguments } from '../../common/loaders.ts';
import type { InventoryRepository, MovementRow, ProductRow } from './repository.ts';

export type Loaders = ReturnType<typeof createLoaders>;

/** Fresh DataLoaders for one request: every key asked for in one tick costs one statement. */
export function createLoaders(repo: InventoryRepository) {
  return {
    productById: new DataLoader<string, ProductRow | null>(async (ids) => {
      const valid = ids.filter(isSku);
      const rows = valid.length > 0 ? await repo.byIds(valid) : [];
      const byId = new Map(rows.map((row) => [row.id, row]));
      return ids.map((id) => byId.get(id) ?? null);
    }),

    /** Product.movements(first): one loader per `first`, keyed by product id. */
    movements: loadersByArguments(
      (first: number) =>
        new DataLoader<string, MovementRow[]>(async (productIds) => groupByKey(productIds, await repo.movementsOf(productIds, first), (m) => m.productId)),
      String,
    ),
  };
}
