import { paginate } from '../../../common/pagination.ts';
import type { QueryResolvers } from '../generated/resolvers.ts';

export const Query: QueryResolvers = {
  event: (_, args, ctx) => ctx.loaders.eventById.load(args.id),

  events: (_, args, ctx) =>
    paginate(args, {
      cursor: ['date', 'uuid'],
      sortKey: (e) => [e.startsAt, e.id],
      fetch: (limit, after) => ctx.repo.page(limit, after),
      count: () => ctx.repo.count(),
    }),
};
