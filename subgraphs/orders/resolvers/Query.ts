import { actingFor, ifVisible, isAdmin, requireAdminRole, requireViewer } from '../../../common/auth.ts';
import { isUuid } from '../../../common/ids.ts';
import { paginate } from '../../../common/pagination.ts';
import type { QueryResolvers } from '../generated/resolvers.ts';

export const Query: QueryResolvers = {
  // (self): someone else's order is null, as if it did not exist.
  async order(_, args, ctx) {
    requireViewer(ctx);
    return ifVisible(ctx, await ctx.loaders.orderById.load(args.id));
  },

  // (viewer): the viewer's own orders; an admin names any userId, or none for every order.
  async orders(_, args, ctx) {
    const userId = args.userId === undefined || args.userId === null ? (isAdmin(ctx) ? undefined : actingFor(ctx, undefined)) : actingFor(ctx, args.userId);
    // No order belongs to something that is not a user id: an empty page, like a lookup that returns null.
    const none = userId !== undefined && !isUuid(userId);
    const filter = { userId: userId?.toLowerCase(), status: args.status ?? undefined };
    return paginate(args, {
      cursor: ['date', 'uuid'],
      sortKey: (o) => [o.createdAt, o.id],
      fetch: async (limit, after) => (none ? [] : ctx.repo.page(filter, limit, after)),
      count: async () => (none ? 0 : ctx.repo.count(filter)),
    });
  },

  async orderStats(_, _args, ctx) {
    requireAdminRole(ctx);
    const byStatus = await ctx.repo.countByStatus();
    return { total: byStatus.reduce((sum, s) => sum + s.count, 0), byStatus };
  },
};
