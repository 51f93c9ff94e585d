import { decodeCursor, pageSize, toConnection } from '../../../common/pagination.ts';
import type { QueryResolvers } from '../generated/resolvers.ts';

export const Query: QueryResolvers = {
  notification: (_, args, ctx) => ctx.loaders.notificationById.load(args.id),

  async notifications(_, args, ctx) {
    const limit = pageSize(args.first, 20);
    const after = decodeCursor(args.after, ['date', 'uuid'] as const);
    const status = args.status ?? null;
    const rows = await ctx.repo.page(status, limit + 1, after);
    return toConnection(rows, limit, (n) => [n.createdAt, n.id], () => ctx.repo.count(status));
  },
};
