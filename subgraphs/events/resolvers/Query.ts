import { decodeCursor, pageSize, toConnection } from '../../../common/pagination.ts';
import type { QueryResolvers } from '../generated/resolvers.ts';

export const Query: QueryResolvers = {
  event: (_, args, ctx) => ctx.loaders.eventById.load(args.id),

  async events(_, args, ctx) {
    const limit = pageSize(args.first, 20);
    const after = decodeCursor(args.after, ['date', 'uuid'] as const);
    const rows = await ctx.repo.page(limit + 1, after);
    return toConnection(rows, limit, (e) => [e.startsAt, e.id], () => ctx.repo.count());
  },
};
