import { InvalidInputError } from '../../../common/errors.ts';
import { isUuid } from '../../../common/ids.ts';
import { decodeCursor, pageSize, toConnection } from '../../../common/pagination.ts';
import type { EventsContext } from '../context.ts';
import { validTime } from '../validation.ts';

/** A decoded cursor PostgreSQL can compare against, or BAD_USER_INPUT on `after`. */
function eventCursor(after: string | null | undefined): [Date, string] | null {
  const cursor = decodeCursor(after, ['date', 'string'] as const);
  if (!cursor) return null;
  if (!isUuid(cursor[1])) throw new InvalidInputError('after', 'after is not a cursor from pageInfo.endCursor');
  return [validTime(cursor[0], 'after'), cursor[1]];
}

export const Query = {
  event: (_: unknown, args: { id: string }, ctx: EventsContext) => ctx.loaders.eventById.load(args.id),

  async events(_: unknown, args: { first?: number | null; after?: string | null }, ctx: EventsContext) {
    const limit = pageSize(args.first, 20);
    const after = eventCursor(args.after);
    const rows = await ctx.repo.page(limit + 1, after);
    return toConnection(rows, limit, (e) => [e.startsAt, e.id], () => ctx.repo.count());
  },
};
