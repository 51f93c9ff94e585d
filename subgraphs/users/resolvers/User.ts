import type { UsersContext } from '../context.ts';
import type { UserRow } from '../repository.ts';

export const User = {
  __resolveReference: (ref: { id: string }, ctx: UsersContext) => ctx.loaders.userById.load(ref.id),

  // Never rejects: failures become STALE or UNAVAILABLE.
  enrichment: (user: UserRow, _args: unknown, ctx: UsersContext) => ctx.loaders.enrichmentByUserId.load(user.id),
};
