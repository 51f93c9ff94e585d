import { decodeCursor, pageSize, toConnection } from '../../../common/pagination.ts';
import type { QueryResolvers } from '../generated/resolvers.ts';

export const Query: QueryResolvers = {
  // Sign-in is not wired yet: every caller is anonymous, and the anonymous viewer is null.
  me: () => null,

  user: (_, args, ctx) => ctx.loaders.userById.load(args.id),

  async users(_, args, ctx) {
    const limit = pageSize(args.first, 20);
    const after = decodeCursor(args.after, ['date', 'uuid'] as const);
    const rows = await ctx.repo.page(limit + 1, after);
    return toConnection(rows, limit, (u) => [u.createdAt, u.id], () => ctx.repo.count());
  },
};
