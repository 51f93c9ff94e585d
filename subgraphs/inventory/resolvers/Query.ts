import { decodeCursor, pageSize, toConnection } from '../../../common/pagination.ts';
import type { QueryResolvers } from '../generated/resolvers.ts';

export const Query: QueryResolvers = {
  product: (_, args, ctx) => ctx.loaders.productById.load(args.id),

  async products(_, args, ctx) {
    const limit = pageSize(args.first, 20);
    const after = decodeCursor(args.after, ['string'] as const);
    const rows = await ctx.repo.page(limit + 1, after?.[0] ?? null);
    return toConnection(rows, limit, (p) => [p.id], () => ctx.repo.count());
  },
};
