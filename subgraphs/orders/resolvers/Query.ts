import { isUuid } from '../../../common/ids.ts';
import { decodeCursor, pageSize, toConnection } from '../../../common/pagination.ts';
import type { QueryResolvers } from '../generated/resolvers.ts';

export const Query: QueryResolvers = {
  order: (_, args, ctx) => ctx.loaders.orderById.load(args.id),

  async orders(_, args, ctx) {
    const limit = pageSize(args.first, 20);
    const after = decodeCursor(args.after, ['date', 'uuid'] as const);
    // No order belongs to something that is not a user id: an empty page, like a lookup that returns null.
    if (args.userId !== undefined && args.userId !== null && !isUuid(args.userId)) {
      return toConnection([], limit, () => [], async () => 0);
    }
    const filter = { userId: args.userId?.toLowerCase() ?? undefined, status: args.status ?? undefined };
    const rows = await ctx.repo.page(filter, limit + 1, after);
    return toConnection(rows, limit, (o) => [o.createdAt, o.id], () => ctx.repo.count(filter));
  },

  async orderStats(_, _args, ctx) {
    const byStatus = await ctx.repo.countByStatus();
    return { total: byStatus.reduce((sum, s) => sum + s.count, 0), byStatus };
  },
};
