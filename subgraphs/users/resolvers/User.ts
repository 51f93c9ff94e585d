import type { UserResolvers } from '../generated/resolvers.ts';

export const User: UserResolvers = {
  __resolveReference: (ref, ctx) => ctx.loaders.userById.load(ref.id),

  // Never rejects: failures become STALE or UNAVAILABLE.
  enrichment: (user, _args, ctx) => ctx.loaders.enrichmentByUserId.load(user.id),
};
