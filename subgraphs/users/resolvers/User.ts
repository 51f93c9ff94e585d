import type { UsersContext } from '../context.ts';
import type { UserRow } from '../repository.ts';

export const User = {
  __resolveReference: (ref: { id: string }, ctx: UsersContext) => ctx.loaders.userById.load(ref.id),

  // Filled by the enrichment capability; until then nothing was ever fetched.
  enrichment: (_user: UserRow) => ({ status: 'UNAVAILABLE', company: null, jobTitle: null, location: null, fetchedAt: null }),
};
