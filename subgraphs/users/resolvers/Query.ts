import { decodeCursor, pageSize, toConnection } from '../../../common/pagination.ts';
import type { UsersContext } from '../context.ts';

export const Query = {
  // Sign-in is not wired yet: every caller is anonymous, and the anonymous viewer is null.
  me: () => null,

  user: (_: unknown, args: { id: string }, ctx: UsersContext) => ctx.loaders.userById.load(args.id),

  async users(_: unknown, args: { first?: number | null; after?: string | null }, ctx: UsersContext) {
    const limit = pageSize(args.first, 20);
    const after = decodeCursor(args.after, ['date', 'uuid'] as const);
    const rows = await ctx.repo.page(limit + 1, after);
    return toConnection(rows, limit, (u) => [u.createdAt, u.id], () => ctx.repo.count());
  },
};
