import { pageSize } from '../../../common/pagination.ts';
import type { InventoryContext } from '../context.ts';
import type { ProductRow } from '../repository.ts';

export const Product = {
  __resolveReference: (ref: { id: string }, ctx: InventoryContext) => ctx.loaders.productById.load(ref.id),

  movements: (product: ProductRow, args: { first?: number | null }, ctx: InventoryContext) =>
    ctx.loaders.movements(pageSize(args.first, 50)).load(product.id),
};
