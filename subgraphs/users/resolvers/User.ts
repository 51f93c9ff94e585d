import { requireSelf } from '../../../common/auth.ts';
import type { UsersContext } from '../context.ts';
import type { UserResolvers } from '../generated/resolvers.ts';

/** (self) fields: the viewer's own user, an admin, or the user this very request signed up. */
function requireOwner(ctx: UsersContext, userId: string): void {
  if (!ctx.signedUp.has(userId)) requireSelf(ctx, userId);
}

export const User: UserResolvers = {
  __resolveReference: (ref, ctx) => ctx.loaders.userById.load(ref.id),

  // (self): someone else's email and enrichment are FORBIDDEN.
  email: (user, _args, ctx) => {
    requireOwner(ctx, user.id);
    return user.email;
  },

  // (self); for its owner it never rejects: failures become STALE or UNAVAILABLE.
  enrichment: (user, _args, ctx) => {
    requireOwner(ctx, user.id);
    return ctx.loaders.enrichmentByUserId.load(user.id);
  },
};
