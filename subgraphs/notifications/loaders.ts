import DataLoader from 'dataloader';
import { isUuid } from '../../common/ids.ts';
import type { NotificationRow, NotificationsRepository } from './repository.ts';

export type Loaders = ReturnType<typeof createLoaders>;

/** Fresh DataLoaders for one request: every key asked for in one tick costs one statement. */
export function createLoaders(repo: NotificationsRepository) {
  // One loader per `first`: keys of one batch share the limit of the window.
  const byUserId = new Map<number, DataLoader<string, NotificationRow[]>>();

  return {
    notificationById: new DataLoader<string, NotificationRow | null>(async (ids) => {
      const valid = ids.filter(isUuid);
      const rows = valid.length > 0 ? await repo.byIds(valid) : [];
      const byId = new Map(rows.map((row) => [row.id, row]));
      return ids.map((id) => (isUuid(id) ? (byId.get(id.toLowerCase()) ?? null) : null));
    }),

    /** The loader of each user's newest `first` notifications (first already validated). */
    notificationsByUserId(first: number): DataLoader<string, NotificationRow[]> {
      let loader = byUserId.get(first);
      if (!loader) {
        loader = new DataLoader<string, NotificationRow[]>(async (userIds) => {
          const rows = await repo.newestByUserIds(userIds, first);
          const byUser = new Map<string, NotificationRow[]>();
          for (const row of rows) {
            const list = byUser.get(row.userId!);
            if (list) list.push(row);
            else byUser.set(row.userId!, [row]);
          }
          return userIds.map((id) => byUser.get(id) ?? []);
        });
        byUserId.set(first, loader);
      }
      return loader;
    },
  };
}
