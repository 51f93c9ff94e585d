import { pageSize } from '../../../common/pagination.ts';
import type { EventsContext } from '../context.ts';

export const User = {
  events: (user: { id: string }, args: { first?: number | null }, ctx: EventsContext) =>
    ctx.loaders.eventsByUserId(pageSize(args.first, 50)).load(user.id),
};
