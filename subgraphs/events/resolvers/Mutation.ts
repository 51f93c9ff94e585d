import { randomUUID } from 'node:crypto';
import { UnauthenticatedError } from '../../../common/errors.ts';
import { validUuid } from '../../../common/ids.ts';
import type { MutationResolvers } from '../generated/resolvers.ts';
import { validDescription, validName } from '../validation.ts';

export const Mutation: MutationResolvers = {
  async addEvent(_, { input }, ctx) {
    const name = validName(input.name, 'input.name');
    // Without userId the event is the viewer's; no caller is signed in yet.
    if (input.userId === null || input.userId === undefined) throw new UnauthenticatedError('sign in, or name input.userId');
    // Events name their organizer by key only, so the id must at least be a UUID.
    const userId = validUuid(input.userId, 'input.userId', 'a user id');
    const startsAt = input.startsAt ?? new Date();
    const description = validDescription(input.description, 'input.description');
    const id = randomUUID();
    // Registered first: while the registry fails, nothing is stored.
    await ctx.registry?.register({ id, name, userId, startsAt });
    return ctx.repo.create({ id, name, userId, startsAt, description });
  },
};
