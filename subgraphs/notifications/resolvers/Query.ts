import { ifVisible, isAdmin, requireViewer } from '../../../common/auth.ts';
import { paginate } from '../../../common/pagination.ts';
import type { QueryResolvers } from '../generated/resolvers.ts';

export const Query: QueryResolvers = {
  // (self, by recipient): someone else's notification is null, as if it did not exist.
  async notification(_, args, ctx) {
    requireViewer(ctx);
    return ifVisible(ctx, await ctx.loaders.notificationById.load(args.id));
  },

  // (viewer): the viewer's own notifications; an admin sees everyone's.
  async notifications(_, args, ctx) {
    const viewer = requireViewer(ctx);
    const recipientId = isAdmin(ctx) ? null : viewer.id;
    const status = args.status ?? null;
    return paginate(args, {
      cursor: ['date', 'uuid'],
      sortKey: (n) => [n.createdAt, n.id],
      fetch: (limit, after) => ctx.repo.page(status, limit, after, recipientId),
      count: () => ctx.repo.count(status, recipientId),
    });
  },
};
