import { decodeCursor, pageSize, toConnection } from '../../../common/pagination.ts';
import type { InventoryContext } from '../context.ts';

export const Query = {
  product: (_: unknown, args: { id: string }, ctx: InventoryContext) => ctx.loaders.productById.load(args.id),

  async products(_: unknown, args: { first?: number | null; after?: string | null }, ctx: InventoryContext) {
    const limit = pageSize(args.first, 20);
    const after = decodeCursor(args.after, ['string'] as const);
    const rows = await ctx.repo.page(limit + 1, after?.[0] ?? null);
    return toConnection(rows, limit, (p) => [p.id], () => ctx.repo.count());
  },
};
