import type { EventsContext } from '../context.ts';
import type { EventRow } from '../repository.ts';

export const Event = {
  __resolveReference: (ref: { id: string }, ctx: EventsContext) => ctx.loaders.eventById.load(ref.id),

  // The users subgraph resolves Event.organizer from this (@requires), null once the user is deleted.
  organizerId: (event: EventRow) => event.userId,
};
