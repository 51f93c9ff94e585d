import { requireAdminRole } from '../../../common/auth.ts';
import { decodeCursor, pageSize, toConnection } from '../../../common/pagination.ts';
import type { QueryResolvers } from '../generated/resolvers.ts';

export const Query: QueryResolvers = {
  // The signed-in viewer's user (null when anonymous, or when no user has the token's id).
  me: (_, _args, ctx) => (ctx.viewer ? ctx.loaders.userById.load(ctx.viewer.id) : null),

  user: (_, args, ctx) => ctx.loaders.userById.load(args.id),

  async users(_, args, ctx) {
    requireAdminRole(ctx);
    const limit = pageSize(args.first, 20);
    const after = decodeCursor(args.after, ['date', 'uuid'] as const);
    const rows = await ctx.repo.page(limit + 1, after);
    return toConnection(
      rows,
      limit,
      (u) => [u.createdAt, u.id],
      () => ctx.repo.count(),
    );
  },
};
