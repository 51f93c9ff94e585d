import { pageSize } from '../../../common/pagination.ts';
import type { NotificationsContext } from '../context.ts';

export const User = {
  notifications: (user: { id: string }, args: { first?: number | null }, ctx: NotificationsContext) =>
    ctx.loaders.notificationsByUserId(pageSize(args.first, 50)).load(user.id),
};
