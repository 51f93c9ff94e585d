import { randomUUID } from 'node:crypto';
import { UnauthenticatedError } from '../../../common/errors.ts';
import type { MutationResolvers } from '../generated/resolvers.ts';
import { validDescription, validName, validUserId } from '../validation.ts';

export const Mutation: MutationResolvers = {
  async addEvent(_, { input }, ctx) {
    const name = validName(input.name, 'input.name');
    // Without userId the event is the viewer's; no caller is signed in yet.
    if (input.userId === null || input.userId === undefined) throw new UnauthenticatedError('sign in, or name input.userId');
    const userId = validUserId(input.userId, 'input.userId');
    const startsAt = input.startsAt ?? new Date();
    const description = validDescription(input.description, 'input.description');
    const id = randomUUID();
    // Registered first: while the registry fails, nothing is stored.
    await ctx.registry?.register({ id, name, userId, startsAt });
    return ctx.repo.create({ id, name, userId, startsAt, description });
  },
};
