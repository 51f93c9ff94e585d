import { decodeCursor, pageSize, toConnection } from '../../../common/pagination.ts';
import type { NotificationsContext } from '../context.ts';
import type { NotificationStatus } from '../repository.ts';

export const Query = {
  notification: (_: unknown, args: { id: string }, ctx: NotificationsContext) => ctx.loaders.notificationById.load(args.id),

  async notifications(_: unknown, args: { status?: NotificationStatus | null; first?: number | null; after?: string | null }, ctx: NotificationsContext) {
    const limit = pageSize(args.first, 20);
    const after = decodeCursor(args.after, ['date', 'uuid'] as const);
    const status = args.status ?? null;
    const rows = await ctx.repo.page(status, limit + 1, after);
    return toConnection(rows, limit, (n) => [n.createdAt, n.id], () => ctx.repo.count(status));
  },
};
