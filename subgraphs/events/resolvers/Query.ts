import { decodeCursor, pageSize, toConnection } from '../../../common/pagination.ts';
import type { EventsContext } from '../context.ts';

export const Query = {
  event: (_: unknown, args: { id: string }, ctx: EventsContext) => ctx.loaders.eventById.load(args.id),

  async events(_: unknown, args: { first?: number | null; after?: string | null }, ctx: EventsContext) {
    const limit = pageSize(args.first, 20);
    const after = decodeCursor(args.after, ['date', 'uuid'] as const);
    const rows = await ctx.repo.page(limit + 1, after);
    return toConnection(rows, limit, (e) => [e.startsAt, e.id], () => ctx.repo.count());
  },
};
