import type { EventResolvers } from '../generated/resolvers.ts';

export const Event: EventResolvers = {
  __resolveReference: (ref, ctx) => ctx.loaders.eventById.load(ref.id),

  // The users subgraph resolves Event.organizer from this (@requires), null once the user is deleted.
  organizerId: (event) => event.userId,
};
