import { paginate } from '../../../common/pagination.ts';
import type { QueryResolvers } from '../generated/resolvers.ts';

export const Query: QueryResolvers = {
  product: (_, args, ctx) => ctx.loaders.productById.load(args.id),

  products: (_, args, ctx) =>
    paginate(args, {
      cursor: ['string'],
      sortKey: (p) => [p.id],
      fetch: (limit, after) => ctx.repo.page(limit, after?.[0] ?? null),
      count: () => ctx.repo.count(),
    }),
};
