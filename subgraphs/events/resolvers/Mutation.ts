import { randomUUID } from 'node:crypto';
import { actingFor } from '../../../common/auth.ts';
import { validUuid } from '../../../common/ids.ts';
import type { MutationResolvers } from '../generated/resolvers.ts';
import { validDescription, validName } from '../validation.ts';

export const Mutation: MutationResolvers = {
  async addEvent(_, { input }, ctx) {
    // (viewer): the event is the viewer's unless an admin names another userId.
    const organizer = actingFor(ctx, input.userId);
    const name = validName(input.name, 'input.name');
    // Events name their organizer by key only, so the id must at least be a UUID.
    const userId = validUuid(organizer, 'input.userId', 'a user id');
    const startsAt = input.startsAt ?? new Date();
    const description = validDescription(input.description, 'input.description');
    const id = randomUUID();
    // Registered first: while the registry fails, nothing is stored.
    await ctx.registry?.register({ id, name, userId, startsAt });
    return ctx.repo.create({ id, name, userId, startsAt, description });
  },
};
