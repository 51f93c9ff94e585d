import type { EventsContext } from '../context.ts';
import type { EventRow } from '../repository.ts';

export const Event = {
  __resolveReference: (ref: { id: string }, ctx: EventsContext) => ctx.loaders.eventById.load(ref.id),

  // A reference only: the users subgraph resolves it (null once the user is deleted).
  organizer: (event: EventRow) => ({ __typename: 'User', id: event.userId }),
};
