import DataLoader from 'dataloader';
import { isSku } from '../../common/ids.ts';
import { groupByKey, loaderById, loadersByArguments } from '../../common/loaders.ts';
import type { InventoryRepository, MovementRow } from './repository.ts';

export type Loaders = ReturnType<typeof createLoaders>;

/** Fresh DataLoaders for one request: every key asked for in one tick costs one statement. */
export function createLoaders(repo: InventoryRepository) {
  return {
    // SKUs are case-sensitive: compared exactly as given.
    productById: loaderById((ids) => repo.byIds(ids), { valid: isSku, normalize: (id) => id }),

    /** Product.movements(first): one loader per `first`, keyed by product id. */
    movements: loadersByArguments(
      (first: number) =>
        new DataLoader<string, MovementRow[]>(async (productIds) => groupByKey(productIds, await repo.movementsOf(productIds, first), (m) => m.productId)),
      String,
    ),
  };
}
